"""Workloads shared by the comparison scripts (benchmarks/compare/) and the guard
(benchmarks/guard/bench_guard.py), so both measure the same data against the same peer setup.

- low_rank: vectors with the structure real embeddings have (uniform noise defeats every graph
  index).
- scifact / Fts5: BEIR SciFact (../shared/data/scifact) and SQLite FTS5 configured as llmkit's
  Bm25Index is (Porter stemming, OR of the query's words, ORDER BY bm25()).
"""

import json
import pathlib
import sqlite3


def low_rank(rows, dim, rank=24, seed=7):
    """`rows` L2-normalized float32 vectors: rank-`rank` Gaussian data plus 5% noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim), dtype=np.float32)
    x = rng.standard_normal((rows, rank), dtype=np.float32) @ basis
    x += 0.05 * rng.standard_normal((rows, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def scifact(folder):
    """(ids, texts, queries) of BEIR SciFact in `folder`: title + abstract per document, the
    claims as queries."""
    folder = pathlib.Path(folder)
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f]
    ids = [d["_id"] for d in corpus]
    texts = [(d["title"] + " " + d["text"]).strip() for d in corpus]
    return ids, texts, queries


class Fts5:
    """An in-memory SQLite FTS5 table over (ids, texts), searched for the top k by bm25()."""

    SQL = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"

    def __init__(self, ids, texts):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO docs VALUES (?, ?)", zip(ids, texts))

    @staticmethod
    def query(text):
        """The FTS5 query for free text: any of its words (quoted), as BM25 scores them."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if w]
        return " OR ".join('"' + w.replace('"', '""') + '"' for w in words) or '""'

    def search(self, query, k=10):
        """Ids of the top `k`; `query` from Fts5.query."""
        return self.db.execute(self.SQL, (query, k)).fetchall()
