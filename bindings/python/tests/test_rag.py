"""The RAG pipeline from Python and the `llmkit` command line: local defaults, directories,
resuming, save/load, errors; ingest -> ask end to end against a fake OpenAI-compatible server
(chat and embeddings) on 127.0.0.1, from Python and from the shell; `llmkit eval` on SciFact
against the figures of benchmarks/compare/retrieval_eval."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import llmkit
from conftest import SOURCE_DIR
from fake_provider import Provider

BUILD = pathlib.Path(os.environ.get("LLMKIT_BUILD_DIR", SOURCE_DIR / "build" / "release"))
CLI = BUILD / "cli" / "llmkit"
SHARED = pathlib.Path(os.environ.get("LLMKIT_SHARED_DIR") or SOURCE_DIR.parent / "shared")
SCIFACT = SHARED / "data" / "scifact"

NOTES = {
    "volcanoes.md": "# Volcanoes\n\nMagma rises through the crust.\n\n## Eruptions\n\n"
                    "Rhyolitic eruptions are explosive because viscous magma traps gas.\n",
    "bread.txt": "Knead the dough, let it rise, bake it until the crust is brown.\n",
    "code/tides.py": "def tide_height(moon_phase):\n    \"\"\"Spring tides come at new and full moon.\"\"\"\n"
                     "    return 1.0\n",
}


@pytest.fixture
def notes(tmp_path):
    root = tmp_path / "notes"
    for name, text in NOTES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_local_defaults_ingest_retrieve_answer(notes, tmp_path):
    rag = llmkit.RagPipeline(chunk_size=120, chunk_overlap=0)
    seen = []
    stats = rag.ingest_directory(str(notes), progress=seen.append)
    assert stats.documents_done == 3 and stats.chunks == stats.chunks_embedded > 0
    assert seen and seen[-1].documents_done == 3
    assert len(rag) == 3

    hits = rag.retrieve("why are eruptions explosive", k=2)
    top = hits[0]
    assert top.n == 1 and top.doc_id == "volcanoes.md" and top.path == str(notes / "volcanoes.md")
    text = (notes / "volcanoes.md").read_bytes()
    assert text[top.byte_start:top.byte_end].decode() == top.text
    assert top.line_start == text[:top.byte_start].count(b"\n") + 1
    assert top.line_end == text[:top.byte_end - 1].count(b"\n") + 1 == 7  # The "Rhyolitic" line.
    assert text.decode()[top.start:top.end] == top.text  # str indices, as Chunk's.
    assert top.metadata["headings"] and top.metadata["doc_id"] == "volcanoes.md"

    answer = rag.answer("when do spring tides come?")
    assert not answer.generated and "No chat model" in answer.text
    assert answer.context[0].doc_id == "code/tides.py"
    assert [p.n for p in answer.citations] == [p.n for p in answer.context]
    assert "Question: when do spring tides come?" in answer.prompt

    # Nothing changed: nothing done. One file changed: only it.
    again = rag.ingest_directory(str(notes))
    assert again.documents_unchanged == 3 and again.chunks == 0
    (notes / "bread.txt").write_text(NOTES["bread.txt"] + "Serve it warm with butter.\n")
    changed = rag.ingest_directory(str(notes))
    assert changed.documents_unchanged == 2 and changed.chunks >= 1

    # Save and load: the same passages; re-ingesting after load does no work.
    rag.save(str(tmp_path / "index"))
    loaded = llmkit.RagPipeline.load(str(tmp_path / "index"))
    for q in ("magma", "butter", "moon"):
        assert [(p.chunk_id, round(p.score, 5)) for p in rag.retrieve(q)] == \
               [(p.chunk_id, round(p.score, 5)) for p in loaded.retrieve(q)]
    assert loaded.ingest_directory(str(notes)).documents_unchanged == 3
    assert loaded.stats()["embedding_model"] == "llmkit-lexical-v1-d1024-c3-5-p0"


def test_ingest_list_filters_and_errors():
    rag = llmkit.RagPipeline()
    rag.ingest([("a", "Tides come from the moon.", {"topic": "sea"}),
                {"id": "b", "text": "Bread needs yeast.", "metadata": {"topic": "food"}, "path": "b.txt"}])
    assert [p.doc_id for p in rag.retrieve("moon yeast", where={"topic": "food"})] == ["b"]
    with pytest.raises(llmkit.InvalidArgumentError, match="reserved"):
        rag.ingest([("c", "text", {"path": "x"})])
    with pytest.raises(llmkit.InvalidArgumentError, match="repeated id"):
        rag.ingest([("c", "x"), ("c", "y")])
    with pytest.raises(llmkit.InvalidArgumentError, match=r"a document is \(id, text"):
        rag.ingest([("only-an-id",)])
    with pytest.raises(ValueError):
        llmkit.RagPipeline(mode="semantic")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.RagPipeline(chunk_size=10, chunk_overlap=10)
    with pytest.raises(llmkit.NotFoundError):
        rag.ingest_directory("/nonexistent/llmkit")
    with pytest.raises(llmkit.NotFoundError):
        llmkit.RagPipeline.load("/nonexistent/llmkit")
    assert llmkit.cited_numbers("see [2] and [1, 3]", 3) == [2, 1, 3]


def test_progress_can_stop_and_the_next_call_resumes(tmp_path):
    docs = [(f"d{i}", f"Document {i} about subject {i % 5}. " + "filler " * 60) for i in range(60)]
    rag = llmkit.RagPipeline()
    calls = []

    def stop_early(stats):
        calls.append(stats.documents_done)
        return len(calls) < 2

    with pytest.raises(llmkit.CancelledError):
        rag.ingest(docs, progress=stop_early, group_chunks=10)
    committed = len(rag)
    assert 0 < committed < len(docs)
    resumed = rag.ingest(docs)
    assert resumed.documents_unchanged == committed and len(rag) == len(docs)

    def boom(stats):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        llmkit.RagPipeline().ingest(docs, progress=boom, group_chunks=10)


def test_timeout_and_ctrl_c_stop_an_ingest_and_the_next_call_resumes():
    import _thread
    import threading
    import time
    docs = [(f"d{i}", f"Document {i} about subject {i % 5}. " + "filler words " * 400)
            for i in range(3000)]
    rag = llmkit.RagPipeline()
    with pytest.raises(llmkit.DeadlineExceededError, match="of 3000 documents"):
        rag.ingest(docs, timeout=0.2, group_chunks=64, tags={"team": "search"})
    committed = len(rag)
    assert committed < len(docs)
    # Ctrl-C (KeyboardInterrupt on the main thread) cancels the ingest through its context.
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        rag.ingest(docs, group_chunks=64)
    assert time.monotonic() - start < 10
    resumed = rag.ingest(docs, timeout=600)
    assert resumed.documents_unchanged >= committed and len(rag) == len(docs)
    assert rag.retrieve("subject 3", k=2, timeout=5, tags={"user": "u"})
    with pytest.raises(llmkit.InvalidArgumentError, match="timeout"):
        rag.retrieve("subject 3", timeout=0)


def bag_of_words(text, dim=64):
    """The fake server's embedding: hashed word counts, normalized (deterministic)."""
    v = np.zeros(dim, dtype="<f4")
    for word in re.findall(r"\w+", text.lower()):
        v[sum(word.encode()) % dim] += 1
    n = np.linalg.norm(v)
    return v / n if n else v + 1 / np.sqrt(dim)


