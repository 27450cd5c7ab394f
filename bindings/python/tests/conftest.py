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

PEERS = pathlib.Path(os.environ.get("LLMKIT_PEERS_DIR", SOURCE_DIR / ".cache" / "peers"))
RANKS_DIR = pathlib.Path(os.environ.get("LLMKIT_TEST_RANKS_DIR", SOURCE_DIR / ".cache" / "tiktoken"))


def missing_peer(message):
    """Skips, or fails when LLMKIT_REQUIRE_PEERS=1 (as `make test` sets)."""
    if os.environ.get("LLMKIT_REQUIRE_PEERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ranks_dir():
    """The .tiktoken rank files scripts/install-test-peers.sh expands from npm `tiktoken`."""
    if not (RANKS_DIR / "o200k_base.tiktoken").is_file():
        missing_peer(f"no rank files in {RANKS_DIR}: run scripts/install-test-peers.sh")
    return RANKS_DIR


@pytest.fixture
def provider():
    """Starts scripted OpenAI/Anthropic servers (fake_provider.Provider); closes them after."""
    from fake_provider import Provider
    servers = []

    def start(script):
        servers.append(Provider(script))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
