"""The `llmkit` command that `pip install .` puts on PATH: runs the C++ command line shipped
inside the package (llmkit/_bin/llmkit) with the same arguments, environment and exit code."""

import os
import pathlib
import sys


def main() -> None:
    binary = pathlib.Path(__file__).resolve().parent / "_bin" / "llmkit"
    if not binary.is_file():
        sys.exit(f"llmkit: the command-line binary is missing from this install ({binary})")
    os.execv(str(binary), [str(binary), *sys.argv[1:]])