ANSWER = "Viscous magma traps gas [1], so those eruptions explode."


def rag_script(path, body, headers):
    import base64
    if path.endswith("/embeddings"):
        data = [{"index": i, "embedding": base64.b64encode(bag_of_words(t).tobytes()).decode()}
                for i, t in enumerate(body["input"])]
        return 200, {}, json.dumps({"data": data, "model": body["model"],
                                    "usage": {"prompt_tokens": 3, "total_tokens": 3}}).encode(), 0
    usage = {"prompt_tokens": 250, "completion_tokens": 12, "total_tokens": 262}
    if body.get("stream"):
        pieces = [ANSWER[:20], ANSWER[20:]]
        events = [f"data: {json.dumps({'id': 'c', 'model': 'fake-chat', 'choices': [{'index': 0, 'delta': {'content': p}}]})}\n\n"
                  for p in pieces]
        events.append(f"data: {json.dumps({'id': 'c', 'model': 'fake-chat', 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}], 'usage': usage})}\n\n")
        events.append("data: [DONE]\n\n")
        return 200, {}, [e.encode() for e in events], 0
    return 200, {}, json.dumps({"id": "c", "model": "fake-chat", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
        "usage": usage}).encode(), 0


@pytest.fixture
def server():
    p = Provider(rag_script)
    yield p
    p.close()


