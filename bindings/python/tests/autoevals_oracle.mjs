// The oracle of test_autoevals_differential.py: npm autoevals 0.3's deterministic scorers
// (Levenshtein, ExactMatch, JSONDiff) on each {output, expected} pair of the JSON file argv[2],
// printed as a JSON list of {levenshtein, exact, json_diff}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.LLMKIT_PEERS_DIR + "/node_modules/");
const { Levenshtein, ExactMatch, JSONDiff } = require("autoevals");

const pairs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const { output, expected } of pairs) {
  const row = {};
  if (typeof output === "string" && typeof expected === "string") {
    row.levenshtein = (await Levenshtein({ output, expected })).score;
  }
  row.exact = (await ExactMatch({ output, expected })).score;
  row.json_diff = (await JSONDiff({ output, expected })).score;
  out.push(row);
}
console.log(JSON.stringify(out));
