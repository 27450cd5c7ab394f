#!/usr/bin/env bash
# The main job of `make demo`: index the Python documentation with the llmkit command line and
# answer three questions about Python with citations (file and line range), timing each stage.
# It uses a chat model when one is configured (LLMKIT_BASE_URL / OPENAI_API_KEY /
# ANTHROPIC_API_KEY, see docs/cli.md) and otherwise prints the retrieved passages and the prompt.
set -euo pipefail

LLMKIT=${LLMKIT:-build/release/cli/llmkit}
DOCS=${1:-/usr/share/doc/python3.11/html/_sources}
INDEX=${INDEX:-build/demo-index}

if [ ! -d "$DOCS" ]; then
  echo "demo: $DOCS is missing (the python3.11-doc package; make deps installs it)" >&2
  exit 1
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

rm -rf "$INDEX"
echo "== index $DOCS"
start=$(now)
"$LLMKIT" index "$DOCS" -o "$INDEX"
echo "-- index: $(elapsed "$start") s"

echo
echo "== index again (nothing changed: every file is skipped)"
start=$(now)
"$LLMKIT" index "$DOCS" -o "$INDEX" --quiet
echo "-- re-index: $(elapsed "$start") s"

questions=(
  "How do I read a file line by line?"
  "How do I sort a list of dictionaries by a key?"
  "What does the with statement do?"
)
for question in "${questions[@]}"; do
  echo
  echo "== ask: $question"
  start=$(now)
  "$LLMKIT" ask "$INDEX" "$question" -k 3
  echo "-- ask: $(elapsed "$start") s"
done
