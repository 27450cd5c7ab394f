"""The remote stores against real servers (npm, installed by scripts/install-test-peers.sh):
llmkit.PgVectorStore on pglite-server with pgvector 0.8, llmkit.ChromaStore on Chroma 1.x; each
usable wherever a Collection is."""

import gc
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import llmkit


def test_store_round_trip_search_and_retriever(pglite_dsn):
    dsn = pglite_dsn
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    ids = [f"d{i}" for i in range(300)]
    texts = [("solar panel " if i % 2 else "wind turbine ") + str(i) for i in range(300)]
    metas = [{"year": 2000 + i % 20, "kind": "even" if i % 2 == 0 else "odd"} for i in range(300)]

    store = llmkit.PgVectorStore(dsn, table="py_docs", dim=8, pool_size=1)
    assert isinstance(store, llmkit.VectorStore)
    assert store.kind == "pgvector" and store.dim == 8 and store.metric == "cosine"
    assert store.pgvector_version.startswith("0.8")
    assert "py-secret" not in store.server
    store.add(ids, vectors, texts, metas, timeout=30, tags={"tenant": "t1"})
    assert store.count() == 300 and len(store) == 300

    local = llmkit.Collection(8)
    local.add(ids, vectors, texts, metas)
    query = rng.standard_normal(8).astype(np.float32)
    where = {"$and": [{"year": {"$gte": 2010}}, {"kind": "odd"}]}
    got = store.search(query, k=7, where=where, exact=True)
    want = local.search(query, k=7, where=where, exact=True)
    assert [h.id for h in got] == [h.id for h in want]
    assert np.allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
    batch = store.search(vectors[:3], k=1)
    assert [b[0].id for b in batch] == ["d0", "d1", "d2"]

    docs = store.get_many(["d5", "nope", "d1"], include_vectors=True)
    assert [d["id"] for d in docs] == ["d5", "d1"]
    assert docs[0]["metadata"] == metas[5] and docs[0]["text"] == texts[5]
    assert np.allclose(docs[0]["vector"], vectors[5] / np.linalg.norm(vectors[5]), atol=1e-6)

    bm25 = llmkit.Bm25Index()
    bm25.add(ids, texts)
    for collection in (store, local):
        retriever = llmkit.Retriever(collection, bm25, mode="hybrid", alpha=0.5)
        hits = retriever.search(text="solar", vector=query, k=5, where={"year": 2015}, timeout=30)
        if collection is store:
            remote_ids = [h.id for h in hits]
        else:
            assert [h.id for h in hits] == remote_ids

    assert store.delete(["d0", "missing"]) == 1
    assert store.delete_where({"kind": "even"}) == 149
    assert store.count() == 150
    assert store.ids()[:2] == ["d1", "d101"]


def test_errors(pglite_dsn):
    dsn = pglite_dsn
    with pytest.raises(llmkit.InvalidArgumentError, match="hnsw_m"):
        llmkit.PgVectorStore(dsn, table="bad", dim=4, hnsw_m=1)
    with pytest.raises(llmkit.UnavailableError) as refused:
        llmkit.PgVectorStore("postgresql://u:top-secret@127.0.0.1:1/db", dim=4, max_retries=0)
    assert "top-secret" not in str(refused.value) and "127.0.0.1:1/db" in str(refused.value)
    store = llmkit.PgVectorStore(dsn, table="errs", dim=2, pool_size=1)
    with pytest.raises(llmkit.InvalidArgumentError):
        store.add(["a"], np.zeros((1, 2), dtype=np.float32))  # Zero vector under cosine.
    store.add(["a"], np.ones((1, 2), dtype=np.float32))
    with pytest.raises(llmkit.AlreadyExistsError):
        store.add(["a"], np.ones((1, 2), dtype=np.float32))
    with pytest.raises(llmkit.DeadlineExceededError):
        store.count(timeout=1e-9)


def test_chroma_store_round_trip_search_and_retriever(chroma_url):
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((200, 8)).astype(np.float32)
    ids = [f"d{i}" for i in range(200)]
    texts = [("solar panel " if i % 2 else "wind turbine ") + str(i) for i in range(200)]
    metas = [{"year": 2000 + i % 20, "kind": "even" if i % 2 == 0 else "odd", "tags": [i % 3]}
             for i in range(200)]
    store = llmkit.ChromaStore(chroma_url, collection="py-docs", dim=8, timeout=30)
    assert isinstance(store, llmkit.VectorStore)
    assert store.kind == "chroma" and store.dim == 8 and store.max_batch_size > 0
    store.add(ids, vectors, texts, metas, timeout=30, tags={"tenant": "t1"})
    assert len(store) == 200

    local = llmkit.Collection(8)
    local.add(ids, vectors, texts, metas)
    query = rng.standard_normal(8).astype(np.float32)
    where = {"$and": [{"year": {"$gte": 2010}}, {"$not": {"kind": "even"}}]}
    got = store.search(query, k=7, where=where)
    want = local.search(query, k=7, where=where, exact=True)
    assert [h.id for h in got] == [h.id for h in want]
    assert got[0].metadata == metas[int(got[0].id[1:])]  # The list survives.
    with pytest.raises(llmkit.UnimplementedError, match="string"):
        store.search(query, where={"kind": {"$gt": "a"}})

    bm25 = llmkit.Bm25Index()
    bm25.add(ids, texts)
    results = []
    for collection in (store, local):
        retriever = llmkit.Retriever(collection, bm25, mode="hybrid", alpha=0.5)
        results.append([h.id for h in retriever.search(text="solar", vector=query, k=5,
                                                       where={"year": 2015})])
    assert results[0] == results[1]

    store.upsert(["d1"], vectors[1:2], ["new"], [{"year": 1}])
    assert store.get_many(["d1"])[0] == {"id": "d1", "text": "new", "metadata": {"year": 1}}
    assert store.delete(["d0", "missing"]) == 1
    assert store.delete_where({"kind": "even"}) == 99
    assert store.count() == 100


