"""Token-sized chunking: RecursiveCharacterSplitter sized in tokens against LangChain.js with a
tiktoken length function (the oracle), TokenSplitter against LangChain's TokenTextSplitter
algorithm, and SentenceSplitter's promises (never over chunk_size, exact offsets, nothing lost).
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

from conftest import DOCS_SOURCES, PEERS, SOURCE_DIR, missing_peer

ORACLE = SOURCE_DIR / "tests" / "chunker" / "langchain_oracle.mjs"


@pytest.fixture(scope="module")
def cl100k(ranks_dir):
    return llmkit.get_encoding("cl100k_base", cache_dir=str(ranks_dir))


@pytest.fixture(scope="module")
def docs_sample():
    if not DOCS_SOURCES.is_dir():
        pytest.skip(f"{DOCS_SOURCES} is absent: run scripts/install-deps.sh (python3.11-doc)")
    files = sorted(DOCS_SOURCES.rglob("*.txt"), key=lambda p: str(p).encode())[::25]
    return [p.read_text(encoding="utf-8") for p in files]


def test_recursive_in_tokens_matches_langchain_js(cl100k, docs_sample):
    if shutil.which("node") is None or not (PEERS / "node_modules/tiktoken").is_dir():
        missing_peer(f"node or tiktoken under {PEERS} missing: run scripts/install-test-peers.sh")
    configs = [(512, 50), (200, 20), (1000, 0)]
    job = [{"text": text, "chunkSize": size, "chunkOverlap": overlap, "tiktoken": "cl100k_base"}
           for size, overlap in configs for text in docs_sample]
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = pathlib.Path(tmp, "job.json"), pathlib.Path(tmp, "out.json")
        job_path.write_text(json.dumps(job))
        subprocess.run(["node", str(ORACLE), str(job_path), str(out_path)], check=True,
                       env=dict(os.environ, LLMKIT_PEERS_DIR=str(PEERS)), timeout=900)
        expected = json.loads(out_path.read_text())
    total = 0
    for item, reference in zip(job, expected):
        splitter = llmkit.RecursiveCharacterSplitter(
            chunk_size=item["chunkSize"], chunk_overlap=item["chunkOverlap"], length="tokens",
            encoding=cl100k)
        assert splitter.split_text(item["text"]) == reference["chunks"]
        total += len(reference["chunks"])
    assert total > 500


def langchain_token_windows(enc, text, size, overlap):
    """LangChain's split_text_on_tokens, transcribed: windows of ids, decoded lossily."""
    ids = enc.encode_ordinary(text)
    out, start = [], 0
    while start < len(ids):
        end = min(start + size, len(ids))
        decoded = enc.decode(ids[start:end])
        if decoded:
            out.append(decoded)
        if end == len(ids):
            break
        start += size - overlap
    return out


@pytest.mark.parametrize("size,overlap", [(512, 50), (64, 16), (7, 3), (1, 0)])
def test_token_splitter_windows(cl100k, docs_sample, size, overlap):
    rng = random.Random(size)
    texts = docs_sample[:6] + ["".join(rng.choice(["日本", "語", "👩🏽‍💻", " ", "é", "word", "\n"])
                                       for _ in range(300)) for _ in range(5)]
    splitter = llmkit.TokenSplitter(encoding=cl100k, chunk_size=size, chunk_overlap=overlap)
    for text in texts:
        chunks = splitter.split(text)
        reference = langchain_token_windows(cl100k, text, size, overlap)
        for chunk in chunks:
            assert text[chunk.start:chunk.end] == chunk.text
            assert "\ufffd" not in chunk.text
        # Where no window cuts a character, the chunks are LangChain's exactly.
        if not any("\ufffd" in r for r in reference):
            assert [c.text for c in chunks] == reference
        # Nothing is lost: every character is in some chunk.
        covered = [False] * len(text)
        for chunk in chunks:
            covered[chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
        assert all(covered)
        if overlap == 0:
            assert "".join(c.text for c in chunks) == text


@pytest.mark.parametrize("size,overlap", [(512, 50), (128, 32), (16, 4), (4, 1)])
def test_sentence_splitter_promises(cl100k, docs_sample, size, overlap):
    rng = random.Random(size)
    texts = docs_sample[:8] + [
        "First sentence. Second one! Third? \u201cQuoted.\u201d Next.\n\nNew paragraph 日本語。次の文！",
        " ".join(rng.choice(["word", "a.", "b!", "\n\n", "x" * 40, "👩🏽‍💻", "(c.)"]) for _ in range(500)),
    ]
    splitter = llmkit.SentenceSplitter(encoding=cl100k, chunk_size=size, chunk_overlap=overlap)
    for text in texts:
        chunks = splitter.split(text)
        previous = None
        for chunk in chunks:
            assert text[chunk.start:chunk.end] == chunk.text
            assert cl100k.count(chunk.text) <= size
            assert chunk.text == chunk.text.strip()
            if previous is not None:
                assert chunk.start >= previous.start and chunk.end > previous.end
            previous = chunk
        covered = [c.isspace() for c in text]
        for chunk in chunks:
            covered[chunk.start:chunk.end] = [True] * (chunk.end - chunk.start)
        assert all(covered)


def test_sentence_splitter_prefers_sentence_ends(cl100k):
    text = " ".join(f"Sentence number {i} says something short." for i in range(200))
    chunks = llmkit.SentenceSplitter(encoding=cl100k, chunk_size=64, chunk_overlap=0).split(text)
    assert len(chunks) > 5
    assert all(c.text.endswith(".") for c in chunks)


def test_token_chunking_errors(cl100k):
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.TokenSplitter(encoding=cl100k, chunk_size=10, chunk_overlap=10)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.SentenceSplitter(encoding=cl100k, chunk_size=0, chunk_overlap=0)
    with pytest.raises(llmkit.InvalidArgumentError, match="byte offset"):
        llmkit.SentenceSplitter(encoding=cl100k, chunk_size=1, chunk_overlap=0).split("a 👩🏽‍💻")
    with pytest.raises(TypeError):
        llmkit.TokenSplitter(encoding=42)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.RecursiveCharacterSplitter(length="tokens", length_function=len)


def test_markdown_splitter_in_tokens(cl100k, docs_sample):
    splitter = llmkit.MarkdownSplitter(chunk_size=128, chunk_overlap=16, length="tokens",
                                       encoding=cl100k, hard_limit=True)
    for text in docs_sample[:5]:
        chunks = splitter.split(text)
        assert chunks
        for chunk in chunks:
            assert text[chunk.start:chunk.end] == chunk.text
            assert cl100k.count(chunk.text) <= 128
