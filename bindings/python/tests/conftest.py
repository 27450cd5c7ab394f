"""Shared fixtures: where the sources, peers and the real document set are."""

import os
import pathlib
import socket
import subprocess
import time

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


def _serve(argv, port, env=None):
    """Starts a server (quiet) and waits up to 30 s for it to listen on 127.0.0.1:port."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=None if env is None else dict(os.environ, **env))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"{argv[0]} did not listen on port {port} within 30 s")


REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture
def redis_url():
    """A real redis-server on a free port of 127.0.0.1 (Debian's, as `make deps` installs it),
    stopped after the test."""
    if not os.path.exists(REDIS_SERVER):
        missing_peer("Debian's redis-server is not installed (make deps installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _serve([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no"], port)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


PGLITE_SERVER = PEERS / "node_modules" / "@electric-sql" / "pglite-socket" / "dist" / "scripts" / "server.js"


@pytest.fixture(scope="module")
def pglite_dsn():
    """A PostgreSQL URL of a real pglite-server with pgvector 0.8 on 127.0.0.1 (one connection at
    a time), for the module; skips when the npm package is not installed."""
    if not PGLITE_SERVER.exists():
        missing_peer(f"pglite-server is not installed in {PEERS} (scripts/install-test-peers.sh)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _serve(["node", str(PGLITE_SERVER), "--host=127.0.0.1", f"--port={port}",
                   "-e", "@electric-sql/pglite-pgvector:vector"], port)
    yield f"postgresql://postgres:py-secret@127.0.0.1:{port}/postgres?sslmode=disable"
    proc.terminate()
    proc.wait()


CHROMA = PEERS / "node_modules" / ".bin" / "chroma"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """The URL of a real Chroma 1.x server (npm chromadb's `chroma run`) on 127.0.0.1 with a fresh
    data directory, for the module; skips when the npm package is not installed."""
    if not CHROMA.exists():
        missing_peer(f"chroma is not installed in {PEERS} (scripts/install-test-peers.sh)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("chroma")
    proc = _serve([str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port",
                   str(port)], port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait()


MCP_EVERYTHING = PEERS / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


@pytest.fixture
def mcp_everything():
    """The command of the MCP reference server (npm @modelcontextprotocol/server-everything)
    over stdio; skips when it is not installed."""
    if not MCP_EVERYTHING.exists():
        missing_peer(f"server-everything is not installed in {PEERS} (scripts/install-test-peers.sh)")
    return ["node", str(MCP_EVERYTHING), "stdio"]


@pytest.fixture
def mcp_everything_url():
    """The URL of the same server over streamable HTTP on a free port of 127.0.0.1."""
    if not MCP_EVERYTHING.exists():
        missing_peer(f"server-everything is not installed in {PEERS} (scripts/install-test-peers.sh)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _serve(["node", str(MCP_EVERYTHING), "streamableHttp"], port, env={"PORT": str(port)})
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)