def test_chroma_errors(chroma_url):
    with pytest.raises(llmkit.InvalidArgumentError, match="collection"):
        llmkit.ChromaStore(chroma_url, collection="x", dim=2)
    with pytest.raises(llmkit.NotFoundError):
        llmkit.ChromaStore(chroma_url, collection="absent-one", dim=2, create=False)
    with pytest.raises(llmkit.UnavailableError) as refused:
        llmkit.ChromaStore("http://127.0.0.1:1", dim=2, token="py-token-secret", max_retries=0)
    assert "py-token-secret" not in str(refused.value)


def _cli():
    build = pathlib.Path(os.environ.get("LLMKIT_BUILD_DIR",
                                        pathlib.Path(__file__).parents[3] / "build" / "release"))
    return build / "cli" / "llmkit"


def _docs(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wind.md").write_text("# Wind\n\nOffshore wind farms see steadier wind than on land.\n")
    (docs / "solar.md").write_text("# Solar\n\nPhotovoltaic panels turn sunlight into power.\n")
    return docs


@pytest.mark.parametrize("kind", ["pgvector", "chroma"])
def test_pipeline_and_cli_on_a_remote_store(kind, tmp_path, request):
    if kind == "pgvector":
        gc.collect()  # Stores of earlier tests held in reference cycles close their connection.
        url = request.getfixturevalue("pglite_dsn")
        store_args = ["--store", url, "--table", "cli_chunks"]
    else:
        url = request.getfixturevalue("chroma_url")
        store_args = ["--store", "chroma://" + url.split("://")[1] + "/cli-chunks"]
    docs = _docs(tmp_path)
    index = tmp_path / "index"
    cli = _cli()
    built = subprocess.run([str(cli), "index", str(docs), "-o", str(index), "-q"] + store_args,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    assert json.loads((index / "rag.json").read_text())["store"] == kind
    assert not (index / "collection").exists()
    found = subprocess.run([str(cli), "query", str(index), "steady offshore wind", "-k", "1",
                            "--json"] + store_args, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["doc_id"] == "wind.md"
    missing = subprocess.run([str(cli), "query", str(index), "wind"], capture_output=True,
                             text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode != 0 and "--store" in missing.stderr
    if kind == "pgvector":
        return  # pglite-server serves one connection at a time: the Python handle would wait.
    store = llmkit.ChromaStore(url, collection="cli-chunks")
    rag = llmkit.RagPipeline.load(str(index), store=store)
    assert rag.retrieve("photovoltaic panels", k=1)[0].doc_id == "solar.md"


def test_cli_eval_through_a_remote_store_equals_local(chroma_url, tmp_path):
    topics = ["tides and the moon", "bread needs yeast", "the moon pulls the sea",
              "yeast makes dough rise", "sea levels and tides", "sourdough starter feeding"]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": t}) + "\n"
                              for i, t in enumerate(topics)))
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"_id": "q1", "text": "moon tides"}) + "\n"
                       + json.dumps({"_id": "q2", "text": "yeast bread dough"}) + "\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("q1\td2\t1\nq1\td4\t1\nq2\td3\t1\n")
    base = [str(_cli()), "eval", "--corpus", str(corpus), "--queries", str(queries), "--qrels",
            str(qrels), "--json"]
    local = subprocess.run(base, capture_output=True, text=True, timeout=120)
    remote = subprocess.run(base + ["--store", "chroma://" + chroma_url.split("://")[1] + "/eval-set"],
                            capture_output=True, text=True, timeout=120)
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    strip = lambda out: {mode: {k: round(v, 6) for k, v in m.items() if k != "ms_per_query"}
                         for mode, m in json.loads(out).items() if isinstance(m, dict)}
    assert strip(remote.stdout) == strip(local.stdout)
    assert strip(local.stdout)["vector"]["ndcg@10"] > 0
    store = llmkit.ChromaStore(chroma_url, collection="eval-set")
    assert store.count() == len(topics)
