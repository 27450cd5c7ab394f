#!/usr/bin/env bash
# Writes the Python documentation corpus (PEERS.md) to $1 (default build/corpus.txt): the 497
# reST sources of python3.11-doc concatenated in byte order of their paths, 11,048,275 bytes.
set -euo pipefail
out=${1:-build/corpus.txt}
src=/usr/share/doc/python3.11/html/_sources
[ -d "$src" ] || { echo "fetch-corpus: $src missing; run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
find "$src" -name '*.txt' -print0 | LC_ALL=C sort -z | xargs -0 cat > "$out.tmp"
mv "$out.tmp" "$out"
echo "fetch-corpus: $(wc -c < "$out") bytes in $out"
