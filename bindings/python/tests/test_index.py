"""llmkit.Collection, Bm25Index and Retriever from Python: numpy in without copies, filters,
deletes, persistence, errors; and the BEIR SciFact quality figures (skipped without ../shared)."""

import json
import math
import os
import random

import numpy as np
import pytest

import llmkit

SHARED = os.environ.get("LLMKIT_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared"))
SCIFACT = os.path.join(SHARED, "data", "scifact")


def clustered(n, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((8, dim), dtype=np.float32)
    x = centers[rng.integers(0, 8, n)] + 0.3 * rng.standard_normal((n, dim), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


@pytest.mark.parametrize("index", ["flat", "hnsw", "ivf"])
def test_add_search_filter_delete_save_load(tmp_path, index):
    vectors = clustered(2000, 32, 1)
    ids = [f"d{i}" for i in range(2000)]
    metas = [{"year": 2000 + i % 20, "kind": "even" if i % 2 == 0 else "odd"} for i in range(2000)]
    col = llmkit.Collection(dim=32, metric="cosine", index=index, ivf_nlist=16, ivf_nprobe=4)
    col.add(ids, vectors, texts=[f"text {i}" for i in range(2000)], metadatas=metas)
    assert len(col) == 2000 and "d5" in col

    hits = col.search(vectors[7], k=5)
    assert hits[0].id == "d7" and hits[0].text == "text 7"
    assert hits[0].metadata == metas[7]
    assert abs(hits[0].score - 1.0) < 1e-4

    # Filtered: k hits whenever k match, all matching.
    where = {"$and": [{"year": {"$gte": 2010}}, {"kind": "even"}]}
    hits = col.search(vectors[0], k=50, where=where)
    assert len(hits) == 50
    assert all(h.metadata["year"] >= 2010 and h.metadata["kind"] == "even" for h in hits)
    assert len(col.search(vectors[0], k=500, where={"year": 2003})) == 100

    # Batch: one list per row, same as single searches.
    batch = col.search(vectors[:6], k=3)
    assert [b[0].id for b in batch] == [f"d{i}" for i in range(6)]

    assert col.delete(["d7", "missing"]) == 1
    assert all(h.id != "d7" for h in col.search(vectors[7], k=10))
    col.upsert(["d8"], vectors[9:10], texts=["moved"])
    assert col.get("d8")["text"] == "moved"
    assert col.delete_where({"year": 2019}) == 100

    col.save(str(tmp_path / "idx"))
    loaded = llmkit.Collection.load(str(tmp_path / "idx"))
    assert len(loaded) == len(col) and loaded.index == index
    assert [h.id for h in loaded.search(vectors[3], k=10)] == [h.id for h in col.search(vectors[3], k=10)]


def test_numpy_layouts_and_errors(tmp_path):
    col = llmkit.Collection(dim=4, metric="l2")
    base = np.arange(24, dtype=np.float32).reshape(6, 4)
    col.add([str(i) for i in range(6)], base)
    # Float64 and strided input are converted, results identical.
    assert col.search(base[2].astype(np.float64), k=1)[0].id == "2"
    assert col.search(np.asfortranarray(base)[1], k=1)[0].id == "1"
    assert col.search(base[2], k=1)[0].score == pytest.approx(0.0)
    with pytest.raises(llmkit.InvalidArgumentError):
        col.add(["x"], np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(llmkit.AlreadyExistsError):
        col.add(["1"], base[:1])
    with pytest.raises(llmkit.InvalidArgumentError):
        col.search(base[0], k=3, where={"a": {"$gtx": 1}})
    with pytest.raises(llmkit.InvalidArgumentError):
        col.add(["nan"], np.full((1, 4), np.nan, dtype=np.float32))
    with pytest.raises(llmkit.NotFoundError):
        col.get("nope")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.Collection(dim=4, metric="manhattan")
    with pytest.raises(llmkit.NotFoundError):
        llmkit.Collection.load(str(tmp_path / "none"))
    col.save(str(tmp_path / "c"))
    manifest = tmp_path / "c" / "MANIFEST"
    text = manifest.read_text()
    vectors_file = next(p for p in (tmp_path / "c").iterdir() if p.name.startswith("vectors-"))
    vectors_file.write_bytes(vectors_file.read_bytes()[:-3])
    with pytest.raises(llmkit.DataLossError, match=vectors_file.name):
        llmkit.Collection.load(str(tmp_path / "c"))
    assert "crc32c" in text


def test_bm25_and_retriever():
    bm = llmkit.Bm25Index()
    bm.add(["a", "b", "c"], ["Connecting networks", "the cat sat", "network connections everywhere"])
    assert bm.analyze("The Connections") == ["connect"]
    hits = bm.search("connected network", k=2)
    assert {h.id for h in hits} == {"a", "c"} and len(bm) == 3
    assert bm.delete(["a"]) == 1
    assert [h.id for h in bm.search("connected network")] == ["c"]

    col = llmkit.Collection(dim=2, metric="ip")
    col.add(["a", "b", "c"], np.array([[1, 0], [0.5, 0.5], [0, 1]], dtype=np.float32),
            texts=["Connecting networks", "the cat sat", "network connections everywhere"],
            metadatas=[{"lang": "en"}, {"lang": "en"}, {"lang": "fr"}])
    r = llmkit.Retriever(col, bm, mode="hybrid")
    hits = r.search(text="network", vector=np.array([1, 0], dtype=np.float32), k=3)
    assert hits[0].id in {"a", "c"} and hits[0].text
    filtered = r.search(text="network", vector=np.array([0, 1], dtype=np.float32), k=3, where={"lang": "en"})
    assert all(h.metadata["lang"] == "en" for h in filtered)
    rrf = llmkit.Retriever(col, bm, mode="hybrid", fusion="rrf", rrf_k=60)
    for h in rrf.search(text="network", vector=np.array([1, 0], dtype=np.float32), k=3):
        expected = (1 / (60 + h.vector_rank) if h.vector_rank else 0) + (1 / (60 + h.lexical_rank) if h.lexical_rank else 0)
        assert h.score == pytest.approx(expected)
    with pytest.raises(llmkit.InvalidArgumentError):
        r.search(text="network", k=3)  # Hybrid needs a vector.
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.Retriever(col, bm, mode="fuzzy")


def ndcg10(ranked, relevant):
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    return dcg / ideal


@pytest.mark.skipif(not os.path.exists(os.path.join(SCIFACT, "corpus.jsonl")),
                    reason="BEIR SciFact not found (../shared/data/scifact)")
def test_scifact_quality():
    corpus = {d["_id"]: d for d in map(json.loads, open(os.path.join(SCIFACT, "corpus.jsonl"), encoding="utf-8"))}
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(os.path.join(SCIFACT, "queries.jsonl"), encoding="utf-8"))}
    qrels = {}
    for line in open(os.path.join(SCIFACT, "qrels", "test.tsv"), encoding="utf-8").readlines()[1:]:
        q, c, s = line.split("\t")
        qrels.setdefault(q, {})[c] = int(s)
    doc_ids = open(os.path.join(SCIFACT, "corpus_minilm_pca128.ids")).read().split()
    query_ids = open(os.path.join(SCIFACT, "queries_minilm_pca128.ids")).read().split()
    doc_vectors = np.load(os.path.join(SCIFACT, "corpus_minilm_pca128.npy"))
    query_vectors = np.load(os.path.join(SCIFACT, "queries_minilm_pca128.npy"))
    texts = [(corpus[i]["title"] + " " + corpus[i]["text"]).strip() for i in doc_ids]
    col = llmkit.Collection(dim=128, metric="ip")
    col.add(doc_ids, doc_vectors, texts=texts)
    bm = llmkit.Bm25Index()
    bm.add(doc_ids, texts)
    row = {q: i for i, q in enumerate(query_ids)}
    scores = {}
    for mode, options in [("vector", {"mode": "vector"}), ("bm25", {"mode": "lexical"}),
                          ("rsf", {}), ("rrf", {"fusion": "rrf"})]:
        r = llmkit.Retriever(col, bm, **options)
        total = 0.0
        for q, relevant in qrels.items():
            hits = r.search(text=queries[q], vector=query_vectors[row[q]], k=10)
            total += ndcg10([h.id for h in hits], relevant)
        scores[mode] = total / len(qrels)
    assert abs(scores["vector"] - 0.6104) <= 0.001, scores
    assert scores["bm25"] >= 0.66, scores
    best = max(scores["vector"], scores["bm25"])
    assert scores["rsf"] >= best + 0.02, scores
    assert scores["rrf"] > best, scores


def test_names_match_cpp_and_old_spellings_warn():
    """One name for one thing: Python uses the C++ names; the old Python spellings still work for
    one release and warn."""
    assert llmkit.Bm25Index.__name__ == "Bm25Index" and llmkit.SearchHit.__name__ == "SearchHit"
    assert llmkit.PromptVersion.__name__ == "PromptVersion"
    assert llmkit.IngestProgress.__name__ == "IngestProgress"
    for old, new in [("BM25Index", "Bm25Index"), ("BM25Hit", "Bm25Hit"), ("Hit", "SearchHit"),
                     ("Prompt", "PromptVersion"), ("IngestStats", "IngestProgress"),
                     ("Passage", "RagPassage"), ("Answer", "RagAnswer")]:
        with pytest.warns(DeprecationWarning, match=new):
            assert getattr(llmkit, old) is getattr(llmkit, new)
    with pytest.raises(AttributeError):
        llmkit.NoSuchThing
    with pytest.warns(DeprecationWarning, match="ingest_directory"):
        with pytest.raises(llmkit.NotFoundError):
            llmkit.RagPipeline().ingest_dir("/nonexistent/llmkit/none")


def test_every_stored_value_loads_again(tmp_path):
    # NaN and infinities have no JSON text: refused at add (naming the key), never written.
    col = llmkit.Collection(dim=2)
    vec = np.ones((1, 2), dtype=np.float32)
    for bad, pointer in (({"x": float("nan")}, "/x"), ({"a": [1, {"b/c": float("inf")}]}, "/a/1/b~1c")):
        with pytest.raises(llmkit.InvalidArgumentError, match=f"number at {pointer} is not finite"):
            col.add(["d"], vec, metadatas=[bad])
    rag = llmkit.RagPipeline()
    with pytest.raises(llmkit.InvalidArgumentError, match="not finite"):
        rag.ingest([("d", "text", {"score": float("-inf")})])
    # Property: whatever add accepts comes back from save + load the same, byte for byte.
    rng = random.Random(7)
    atoms = [0, -1, 2**63 - 1, -(2**63), 0.1, -0.0, 1e308, 5e-324, 1.5, True, False, None, "", "é\u2028😀",
             "\x00\x1f\"\\/", "a" * 300]

    def value(depth):
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return rng.choice(atoms)
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(["k", "é", "a/b", "~", "", "x" * 40]) + str(i): value(depth + 1)
                for i in range(rng.randint(0, 4))}

    metas = [{f"f{j}": value(0) for j in range(rng.randint(0, 5))} for _ in range(200)]
    ids = [f"id{i}" for i in range(200)]
    col = llmkit.Collection(dim=2)
    col.add(ids, np.ones((200, 2), dtype=np.float32), metadatas=metas)
    col.save(str(tmp_path / "c"))
    loaded = llmkit.Collection.load(str(tmp_path / "c"))
    for i, meta in zip(ids, metas):
        assert llmkit.json_dumps(loaded.get(i)["metadata"]) == llmkit.json_dumps(meta)


