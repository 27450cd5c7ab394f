// Runs LangChain.js RecursiveCharacterTextSplitter (the reference) for the parity test.
// Usage: node langchain_oracle.mjs JOB.json OUT.json
// JOB: {"text_file": path, "configs": [{"chunkSize", "chunkOverlap", "language"?}]}
// OUT: [[chunk text, ...] per config]
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.LLMKIT_PEERS_DIR + "/package.json");
const { RecursiveCharacterTextSplitter } = require("@langchain/textsplitters");

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const text = readFileSync(job.text_file, "utf8");
const results = [];
for (const config of job.configs) {
  const options = { chunkSize: config.chunkSize, chunkOverlap: config.chunkOverlap };
  const splitter = config.language
    ? RecursiveCharacterTextSplitter.fromLanguage(config.language, options)
    : new RecursiveCharacterTextSplitter(options);
  const started = process.hrtime.bigint();
  const chunks = await splitter.splitText(text);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  results.push({ chunks, seconds });
}
writeFileSync(process.argv[3], JSON.stringify(results));
