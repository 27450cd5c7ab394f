"""Differential test: llmkit's RecursiveCharacterSplitter against LangChain.js 1.0.2.

LangChain.js is the oracle. Lengths are counted in UTF-16 units, as JavaScript counts them.
Needs node and the npm package (scripts/install-test-peers.sh); skips without them unless
LLMKIT_REQUIRE_PEERS=1 (as `make test` sets), where a missing peer is a failure.
"""

import json
import os
import pathlib
import random
import shutil
import subprocess
import tempfile

import llmkit
import pytest

from conftest import SOURCE_DIR

ORACLE = SOURCE_DIR / "tests" / "chunker" / "langchain_oracle.mjs"
PEERS = pathlib.Path(os.environ.get("LLMKIT_PEERS_DIR", SOURCE_DIR / ".cache" / "peers"))


def run_langchain(job):
    if shutil.which("node") is None or not (PEERS / "node_modules/@langchain/textsplitters").is_dir():
        message = f"node or @langchain/textsplitters under {PEERS} missing: run scripts/install-test-peers.sh"
        if os.environ.get("LLMKIT_REQUIRE_PEERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = pathlib.Path(tmp, "job.json"), pathlib.Path(tmp, "out.json")
        job_path.write_text(json.dumps(job))
        subprocess.run(["node", str(ORACLE), str(job_path), str(out_path)], check=True,
                       env=dict(os.environ, LLMKIT_PEERS_DIR=str(PEERS)), timeout=600)
        return json.loads(out_path.read_text())


def ours(item, text, **extra):
    options = dict(chunk_size=item["chunkSize"], chunk_overlap=item["chunkOverlap"],
                   length_unit="utf16", **extra)
    if "language" in item:
        return llmkit.RecursiveCharacterSplitter.from_language(item["language"], **options)
    if "separators" in item:
        options["separators"] = item["separators"]
    return llmkit.RecursiveCharacterSplitter(**options)


CORPUS_CONFIGS = [
    {"chunkSize": 1000, "chunkOverlap": 200},
    {"chunkSize": 512, "chunkOverlap": 50},
    {"chunkSize": 200, "chunkOverlap": 0},
    {"chunkSize": 1000, "chunkOverlap": 200, "language": "markdown"},
    {"chunkSize": 1000, "chunkOverlap": 200, "language": "python"},
    {"chunkSize": 1000, "chunkOverlap": 200, "language": "html"},
]


def test_identical_chunks_on_the_python_docs_corpus(docs_corpus, tmp_path):
    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text(docs_corpus, encoding="utf-8")
    assert corpus_file.stat().st_size == 11048275
    reference = run_langchain([dict(c, text_file=str(corpus_file)) for c in CORPUS_CONFIGS])
    for config, expected in zip(CORPUS_CONFIGS, reference):
        got = ours(config, docs_corpus).split(docs_corpus)
        assert [c.text for c in got] == expected["chunks"], config
        print(config, len(got), "chunks identical")
        # Offsets LangChain cannot give: every chunk is exactly where it says.
        for c in got:
            assert docs_corpus[c.start : c.end] == c.text


def test_identical_chunks_on_generated_stress_text():
    rng = random.Random(11)
    alphabet = ["a", "word", "The", "\n", "\n\n", "\n\n\n", " ", "  ", "\t", ".", "# ", "## ",
                "```\n\n", "é", "€", "\u3000", "\xa0", "class ", "\ndef ", "<p>", "<div>", "x",
                "\n---\n\n", "\\section{", "$"]
    languages = [None, None, "python", "markdown", "html", "latex", "js", "rst"]
    job = []
    for _ in range(400):
        size = rng.randrange(1, 80)
        item = {"text": "".join(rng.choice(alphabet) for _ in range(rng.randrange(300))),
                "chunkSize": size, "chunkOverlap": rng.randrange(size)}
        language = rng.choice(languages)
        if language:
            item["language"] = language
        elif rng.random() < 0.3:
            item["separators"] = rng.sample([".", "\n", " ", "a", "\n\n", ""], 3) + [""]
        job.append(item)
    reference = run_langchain(job)
    for item, expected in zip(job, reference):
        assert ours(item, item["text"]).split_text(item["text"]) == expected["chunks"], item