def random_text(rng, n):
    """Every kind of code point UTF-8 can hold: ASCII, controls (NUL included), BMP, astral."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            out.append(chr(rng.randint(0x20, 0x7E)))
        elif r < 0.7:
            out.append(chr(rng.randint(0, 0x1F)))
        elif r < 0.85:
            out.append(chr(rng.randint(0xA0, 0xD7FF)))
        elif r < 0.95:
            out.append(chr(rng.randint(0xE000, 0xFFFD)))
        else:
            out.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(out)


def random_value(rng, depth=0):
    """JSON values at their edges: int64 extremes, -0.0, subnormals, the largest double, nesting."""
    r = rng.random()
    if depth < 4 and r < 0.15:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 4 and r < 0.3:
        return {random_text(rng, rng.randint(0, 6)): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if r < 0.45:
        return rng.choice([0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1, rng.randint(-(2**63), 2**63 - 1)])
    if r < 0.6:
        return rng.choice([0.0, -0.0, 5e-324, 1.7976931348623157e308, -1e-300, 0.1, 1 / 3,
                           rng.uniform(-1e10, 1e10), 1e16, 1e-7])
    if r < 0.7:
        return rng.choice([True, False, None])
    return random_text(rng, rng.randint(0, 20))


@pytest.mark.parametrize("float16", [False, True])
def test_whatever_add_accepts_survives_save_and_load_exactly(tmp_path, float16):
    # Property: for random ids, texts and metadata at the edges of what JSON and UTF-8 hold,
    # get() after save and load returns exactly what it returned before (repr: -0.0 stays -0.0,
    # 2**63-1 stays an int), vectors bit for bit as stored.
    for seed in range(10):
        rng = random.Random(seed)
        collection = llmkit.Collection(8, float16=float16)
        ids = sorted({random_text(rng, rng.randint(1, 12)) for _ in range(50)})
        vectors = np.random.default_rng(seed).standard_normal((len(ids), 8)).astype(np.float32)
        texts = [random_text(rng, rng.randint(0, 80)) for _ in ids]
        metadatas = [{random_text(rng, rng.randint(0, 8)): random_value(rng) for _ in range(rng.randint(0, 5))}
                     for _ in ids]
        collection.add(ids, vectors, texts, metadatas)
        before = {i: collection.get(i) for i in ids}
        folder = tmp_path / f"{seed}-{float16}"
        collection.save(str(folder))
        loaded = llmkit.Collection.load(str(folder))
        assert len(loaded) == len(ids)
        for i in ids:
            got = loaded.get(i)
            assert repr(got["text"]) == repr(before[i]["text"])
            assert repr(got["metadata"]) == repr(before[i]["metadata"])
            assert got["vector"].tobytes() == before[i]["vector"].tobytes()


def test_saved_indexes_open_in_place_and_report_damage(tmp_path):
    """Collection.load and Bm25Index.open map their files: searches match the saved index, the
    first write copies, and a damaged file raises DataLossError (at open, or at verify() and the
    first search when only the checksum, checked in the background, catches it)."""
    vectors = clustered(500, 16, 3)
    ids = [f"d{i}" for i in range(500)]
    col = llmkit.Collection(dim=16, float16=True)
    col.add(ids, vectors, texts=[f"text {i}" for i in range(500)],
            metadatas=[{"i": i} for i in range(500)])
    col.save(str(tmp_path / "col"))
    loaded = llmkit.Collection.load(str(tmp_path / "col"))
    loaded.verify()
    assert [h.id for h in loaded.search(vectors[4], k=5, where={"i": {"$lt": 100}})] == \
        [h.id for h in col.search(vectors[4], k=5, where={"i": {"$lt": 100}})]
    loaded.upsert(["d4"], vectors[5:6], texts=["moved"])
    assert loaded.get("d4")["text"] == "moved"
    assert llmkit.Collection.load(str(tmp_path / "col")).get("d4")["text"] == "text 4"

    bm = llmkit.Bm25Index(k1=1.1, stemming=False)
    bm.add(ids, [f"text number {i} {'even' if i % 2 == 0 else 'odd'}" for i in range(500)])
    path = str(tmp_path / "lexical.bm25")
    bm.save(path)
    opened = llmkit.Bm25Index.open(path)
    opened.verify()
    assert len(opened) == 500 and "d7" in opened
    assert [(h.id, h.score) for h in opened.search("odd number 7", k=5)] == \
        [(h.id, h.score) for h in bm.search("odd number 7", k=5)]
    opened.upsert(["d7"], ["even now"])
    assert opened.search("now", k=1)[0].id == "d7"

    vectors_file = next(p for p in (tmp_path / "col").iterdir() if p.name.startswith("vectors-"))
    raw = bytearray(vectors_file.read_bytes())
    raw[-3] ^= 0x10
    vectors_file.write_bytes(bytes(raw))
    damaged = llmkit.Collection.load(str(tmp_path / "col"))
    with pytest.raises(llmkit.DataLossError, match="checksum"):
        damaged.verify()
    with pytest.raises(llmkit.DataLossError):
        damaged.search(vectors[0], k=3)
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0x01
    open(path, "wb").write(bytes(raw))
    with pytest.raises(llmkit.DataLossError):
        broken = llmkit.Bm25Index.open(path)
        broken.search("odd", k=3)
    with pytest.raises(llmkit.NotFoundError):
        llmkit.Bm25Index.open(str(tmp_path / "absent.bm25"))
