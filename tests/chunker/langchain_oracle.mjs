// Runs LangChain.js RecursiveCharacterTextSplitter, the reference, for the parity tests and
// the side-by-side comparison.
//   node langchain_oracle.mjs JOB.json OUT.json
// JOB: [{"text" | "text_file", "chunkSize", "chunkOverlap", "language"?, "separators"?,
//        "tiktoken"?: encoding name: lengths in tokens (npm tiktoken encode_ordinary)}, ...]
// OUT: [{"chunks": [...], "seconds": best of "repeats" (default 1) runs}, ...]
// LLMKIT_PEERS_DIR names the folder where scripts/install-test-peers.sh installed the package.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.LLMKIT_PEERS_DIR + "/package.json");
const { RecursiveCharacterTextSplitter } = require("@langchain/textsplitters");

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const item of job) {
  const text = item.text_file !== undefined ? readFileSync(item.text_file, "utf8") : item.text;
  const options = { chunkSize: item.chunkSize, chunkOverlap: item.chunkOverlap };
  if (item.separators) options.separators = item.separators;
  if (item.tiktoken) {
    const enc = require("tiktoken").get_encoding(item.tiktoken);
    options.lengthFunction = (t) => enc.encode_ordinary(t).length;
  }
  const splitter = item.language
    ? RecursiveCharacterTextSplitter.fromLanguage(item.language, options)
    : new RecursiveCharacterTextSplitter(options);
  let best = Infinity;
  let chunks;
  for (let i = 0; i < (item.repeats ?? 1); i++) {
    const started = process.hrtime.bigint();
    chunks = await splitter.splitText(text);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  results.push({ chunks: item.counts_only ? chunks.length : chunks, seconds: best });
}
writeFileSync(process.argv[3], JSON.stringify(results));
