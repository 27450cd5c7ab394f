"""Docs are code: every ```cpp block in docs/ is quoted verbatim from an example that ctest
builds and runs, and every ```python block in docs/ and README.md runs."""

import re

import pytest

from conftest import SOURCE_DIR
from fake_provider import Provider, both_script, fake_environment

DOCS = sorted((SOURCE_DIR / "docs").glob("*.md")) + [SOURCE_DIR / "README.md"]
EXAMPLES = "\n".join(p.read_text() for p in sorted((SOURCE_DIR / "examples").glob("*.cc")))


def blocks(language):
    for doc in DOCS:
        for index, match in enumerate(re.finditer(rf"```{language}\n(.*?)```", doc.read_text(), re.S)):
            yield pytest.param(match.group(1), id=f"{doc.name}#{index}")


@pytest.mark.parametrize("code", list(blocks("cpp")))
def test_cpp_blocks_come_from_examples(code):
    assert code in EXAMPLES, "a ```cpp block in the docs is not quoted verbatim from examples/"


@pytest.mark.parametrize("code", list(blocks("python")))
def test_python_blocks_run(code, request, monkeypatch):
    if "encoding" in code:  # Tokenizer examples read rank files from $LLMKIT_CACHE_DIR.
        monkeypatch.setenv("LLMKIT_CACHE_DIR", str(request.getfixturevalue("ranks_dir")))
    if "PgVectorStore(" in code:  # Store examples read DATABASE_URL: a real pglite-server.
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("pglite_dsn"))
    if "ChromaStore(" in code:  # ... and CHROMA_URL: a real Chroma server.
        monkeypatch.setenv("CHROMA_URL", request.getfixturevalue("chroma_url"))
    if "McpServer" in code:  # MCP examples start the reference server from npm.
        monkeypatch.setenv("MCP_SERVER_COMMAND", " ".join(request.getfixturevalue("mcp_everything")))
    server = None
    if "load_eval_suite" in code:  # Eval examples read the repository's example suite.
        monkeypatch.chdir(SOURCE_DIR)
    if "Client(" in code or "load_eval_suite" in code:  # Client examples talk to a fake provider,
        # set as the SDKs read it.
        server = Provider(both_script)
        for name, value in fake_environment(server.url).items():
            monkeypatch.setenv(name, value)
    try:
        exec(compile(code, "<doc>", "exec"), {})
    finally:
        if server is not None:
            server.close()


def test_every_doc_has_examples():
    assert list(blocks("cpp")) and list(blocks("python"))
