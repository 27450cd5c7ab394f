"""Shared fixtures: where the sources, peers and the real document set are."""

import os
import pathlib

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("LLMKIT_SOURCE_DIR", pathlib.Path(__file__).parents[3]))
DOCS_SOURCES = pathlib.Path("/usr/share/doc/python3.11/html/_sources")


@pytest.fixture(scope="session")
def docs_corpus():
    """The Python documentation corpus of PEERS.md (497 files concatenated in byte order)."""
    if not DOCS_SOURCES.is_dir():
        pytest.skip(f"{DOCS_SOURCES} is absent: run scripts/install-deps.sh (python3.11-doc)")
    files = sorted(DOCS_SOURCES.rglob("*.txt"), key=lambda p: str(p).encode())
    return b"".join(p.read_bytes() for p in files).decode("utf-8")