def test_end_to_end_against_chat_and_embedding_endpoints(server, notes, tmp_path):
    client = llmkit.OpenAIClient(server.url + "/v1", api_key="sk-test", model="fake-chat",
                                 embedding_model="fake-embed")
    rag = llmkit.RagPipeline(embedder=client, chat=client, embedding_model="fake-embed",
                             chunk_size=120, chunk_overlap=0)
    stats = rag.ingest_directory(str(notes))
    embedded = sum(len(b["input"]) for p, _, b in server.requests if p.endswith("/embeddings"))
    assert embedded == stats.chunks_embedded == stats.chunks

    pieces = []
    answer = rag.answer("Why do rhyolitic eruptions explode?", k=3, on_text=pieces.append)
    assert answer.generated and answer.text == ANSWER == "".join(pieces)
    assert answer.model == "fake-chat" and answer.usage.input_tokens == 250
    assert [c.n for c in answer.citations] == [1]
    assert answer.citations[0].chunk_id == answer.context[0].chunk_id
    chat = [b for p, _, b in server.requests if p.endswith("/chat/completions")][-1]
    assert chat["messages"][0]["role"] == "system"
    assert chat["messages"][1]["content"] == answer.prompt
    assert f"[1] {answer.context[0].path}, lines" in answer.prompt

    plain = rag.answer("Why do rhyolitic eruptions explode?", k=3)
    assert plain.text == ANSWER and plain.citations[0].n == 1

    # The index remembers its embedding model: loading needs it.
    rag.save(str(tmp_path / "index"))
    with pytest.raises(llmkit.FailedPreconditionError, match="fake-embed"):
        llmkit.RagPipeline.load(str(tmp_path / "index"))
    loaded = llmkit.RagPipeline.load(str(tmp_path / "index"), embedder=client, chat=client,
                                     embedding_model="fake-embed")
    assert loaded.answer("Why do rhyolitic eruptions explode?", k=3).text == ANSWER


def run(*args, env=None, check=True):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LLMKIT_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")}
    environment.update(env or {})
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, env=environment, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_index_query_ask_chunk(notes, tmp_path, server):
    index = str(tmp_path / "index")
    out = run("index", str(notes), "-o", index, "--chunk-size", "120", "--chunk-overlap", "0")
    assert "indexed" in out.stdout and "3 files" in out.stdout
    assert "indexed 3/3 files" in out.stderr  # Not a terminal: plain progress lines.
    again = run("index", str(notes), "-o", index)
    assert "3 unchanged" in again.stdout

    hits = json.loads(run("query", index, "explosive eruptions", "-k", "2", "--json").stdout)
    assert hits[0]["doc_id"] == "volcanoes.md" and hits[0]["line_end"] == 7
    text = run("query", index, "explosive eruptions", "-k", "1").stdout
    assert re.search(r"\[1\] \d\.\d{4}  .*volcanoes\.md:\d-7", text)

    no_model = run("ask", index, "when are spring tides?").stdout
    assert "No chat model is configured" in no_model and "LLMKIT_BASE_URL" in no_model
    assert "Question: when are spring tides?" in no_model

    asked = run("ask", index, "Why do rhyolitic eruptions explode?", "-k", "3",
                env={"LLMKIT_BASE_URL": server.url + "/v1", "LLMKIT_MODEL": "fake-chat"})
    assert asked.stdout.startswith(ANSWER)
    assert re.search(r"Sources \(fake-chat, 250 input \+ 12 output tokens\):\n\[1\] .*:\d+-\d+", asked.stdout)

    # --cache DIR: the second run answers from the directory without asking the model.
    cache_dir = str(tmp_path / "answers")
    env = {"LLMKIT_BASE_URL": server.url + "/v1", "LLMKIT_MODEL": "fake-chat"}
    chats = lambda: sum(1 for p, _, _ in server.requests if p.endswith("/chat/completions"))
    before = chats()
    first = run("ask", index, "Why do rhyolitic eruptions explode?", "-k", "3", "--cache", cache_dir, env=env)
    second = run("ask", index, "Why do rhyolitic eruptions explode?", "-k", "3", "--cache", cache_dir, env=env)
    assert chats() == before + 1
    assert first.stdout.startswith(ANSWER) and second.stdout.startswith(ANSWER)
    assert "0 input + 0 output tokens" in second.stdout  # Nothing billed.
    bad = run("ask", index, "x", "--cache", "/proc/no/such/dir", env=env, check=False)
    assert bad.returncode != 0 and "--cache" in bad.stderr

    chunks = json.loads(run("chunk", str(notes / "volcanoes.md"), "--size", "60", "--overlap", "0", "--json").stdout)
    source = (notes / "volcanoes.md").read_bytes()
    assert all(source[c["begin"]:c["end"]].decode() == c["text"] for c in chunks)
    assert chunks[-1]["metadata"]["headings"]


