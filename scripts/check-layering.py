#!/usr/bin/env python3
"""Fails when a file includes another part's private header, outside the layering below.

Parts are the directories of src/. A part may include its own headers, the public ones
(include/llmkit/), and the private headers of the lower layers it is listed with here, nothing
else: no part reaches into a peer's or a higher part's internals (collection_impl.h, rag_impl.h,
...). The command line (cli/) and the Python bindings (bindings/python/) use public headers only,
as any program using the library would. Tests and benchmarks may look inside (white-box).

Usage: scripts/check-layering.py   (run by `make lint`, part of `make test`)
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Each part and the lower parts whose private headers it may include. Keep it a DAG: a part
# lists only parts below it.
LAYERS = {
    "common": set(),
    "unicode": {"common"},
    "status": {"common"},
    "call": {"common"},
    "json": {"common", "unicode"},
    "chunker": {"common", "unicode"},
    "tokenizer": {"common", "unicode"},
    "http": {"common"},
    "chat": {"common", "http"},
    "embeddings": {"common", "unicode", "http", "chat"},
    "resilience": {"common"},
    "template": {"common", "unicode", "json", "call"},
    "prompt_registry": {"common"},
    "index": {"common"},
    "bm25": {"common", "unicode"},
    "retriever": {"common"},
    "rag": {"common", "unicode"},
    "schema": {"common", "unicode", "json"},
    "structured": {"common"},
    "guard": {"common"},
    "pgvector": {"common", "index"},
    "chroma": {"common", "index"},
    "observe": {"common"},
    "cost": {"common"},
    "cache": {"common", "json"},
    "agent": {"common", "http"},
    "eval": {"common", "unicode", "json", "schema"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check(path, allowed, own_dir):
    problems = []
    for target in INCLUDE.findall(path.read_text(errors="replace")):
        first = target.split("/")[0]
        if "/" not in target:
            continue  # A header beside the file (cli/, bindings/python/).
        if first == "llmkit" or first in {"absl", "gtest", "gmock", "benchmark", "pybind11",
                                          "simdjson", "faiss", "re2", "curl", "yaml-cpp"}:
            continue
        if first == own_dir or first in allowed:
            continue
        problems.append(f"{path.relative_to(ROOT)}: includes \"{target}\", a private header of "
                        f"part '{first}'")
    return problems


def main():
    problems = []
    parts = {p.name for p in (ROOT / "src").iterdir() if p.is_dir()}
    for part in sorted(parts - set(LAYERS)):
        problems.append(f"src/{part}: a part missing from scripts/check-layering.py's LAYERS")
    for part, lower in LAYERS.items():
        for name in lower:
            if name not in LAYERS or part in LAYERS[name]:
                problems.append(f"LAYERS: {part} -> {name} is not a lower layer")
        for path in sorted((ROOT / "src" / part).glob("*")):
            if path.suffix in {".cc", ".h", ".inc"}:
                problems += check(path, lower, part)
    for directory in ("cli", "bindings/python"):
        for path in sorted((ROOT / directory).glob("*")):
            if path.suffix in {".cc", ".h"}:
                problems += check(path, set(), None)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-layering: {len(problems)} problem(s); make the needed thing public or move "
              "it down a layer", file=sys.stderr)
        return 1
    print("check-layering: no private header crosses a part")
    return 0


if __name__ == "__main__":
    sys.exit(main())
