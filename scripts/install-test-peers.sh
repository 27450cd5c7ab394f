#!/usr/bin/env bash
# Installs the reference implementations the differential tests and comparisons run, from the
# npm registry, into ${LLMKIT_PEERS_DIR:-.cache/peers}, and expands npm tiktoken's encoders into
# .tiktoken rank files in ${LLMKIT_TEST_RANKS_DIR:-.cache/tiktoken}. Idempotent. The library
# never uses npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${LLMKIT_PEERS_DIR:-$root/.cache/peers}
ranks=${LLMKIT_TEST_RANKS_DIR:-$root/.cache/tiktoken}
packages=(
  "@langchain/textsplitters@1.0.2" "@langchain/core@1.4.0"
  "tiktoken@1.0.22" "js-tiktoken@1.0.21" "gpt-tokenizer@4.0.0"
  "openai@7.57.0" "@anthropic-ai/sdk@1.12.0" "ajv@8.20.0"
  # A PostgreSQL wire-protocol server with pgvector 0.8 for the pgvector store's tests.
  "@electric-sql/pglite-socket@0.2.17" "@electric-sql/pglite@0.5.14"
  "@electric-sql/pglite-pgvector@0.0.15"
  # A Chroma 1.x server for the Chroma store's tests (bindings 1.0.5: newer ones need glibc 2.39).
  "chromadb@3.0.6" "chromadb-js-bindings-linux-x64-gnu@1.0.5"
  # OpenTelemetry: the GenAI semantic conventions (the names the tracer may emit) and the OTLP
  # protobuf root the test receiver decodes llmkit's OTLP/JSON with.
  "@opentelemetry/semantic-conventions@1.45.0" "@opentelemetry/otlp-transformer@0.52.1"
  # Prices: genai-prices' calcPrice is the cost differential test's oracle; llm-cost carries an
  # older copy of LiteLLM's price table, loaded as a user's file whose prices disagree.
  "@pydantic/genai-prices@0.1.8" "llm-cost@1.0.5"
  # Agents: the MCP reference servers the MCP client is tested against (stdio and streamable
  # HTTP), the reference SDK they run on, and the OpenAI Agents SDK the agent loop is compared to.
  "@modelcontextprotocol/server-everything@2026.8.31"
  "@modelcontextprotocol/server-filesystem@2026.8.31" "@modelcontextprotocol/sdk@1.32.2"
  "@openai/agents@0.20.0"
  # Evaluation: autoevals' deterministic scorers are the oracle of the scorers' differential test.
  "autoevals@0.3.0"
  # The HTML report's test drives Debian's chromium (install-deps.sh) through puppeteer-core.
  "puppeteer-core@24.10.0"
)
mkdir -p "$dir"
version() {
  node -e "try{console.log(require('$dir/node_modules/$1/package.json').version)}catch(e){}" \
    2>/dev/null || true
}
missing=()
for spec in "${packages[@]}"; do
  name=${spec%@*}
  [ "$(version "$name")" = "${spec##*@}" ] || missing+=("$spec")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-peers: ${#packages[@]} npm packages present in $dir"
else
  (cd "$dir" && { [ -f package.json ] || echo '{"name": "llmkit-test-peers", "private": true}' > package.json; } &&
    npm install --no-audit --no-fund --loglevel=error "${missing[@]}")
  echo "install-test-peers: installed ${missing[*]} into $dir"
fi
if [ ! -f "$ranks/o200k_base.tiktoken" ]; then
  /usr/bin/python3 "$root/scripts/expand-tiktoken-encoders.py" "$dir/node_modules/tiktoken" "$ranks"
fi
