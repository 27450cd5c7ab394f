#!/usr/bin/env python3
"""Expands the npm `tiktoken` package's encoders/*.json into standard `.tiktoken` rank files.

Usage: expand-tiktoken-encoders.py NODE_MODULES_TIKTOKEN_DIR OUT_DIR

Each encoders/<name>.json holds `bpe_ranks`: groups of `! <startRank>` followed by base64 tokens
with consecutive ranks. Expanded to "<base64> <rank>\n" lines, the result is byte-identical to the
file OpenAI publishes (the sha256 is checked by the library when it loads the file by name).
Test data only; the library never reads npm packages.
"""
import json
import os
import sys
import tempfile

NAMES = ("r50k_base", "p50k_base", "cl100k_base", "o200k_base")


def expand(bpe_ranks: str) -> bytes:
    lines = []
    rank = None
    for word in bpe_ranks.split():
        if word == "!":
            rank = None
        elif rank is None:
            rank = int(word)
        else:
            lines.append(f"{word} {rank}\n")
            rank += 1
    return "".join(lines).encode("ascii")


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in NAMES:
        with open(os.path.join(src, "encoders", f"{name}.json"), encoding="utf-8") as f:
            data = expand(json.load(f)["bpe_ranks"])
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out, f"{name}.tiktoken"))
        print(f"expand-tiktoken-encoders: {name}.tiktoken {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
