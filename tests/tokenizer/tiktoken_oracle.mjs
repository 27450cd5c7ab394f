// Runs the JavaScript tokenizers for the differential tests and the side-by-side comparison.
//   node tiktoken_oracle.mjs JOB.json
// JOB: {"library": "tiktoken" | "gpt-tokenizer" | "js-tiktoken", "encoding": "cl100k_base",
//       "texts": [...] or "text_files": [...], "allowed_special": "all" | [...] (optional:
//       encode instead of encode_ordinary), "output": "ids.bin" (optional), "repeats": 1}
// Prints {"seconds": best of `repeats` runs over all texts, "tokens": total, "bytes": total}.
// `output` receives, per text, a little-endian uint32 count followed by the uint32 ids.
// LLMKIT_PEERS_DIR names the folder where scripts/install-test-peers.sh installed the packages.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.LLMKIT_PEERS_DIR + "/package.json");
const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const texts = job.texts ?? job.text_files.map((f) => readFileSync(f, "utf8"));

let encode;
if (job.library === "tiktoken") {
  const { get_encoding } = require("tiktoken");
  const enc = get_encoding(job.encoding);
  if (job.allowed_special !== undefined) {
    encode = (text) => enc.encode(text, job.allowed_special);
  } else {
    encode = (text) => enc.encode_ordinary(text);
  }
} else if (job.library === "gpt-tokenizer") {
  const { encode: gptEncode } = require(`gpt-tokenizer/cjs/encoding/${job.encoding}`);
  encode = (text) => gptEncode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() });
} else if (job.library === "js-tiktoken") {
  const { getEncoding } = require("js-tiktoken");
  const enc = getEncoding(job.encoding);
  encode = (text) => enc.encode(text, [], []);
} else {
  throw new Error(`unknown library ${job.library}`);
}

let best = Infinity;
let results;
for (let r = 0; r < (job.repeats ?? 1); r++) {
  const started = process.hrtime.bigint();
  results = texts.map(encode);
  best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
}
let tokens = 0;
for (const ids of results) tokens += ids.length;
if (job.output) {
  const out = new Uint32Array(texts.length + tokens);
  let at = 0;
  for (const ids of results) {
    out[at++] = ids.length;
    out.set(ids, at);
    at += ids.length;
  }
  writeFileSync(job.output, Buffer.from(out.buffer));
}
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
console.log(JSON.stringify({ seconds: best, tokens, bytes }));
