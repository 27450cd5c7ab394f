#!/usr/bin/env bash
# Installs the reference implementations the differential tests and comparisons run, from the
# npm registry, into ${LLMKIT_PEERS_DIR:-.cache/peers}. Idempotent. The library never uses npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${LLMKIT_PEERS_DIR:-$root/.cache/peers}
want_splitters=1.0.2
mkdir -p "$dir"
current=$(node -e "try{console.log(require('$dir/node_modules/@langchain/textsplitters/package.json').version)}catch(e){}" 2>/dev/null || true)
if [ "$current" = "$want_splitters" ]; then
  echo "install-test-peers: @langchain/textsplitters $current present in $dir"
  exit 0
fi
cd "$dir"
[ -f package.json ] || echo '{"name": "llmkit-test-peers", "private": true}' > package.json
npm install --no-audit --no-fund --loglevel=error \
  "@langchain/textsplitters@$want_splitters" "@langchain/core@1.4.0"
echo "install-test-peers: installed into $dir"
