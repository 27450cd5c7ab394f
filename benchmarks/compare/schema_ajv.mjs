// The ajv side of benchmarks/compare/schemas: ajv 8 (ajv/dist/2020, compiled, default options)
// on the same cases; prints the same JSON fields as schema_validate.
//   node schema_ajv.mjs PEERS_DIR CASES.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [peers, casesFile] = process.argv.slice(2);
const require = createRequire(path.join(peers, "package.json"));
const Ajv2020 = require("ajv/dist/2020").default;
const { cases } = JSON.parse(readFileSync(casesFile, "utf8"));

function perSecond(fn) {
  let best = 0;
  for (let batch = 0; batch < 5; batch++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let i = 0; i < 64; i++) fn();
      n += 64;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < 0.2);
    best = Math.max(best, n / elapsed);
  }
  return best;
}

const results = {};
let sink = false;
for (const c of cases) {
  let bestCompile = Infinity;
  for (let i = 0; i < 20; i++) {
    const ajv = new Ajv2020({ strict: false });
    const start = process.hrtime.bigint();
    ajv.compile(c.schema);
    bestCompile = Math.min(bestCompile, Number(process.hrtime.bigint() - start) / 1e3);
  }
  const validate = new Ajv2020({ strict: false }).compile(c.schema);
  const validText = JSON.stringify(c.valid);
  const invalidText = JSON.stringify(c.invalid);
  results[c.name] = {
    compile_us: bestCompile,
    valid_ok: validate(c.valid),
    invalid_ok: !validate(c.invalid),
    valid_per_s: perSecond(() => { sink ^= validate(c.valid); }),
    invalid_per_s: perSecond(() => { sink ^= validate(c.invalid); }),
    valid_parse_per_s: perSecond(() => { sink ^= validate(JSON.parse(validText)); }),
    invalid_parse_per_s: perSecond(() => { sink ^= validate(JSON.parse(invalidText)); }),
  };
}
console.log(JSON.stringify(results));