def test_cli_ask_exports_its_spans_to_the_otel_collector(notes, tmp_path, server):
    index = str(tmp_path / "index")
    run("index", str(notes), "-o", index, "--chunk-size", "120", "--chunk-overlap", "0")
    exported = []

    def collect(path, body, headers):
        exported.append((path, body))
        return 200, {}, b"{}", 0

    collector = Provider(collect)
    try:
        asked = run("ask", index, "Why do rhyolitic eruptions explode?", "-k", "3",
                    env={"LLMKIT_BASE_URL": server.url + "/v1", "LLMKIT_MODEL": "fake-chat",
                         "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
                         "OTEL_SERVICE_NAME": "cli-test"})
        assert asked.stdout.startswith(ANSWER)
    finally:
        collector.close()
    spans = [s for path, body in exported if path == "/v1/traces"
             for rs in body["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert [s["name"] for s in spans] == ["chat fake-chat"]
    resource = exported[0][1]["resourceSpans"][0]["resource"]["attributes"]
    assert {"key": "service.name", "value": {"stringValue": "cli-test"}} in resource
    assert any(path == "/v1/metrics" for path, _ in exported)
    chat = [h for p, h, _ in server.requests if p.endswith("/chat/completions")][-1]
    assert chat.get("traceparent", "").split("-")[1] == spans[0]["traceId"]


def test_the_latent_model_is_fitted_saved_and_added_to_an_older_index(notes, tmp_path):
    rag = llmkit.RagPipeline()
    rag.ingest([{"id": name, "text": text} for name, text in NOTES.items()])
    assert rag.stats()["latent_documents"] == 3
    index = tmp_path / "index"
    run("index", str(notes), "-o", str(index))
    lexical = json.loads((index / "lexical.json").read_text())
    assert lexical["latent_terms"] and lexical["latent_documents"]
    assert llmkit.RagPipeline.load(str(index)).stats()["latent_documents"] == 3
    # An index saved before llmkit fitted the model: an unchanged re-index fits and saves it.
    older = {k: v for k, v in lexical.items() if not k.startswith("latent_")}
    (index / "lexical.json").write_text(json.dumps(older))
    assert llmkit.RagPipeline.load(str(index)).stats()["latent_documents"] == 0
    again = run("index", str(notes), "-o", str(index))
    assert "3 unchanged" in again.stdout
    assert "latent_terms" in json.loads((index / "lexical.json").read_text())
    assert llmkit.RagPipeline.load(str(index)).stats()["latent_documents"] == 3


def test_cli_errors_and_help(tmp_path):
    assert run("--help").returncode == 0
    for command in ("index", "query", "ask", "chunk", "tokens", "eval"):
        assert run(command, "--help").stdout.startswith(f"usage: llmkit {command}")
    assert run("nosuch", check=False).returncode == 2
    assert run("index", str(tmp_path), check=False).returncode == 2            # No -o.
    assert run("index", str(tmp_path), "-o", "x", "--bogus", check=False).returncode == 2
    assert run("chunk", str(tmp_path / "missing.txt"), check=False).returncode == 1
    assert run("chunk", "a", "--size", "ten", check=False).returncode == 2
    missing = run("query", str(tmp_path / "none"), "q", check=False)
    assert missing.returncode == 1 and "not a saved llmkit RAG index" in missing.stderr
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\xff")
    invalid = run("chunk", str(bad), check=False)
    assert invalid.returncode == 1 and "byte offset 2" in invalid.stderr


def test_cli_indexes_extensionless_text_and_lists_every_skipped_path(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "README").write_text("Plain text without an extension about tidal bores.\n")
    (docs / "README.Debian").write_text("Debian notes on tidal bores.\n")
    (docs / "GPL-2.0").write_text("The license text.\n")
    (docs / "notes.md").write_text("# Notes\nSpring tides.\n")
    (docs / "blob").write_bytes(b"\x7fELF\x00\x01binary")
    (docs / "latin1").write_bytes(b"caf\xe9\n")
    (docs / "big.txt").write_text("x" * (2 << 20))
    (docs / "data.json").write_text("{}")  # An extension not asked for: not listed.
    os.symlink(docs / "nowhere", docs / "dangling")
    os.symlink(docs / "loop_b", docs / "loop_a")
    os.symlink(docs / "loop_a", docs / "loop_b")
    os.symlink(docs / "sub", docs / "sublink")
    os.mkfifo(docs / "pipe")
    index = str(tmp_path / "index")
    out = run("index", str(docs), "-o", index, "--max-file-mb", "1")
    assert "4 files" in out.stdout, out.stdout
    skipped = {line.split(": ", 1)[0].removeprefix("skipped ").rsplit("/", 1)[-1]: line
               for line in out.stderr.splitlines() if line.startswith("skipped ")}
    assert "binary" in skipped["blob"] and "not UTF-8" in skipped["latin1"]
    assert "above max_file_bytes" in skipped["big.txt"]
    assert "dangling" in skipped["dangling"]
    assert "loop" in skipped["loop_a"] and "loop" in skipped["loop_b"]
    assert "not followed" in skipped["sublink"] and "not a regular file" in skipped["pipe"]
    assert "data.json" not in skipped and len(skipped) == 8, skipped
    hits = json.loads(run("query", index, "tidal bores", "--json").stdout)
    assert {h["doc_id"] for h in hits} >= {"README", "README.Debian"}
    assert run("index", str(docs), "-o", index, "--max-file-mb", "0", check=False).returncode == 2


def test_same_relative_names_in_two_folders_are_never_overwritten(tmp_path):
    for folder, text in (("a", "alpha apples"), ("b", "beta bananas")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "README.md").write_text(text + "\n")
    index = str(tmp_path / "index")
    run("index", str(tmp_path / "a"), "-o", index)
    second = run("index", str(tmp_path / "b"), "-o", index)
    assert "already belongs to" in second.stderr and str(tmp_path / "a" / "README.md") in second.stderr
    hits = json.loads(run("query", index, "alpha apples", "--json").stdout)
    assert hits[0]["path"].endswith("a/README.md") and "alpha" in hits[0]["text"]
    # The same folder named another way is the same file, not a clash.
    again = run("index", str(tmp_path / "a") + "/", "-o", index)
    assert "already belongs" not in again.stderr


def test_cli_bad_where_exits_2_and_impossible_settings_are_data_loss(notes, tmp_path):
    index = str(tmp_path / "index")
    run("index", str(notes), "-o", index)
    bad_op = run("query", index, "tides", "--where", '{"x": {"$regexp": "a"}}', check=False)
    assert bad_op.returncode == 2 and "--where" in bad_op.stderr
    settings = json.loads((tmp_path / "index" / "rag.json").read_text())
    for field, value, parent in (("chunk_size", -5, None), ("k", 0, None), ("alpha", 7, "retrieval"),
                                 ("dimensions", 0, "embedder")):
        broken = json.loads(json.dumps(settings))
        (broken[parent] if parent else broken)[field] = value
        (tmp_path / "index" / "rag.json").write_text(json.dumps(broken))
        result = run("query", index, "tides", check=False)
        assert result.returncode == 1 and f'"{field}"' in result.stderr, (field, result.stderr)
        with pytest.raises(llmkit.DataLossError, match=field):
            llmkit.RagPipeline.load(index)
    (tmp_path / "index" / "rag.json").write_text(json.dumps(settings))
    assert run("query", index, "tides").returncode == 0


def write_large_text(path, megabytes, seed=1):
    """Real words (the GPL's) in random order: `megabytes` MB of lines."""
    import random
    words = pathlib.Path("/usr/share/common-licenses/GPL-3").read_text().split()
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(4096)]
    block = "\n".join(lines) + "\n"
    with open(path, "w") as out:
        for i in range(megabytes * (1 << 20) // len(block) + 1):
            out.write(f"part {i}\n" + block)


MEMORY_CHILD = """
import resource, sys, llmkit
rag = llmkit.RagPipeline()
progress = rag.ingest_directory(sys.argv[1], max_file_bytes=1 << 30)
print(progress.chunks, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_a_100_mb_file_ingests_in_bounded_memory(tmp_path):
    # The whole document is split first; its chunks are then embedded and written in slices of
    # group_chunks, so the peak follows what the index keeps, not copies of the document.
    folder = tmp_path / "big"
    folder.mkdir()
    write_large_text(folder / "big.txt", 100)
    result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(folder)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    chunks, peak_mb = map(int, result.stdout.split())
    assert chunks > 200_000
    assert peak_mb < 1536, f"peak {peak_mb} MB for a 100 MB file"


def test_ctrl_c_stops_llmkit_index_within_a_second_and_saves(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_large_text(folder / "big.txt", 40)
    (folder / "small.md").write_text("# Small\nA small note about tides.\n")
    index = str(tmp_path / "index")
    environment = {k: v for k, v in os.environ.items() if k not in ("LLMKIT_BASE_URL", "OPENAI_API_KEY")}
    proc = subprocess.Popen([str(CLI), "index", str(folder), "-o", index, "--max-file-mb", "64"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    import signal
    import time
    time.sleep(3)
    assert proc.poll() is None, "the index finished before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    stopped = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert "interrupted; saved what was indexed" in err and "run it again to resume" in err
    assert stopped < 1.0 + 2.0, f"{stopped:.2f} s to stop and save"  # Stop < 1 s, then the save.
    # What was committed is there; the interrupted document is indexed again on the next run,
    # reusing the vectors of the chunks written before the interruption.
    assert run("query", index, "tides", "--json").returncode == 0
    again = run("index", str(folder), "-o", index, "--max-file-mb", "64")
    assert re.search(r"\((\d+) embedded, ([1-9]\d*) reused", again.stdout), again.stdout


def test_bad_documents_name_the_document_the_field_and_the_type():
    rag = llmkit.RagPipeline()
    with pytest.raises(TypeError, match=r"documents\[1\]: id must be str, got int"):
        rag.ingest([("a", "text"), (7, "text")])
    with pytest.raises(TypeError, match=r"documents\[0\]: text must be str, got bytes"):
        rag.ingest([{"id": "a", "text": b"x"}])
    with pytest.raises(TypeError, match=r"documents\[0\]: the dict has no \"text\" key"):
        rag.ingest([{"id": "a"}])
    with pytest.raises(TypeError, match=r"documents\[0\] must be a tuple .* got int"):
        rag.ingest([5])
    with pytest.raises(llmkit.InvalidArgumentError, match=r"documents\[0\] has 1 items"):
        rag.ingest([("a",)])
    # A progress callback's return value is read as Python truth, whatever its type.
    assert rag.ingest([("a", "text")], progress=lambda p: "yes").documents_done == 1


def test_whatever_ingest_accepts_survives_save_and_load_exactly(tmp_path):
    # Property: random documents (every kind of code point, metadata at JSON's edges) are
    # retrieved after save and load exactly as before: the same passages, texts and metadata.
    import random
    sys.path.insert(0, os.path.dirname(__file__))
    from test_index import random_text, random_value
    rng = random.Random(7)
    rag = llmkit.RagPipeline(chunk_size=200, chunk_overlap=20)
    docs = []
    for i in range(60):
        text = " ".join(random_text(rng, rng.randint(1, 12)) for _ in range(rng.randint(1, 60)))
        metadata = {f"k{j}": random_value(rng) for j in range(rng.randint(0, 4))}
        docs.append((f"doc{i}-{random_text(rng, 3)}", text, metadata))
    rag.ingest(docs)
    queries = [d[1][:40] for d in docs[:20]]

    def seen(pipeline):
        # Every chunk (k above the chunk count, so no cut at equal scores). Scores may differ in
        # the last float bits: BM25 sums terms in hash order, which differs between processes.
        return [{p.chunk_id: (p.doc_id, p.text, repr(p.metadata), p.score)
                 for p in pipeline.retrieve(q, k=10000)} for q in queries]

    before = seen(rag)
    rag.save(str(tmp_path / "index"))
    after = seen(llmkit.RagPipeline.load(str(tmp_path / "index")))
    for was, now in zip(before, after):
        assert was.keys() == now.keys()
        for chunk_id, (doc_id, text, metadata, score) in was.items():
            assert now[chunk_id][:3] == (doc_id, text, metadata)
            assert now[chunk_id][3] == pytest.approx(score, rel=1e-5, abs=1e-7)


def test_concurrent_index_runs_lose_no_update(tmp_path):
    # 3 processes x 50 rounds of `llmkit index` adding different files to one INDEX at once: the
    # writer lock serializes each load-change-save, so every file is there and the index loads.
    processes, rounds = 3, 50
    for p in range(processes):
        for r in range(rounds):
            folder = tmp_path / f"src{p}" / f"r{r}"
            folder.mkdir(parents=True)
            (folder / f"f{p}-{r}.txt").write_text(f"process {p} round {r}: words zq{p}x{r}\n")
    index = tmp_path / "index"
    script = "; ".join(f'"{CLI}" index "{tmp_path}/src{{p}}/r{r}" -o "{index}" > /dev/null || exit 1'
                       for r in range(rounds))
    runs = [subprocess.Popen(["bash", "-c", script.replace("{p}", str(p))], stderr=subprocess.PIPE, text=True)
            for p in range(processes)]
    for run_ in runs:
        _, err = run_.communicate(timeout=600)
        assert run_.returncode == 0, err
    rag = llmkit.RagPipeline.load(str(index))
    assert rag.stats()["documents"] == processes * rounds
    found = {p.doc_id for p in rag.retrieve("process round words", k=1000)}
    assert found == {f"f{p}-{r}.txt" for p in range(processes) for r in range(rounds)}


def test_a_second_writer_waits_then_names_the_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, llmkit; lock = llmkit.RagPipeline.lock_for_writing(sys.argv[1]); "
         "print('held', flush=True); time.sleep(30)", str(tmp_path / "index")],
        stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(llmkit.FailedPreconditionError, match=f"process {holder.pid}"):
            llmkit.RagPipeline.lock_for_writing(str(tmp_path / "index"), timeout=0.3)
        rag = llmkit.RagPipeline()
        rag.ingest([("a", "text")])
        with pytest.raises(llmkit.FailedPreconditionError, match="being written"):
            rag.save(str(tmp_path / "index"), timeout=0.3)
    finally:
        holder.kill()
        holder.wait()
    with llmkit.RagPipeline.lock_for_writing(str(tmp_path / "index"), timeout=5):
        rag.save(str(tmp_path / "index"))  # Re-entrant in the holding thread.
    assert llmkit.RagPipeline.load(str(tmp_path / "index")).stats()["documents"] == 1


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run the CLI as the unprivileged user nobody (setpriv)")
def test_cli_paths_the_user_cannot_read_exit_1_naming_the_path():
    # As an unprivileged user, under a directory it cannot read: each command ends with exit 1
    # and the path in the message, never an uncaught filesystem_error (exit 134). (pytest's
    # tmp_path sits under a root-only folder, so the user could not reach even the good paths.)
    import tempfile
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="llmkit-perm-"))
    os.chmod(tmp_path, 0o777)
    locked, readonly, ok = tmp_path / "locked", tmp_path / "ro", tmp_path / "ok"
    (locked / "sub").mkdir(parents=True)
    ok.mkdir()
    (ok / "a.txt").write_text("hello world\n")
    readonly.mkdir()
    os.chmod(locked, 0)
    os.chmod(readonly, 0o555)
    os.chmod(ok, 0o755)
    os.chmod(ok / "a.txt", 0o644)
    sub = locked / "sub"
    commands = [("index", str(sub), "-o", str(tmp_path / "out")),
                ("index", str(ok), "-o", str(sub / "out")),
                ("index", str(ok), "-o", str(readonly / "out")),
                ("query", str(sub), "hello"), ("ask", str(sub), "hello"), ("chunk", str(sub / "a.txt")),
                ("tokens", str(sub / "a.txt")), ("query", str(ok / "a.txt"), "hello")]
    try:
        for args in commands:
            result = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(CLI),
                                     *args], capture_output=True, text=True, timeout=120)
            assert result.returncode == 1, (args, result.returncode, result.stderr)
            assert str(tmp_path) in result.stderr, (args, result.stderr)
    finally:
        os.chmod(locked, 0o755)
        shutil.rmtree(tmp_path)


@pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").exists(),
                    reason="BEIR SciFact not found (../shared/data/scifact)")
def test_cli_eval_matches_the_index_evaluation():
    out = run("eval", "--corpus", str(SCIFACT / "corpus.jsonl"), "--queries", str(SCIFACT / "queries.jsonl"),
              "--qrels", str(SCIFACT / "qrels" / "test.tsv"), "--vectors", "minilm_pca128", "--json").stdout
    got = json.loads(out)
    # benchmarks/compare/retrieval_eval's figures (Python API, same data).
    assert round(got["vector"]["ndcg@10"], 4) == 0.6104
    assert round(got["bm25"]["ndcg@10"], 4) == 0.6828
    assert round(got["hybrid relative score (alpha 0.5)"]["ndcg@10"], 4) == 0.7087
    assert round(got["hybrid rrf (k 60)"]["ndcg@10"], 4) == 0.6896
    local = json.loads(run("eval", "--corpus", str(SCIFACT / "corpus.jsonl"), "--queries",
                           str(SCIFACT / "queries.jsonl"), "--qrels", str(SCIFACT / "qrels" / "test.tsv"),
                           "--alpha", "0.3", "--json").stdout)
    assert local["vector"]["ndcg@10"] > 0.55
    assert local["hybrid relative score (alpha 0.3)"]["ndcg@10"] > local["bm25"]["ndcg@10"]



def test_cli_eval_reads_qrels_with_or_without_a_header_and_trec_qrels(tmp_path):
    # A qrels file without a header keeps its first judgment; TREC's 4 columns read the same.
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": t}) + "\n" for i, t in
                              enumerate(["tides and the moon", "bread needs yeast", "the moon pulls the sea"])))
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"_id": "q1", "text": "moon tides"}) + "\n"
                       + json.dumps({"_id": "q2", "text": "yeast bread"}) + "\n")
    judged = "q1\td2\t1\nq2\td1\t1\n"  # q1's judged passage ranks second: its nDCG is below 1.
    forms = {"header": "query-id\tcorpus-id\tscore\n" + judged, "plain": judged,
             "trec": "q1 0 d2 1\nq2 0 d1 1\n"}
    results = {}
    for name, text in forms.items():
        qrels = tmp_path / f"{name}.tsv"
        qrels.write_text(text)
        out = json.loads(run("eval", "--corpus", str(corpus), "--queries", str(queries), "--qrels", str(qrels),
                             "--json").stdout)
        results[name] = {k: v for k, v in out["bm25"].items() if k != "ms_per_query"}
    assert results["header"] == results["plain"] == results["trec"]
    # Were the first line dropped, only q2 (a perfect 1.0) would count.
    assert results["plain"]["ndcg@10"] < 1.0
    bad = tmp_path / "bad.tsv"
    bad.write_text(judged + "q3\td2\tmaybe\n")
    failed = run("eval", "--corpus", str(corpus), "--queries", str(queries), "--qrels", str(bad), check=False)
    assert failed.returncode == 1 and "bad.tsv:3" in failed.stderr


def test_passage_offsets_are_str_indices_on_non_ascii_text():
    text = ("Ünïcödé prelude — ☃ snowmen and 日本語 text. " * 40) + "Tides rise at the full moon.\n"
    rag = llmkit.RagPipeline(chunk_size=200, chunk_overlap=0)
    rag.ingest([("d", text)])
    for p in rag.retrieve("tides full moon", k=3, where=None):
        assert text[p.start:p.end] == p.text
        assert text.encode()[p.byte_start:p.byte_end].decode() == p.text
    assert rag.retrieve("tides full moon", k=1)[0].start > 0


def test_rag_eval_reads_any_qrels_layout_and_rejects_a_bad_line(tmp_path):
    # benchmarks/compare/rag_eval on a small BEIR-format folder built here: qrels with a header,
    # without one, and in TREC's layout give the same report; a line it cannot read stops the
    # run (exit 1) naming the line, instead of being skipped.
    import json
    import subprocess
    import sys

    topics = ["volcano lava eruption magma", "bread dough yeast oven", "tide moon ocean gravity",
              "comet ice orbit sun", "violin string bow music"]
    (tmp_path / "qrels").mkdir()
    with open(tmp_path / "corpus.jsonl", "w") as f:
        for i in range(40):
            words = topics[i % 5].split()
            f.write(json.dumps({"_id": f"d{i}", "title": f"{words[i % 4]} note {i}",
                                "text": " ".join(words[(i + j) % 4] for j in range(3 + i % 7)) + f" filler {i}"}) + "\n")
    with open(tmp_path / "queries.jsonl", "w") as f:
        for q in range(5):
            f.write(json.dumps({"_id": f"q{q}", "text": topics[q]}) + "\n")
    judgments = [(f"q{q}", f"d{i}", 1) for q in range(5) for i in range(q, 40, 5)]
    layouts = {
        "header": "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in judgments),
        "no header": "".join(f"{q}\t{d}\t{s}\n" for q, d, s in judgments),
        "trec": "".join(f"{q} 0 {d} {s}\n" for q, d, s in judgments),
    }
    env = dict(os.environ, LLMKIT_PYTHON_DIR=os.path.dirname(os.path.dirname(llmkit.__file__)))
    script = [sys.executable, str(SOURCE_DIR / "benchmarks" / "compare" / "rag_eval"), "--data", str(tmp_path),
              "--permutations", "200", "--json"]
    reports = {}
    for name, text in layouts.items():
        (tmp_path / "qrels" / "test.tsv").write_text(text)
        run = subprocess.run(script, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        reports[name] = json.loads(run.stdout)
        assert reports[name]["queries"] == 5 and reports[name]["documents"] == 40
    halves = [r["halves"] for r in reports.values()]
    assert halves[0] == halves[1] == halves[2]
    assert halves[0]["all"]["llmkit BM25"]["ndcg@10"] > 0.5
    assert 0 < halves[0]["all"]["pipeline - llmkit BM25 ndcg@10"]["p"] <= 1
    (tmp_path / "qrels" / "test.tsv").write_text(layouts["no header"] + "q1\td3\n")
    run = subprocess.run(script, env=env, capture_output=True, text=True)
    assert run.returncode == 1 and "test.tsv:41:" in run.stderr, run.stderr
