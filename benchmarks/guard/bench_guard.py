#!/usr/bin/env python3
"""make bench-guard: the hot paths measured against their floors and peers in one run, failing
on a regression. Every figure is a ratio of two measurements taken in this run, each the best of
3 (9 for chunking, 5 for tokenizing; a noisy machine slows both sides; a check that fails is measured up to
twice more before it fails).

  exact search      100k x 384 float32, one query: within 1.6x of the memory-bandwidth floor
                    (BM_IndexMemoryFloor) and at least 2x faster than Debian FAISS IndexFlatIP
                    (Google Benchmark index_benchmark, C++)
  HNSW              QPS at recall@10 >= 0.95 at least 1.1x hnswlib's at the same recall: each
                    side at the lowest ef that reaches the recall (20k x 384, smaller than the
                    100k of benchmarks/compare/index to keep the guard near 3 minutes; one
                    thread, single queries from Python), both graphs with M=16 (32 links per
                    node on level 0, 16 above: FAISS's M and hnswlib's M mean the same degrees)
  filtered search   10% and 0.1% selective metadata filters return k hits and stay within 3x of
                    the unfiltered exact search (100k x 384, from Python)
  BM25              top-10 on BEIR SciFact at least 50x SQLite FTS5 bm25() (from Python;
                    skipped with a message when ../shared is absent)
  chunking          RecursiveCharacterSplitter 1000/200 from Python at least 8x LangChain.js
                    (the Python docs corpus, 11 MB)
  tokenizing        cl100k_base encode_ordinary from Python at least 8x npm tiktoken (same corpus)
  JSON Schema       JsonSchema.IsValid on parsed instances at least 0.75x ajv 8's validations per
                    second in the worst of benchmarks/compare/schemas' six cases (a floor
                    against regressions; that script holds the goal of >= 1x, met at 1.06-1.45x)

Each run appends one JSON record (figures, limits, commit, date, machine) to
benchmarks/guard/results.jsonl; scripts/bench-charts.py draws docs/benchmarks/*.png from it.

    /usr/bin/python3 benchmarks/guard/bench_guard.py [--build build/release] [--only NAME]
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import workloads  # noqa: E402  (benchmarks/workloads.py)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def best_of(fn, rounds=3, calls=1):
    """The best (lowest) mean seconds per call over `rounds` rounds of `calls` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


class Guard:
    def __init__(self, build):
        self.build = pathlib.Path(build)
        self.figures = {}
        self.results = []  # (name, value, op, limit, ok, note)

    def check(self, name, measure, op, limit, note="", enforced=True):
        """Runs `measure` (returns (value, figures)), up to twice more if the check fails. A check that
        is not enforced is measured and recorded but does not fail the run (a target the code
        does not meet yet; docs/benchmarks.md says which and why)."""
        for attempt in range(3):
            value, figures = measure()
            ok = value <= limit if op == "<=" else value >= limit
            if ok or not enforced:
                break
            print(f"  {name}: {value:.2f} not {op} {limit} on attempt {attempt + 1} "
                  f"{json.dumps(figures)}", flush=True)
        self.figures[name] = {"value": value, "op": op, "limit": limit, "enforced": enforced,
                              **figures}
        self.results.append((name, value, op, limit, ok or not enforced, note))
        verdict = "ok" if ok else ("FAILED" if enforced else "BELOW TARGET (not enforced yet)")
        print(f"  {name:<34} {value:8.2f}  ({op} {limit}) {verdict}  {note}", flush=True)

    def skip(self, name, why):
        self.figures[name] = {"skipped": why}
        self.results.append((name, None, "", None, True, "skipped: " + why))
        print(f"  {name:<34} skipped: {why}", flush=True)

    # -- exact search (C++ Google Benchmark) ------------------------------------------------

    def exact_search(self):
        tool = self.build / "benchmarks" / "index_benchmark"
        if not tool.exists():
            sys.exit(f"{tool} missing: the release preset builds the benchmarks")
        out = subprocess.run(
            [str(tool), "--benchmark_filter=^(BM_IndexMemoryFloor|BM_IndexExactSearch|BM_FaissFlatIP)$",
             "--benchmark_repetitions=3", "--benchmark_format=json"],
            check=True, capture_output=True, text=True,
            env=dict(os.environ, OMP_NUM_THREADS="1")).stdout
        best = {}
        for b in json.loads(out)["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            name = b["run_name"] if "run_name" in b else b["name"]
            best[name] = min(best.get(name, float("inf")), b["real_time"])
        floor, ours, faiss = (best["BM_IndexMemoryFloor"], best["BM_IndexExactSearch"],
                              best["BM_FaissFlatIP"])
        return floor, ours, faiss

    # -- Python-side measurements --------------------------------------------------------------

    def hnsw_vs_hnswlib(self, rows=20_000, dim=384, queries=200, k=10):
        import hnswlib
        import llmkit
        import numpy as np
        data = workloads.low_rank(rows + queries, dim, seed=11)
        base, q = data[:rows], data[rows:]
        truth = np.argsort(-(q @ base.T), axis=1)[:, :k]
        ids = [str(i) for i in range(rows)]
        col = llmkit.Collection(dim=dim, metric="ip", index="hnsw", hnsw_m=16,
                                hnsw_ef_construction=100)
        col.add(ids, base)
        hl = hnswlib.Index(space="ip", dim=dim)
        hl.init_index(max_elements=rows, M=16, ef_construction=100, random_seed=1)
        hl.add_items(base, np.arange(rows))
        hl.set_num_threads(1)

        def recall(found):
            return sum(len(set(f) & set(truth[i].tolist())) for i, f in enumerate(found)) / (queries * k)

        def lowest_ef(recall_at):
            """The smallest beam (ef) whose recall@k reaches 0.95: the fastest setting that
            meets the recall (binary search; recall grows with ef)."""
            low, high = 10, 1024
            if recall_at(high) < 0.95:
                return None
            while low < high:
                mid = (low + high) // 2
                if recall_at(mid) >= 0.95:
                    high = mid
                else:
                    low = mid + 1
            return low

        def hnswlib_recall(ef):
            hl.set_ef(ef)
            return recall([hl.knn_query(q[i], k=k)[0][0].tolist() for i in range(queries)])

        def llmkit_recall(ef):
            col.set_search_effort(ef)  # FAISS 1.7.3: the structure's ef bounds a per-call one.
            return recall([[int(h.id) for h in col.search(q[i], k=k)] for i in range(queries)])

        ef_h, ef_l = lowest_ef(hnswlib_recall), lowest_ef(llmkit_recall)
        if ef_h is None or ef_l is None:
            return 0.0, {"error": "recall 0.95 not reached", "rows": rows}
        hl.set_ef(ef_h)
        qps_h = 1 / best_of(lambda i: hl.knn_query(q[i % queries], k=k), calls=queries)
        col.set_search_effort(ef_l)
        qps_l = 1 / best_of(lambda i: col.search(q[i % queries], k=k), calls=queries)
        return qps_l / qps_h, {"llmkit_qps": round(qps_l), "llmkit_ef": ef_l,
                               "hnswlib_qps": round(qps_h), "hnswlib_ef": ef_h, "rows": rows}

    def filtered_search(self, rows=100_000, dim=384, k=10):
        import llmkit
        data = workloads.low_rank(rows + 20, dim, seed=13)
        base, q = data[:rows], data[rows:]
        col = llmkit.Collection(dim=dim, metric="ip", index="flat")
        col.add([str(i) for i in range(rows)], base,
                metadatas=[{"tenth": i % 10, "thousandth": i % 1000} for i in range(rows)])
        wheres = {"10%": {"tenth": 3}, "0.1%": {"thousandth": 7}}
        for where in wheres.values():
            for i in range(len(q)):
                hits = col.search(q[i], k=k, where=where)
                if len(hits) != k:
                    return 99.0, {"error": f"{len(hits)} hits for {where}, wanted {k}"}
        plain = best_of(lambda i: col.search(q[i % len(q)], k=k), calls=len(q))
        figures = {"unfiltered_ms": round(plain * 1e3, 3)}
        worst = 0.0
        for label, where in wheres.items():
            t = best_of(lambda i: col.search(q[i % len(q)], k=k, where=where), calls=len(q))
            figures[f"{label}_ms"] = round(t * 1e3, 3)
            worst = max(worst, t / plain)
        return worst, figures

    def bm25_vs_fts5(self, data):
        import llmkit
        ids, texts, queries = workloads.scifact(data)
        index = llmkit.Bm25Index()
        index.add(ids, texts)
        fts = workloads.Fts5(ids, texts)
        fts_queries = [fts.query(q) for q in queries]
        n = len(queries)
        t_fts = best_of(lambda i: fts.search(fts_queries[i], 10), calls=n)
        t_ours = best_of(lambda i: index.search(queries[i], k=10), calls=n)
        return t_fts / t_ours, {"fts5_qps": round(1 / t_fts), "llmkit_qps": round(1 / t_ours)}

    def corpus(self):
        path = self.build / "corpus.txt"
        if not path.exists():
            subprocess.run(["bash", str(ROOT / "scripts" / "fetch-corpus.sh"), str(path)],
                           check=True, stdout=subprocess.DEVNULL)
        return path

    def node(self, script, job, out_file=False):
        peers = os.environ.get("LLMKIT_PEERS_DIR", str(ROOT / ".cache" / "peers"))
        with tempfile.TemporaryDirectory() as tmp:
            job_path, out_path = pathlib.Path(tmp, "job.json"), pathlib.Path(tmp, "out.json")
            job_path.write_text(json.dumps(job))
            args = ["node", str(script), str(job_path)] + ([str(out_path)] if out_file else [])
            out = subprocess.run(args, check=True, capture_output=True, text=True,
                                 env=dict(os.environ, LLMKIT_PEERS_DIR=peers)).stdout
            return json.loads(out_path.read_text() if out_file else out)

    def chunking(self):
        import llmkit
        corpus = self.corpus()
        text = corpus.read_text(encoding="utf-8")
        reference = self.node(ROOT / "tests" / "chunker" / "langchain_oracle.mjs",
                              [{"text_file": str(corpus), "chunkSize": 1000, "chunkOverlap": 200,
                                "repeats": 9, "counts_only": True}], out_file=True)[0]
        splitter = llmkit.RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=200)
        chunks = splitter.split_text(text)
        if len(chunks) != reference["chunks"]:
            return 0.0, {"error": f"{len(chunks)} chunks, LangChain.js {reference['chunks']}"}
        # Best of 9 on both sides: one 20 ms split is at the mercy of a scheduling hiccup, and
        # node's best settles only after a few runs (ratios of single runs spread 7.5-16x; best
        # of 5 still ranged 8.5-10.5 between runs here).
        ours = best_of(lambda i: splitter.split_text(text), rounds=9)
        size = corpus.stat().st_size / 1e6
        return reference["seconds"] / ours, {"langchain_mb_s": round(size / reference["seconds"], 1),
                                             "llmkit_python_mb_s": round(size / ours, 1)}

    def tokenizing(self):
        import llmkit
        corpus = self.corpus()
        text = corpus.read_text(encoding="utf-8")
        ranks = os.environ.get("LLMKIT_TEST_RANKS_DIR", str(ROOT / ".cache" / "tiktoken"))
        enc = llmkit.get_encoding("cl100k_base", cache_dir=ranks)
        peer = self.node(ROOT / "tests" / "tokenizer" / "tiktoken_oracle.mjs",
                         {"library": "tiktoken", "encoding": "cl100k_base",
                          "text_files": [str(corpus)], "repeats": 5})
        tokens = enc.encode_ordinary(text)
        if len(tokens) != peer["tokens"]:
            return 0.0, {"error": f"{len(tokens)} tokens, npm tiktoken {peer['tokens']}"}
        # Best of 5 on both sides: one slow round of a noisy neighbour must not decide the ratio.
        ours = best_of(lambda i: enc.encode_ordinary(text), rounds=5)
        size = corpus.stat().st_size / 1e6
        return peer["seconds"] / ours, {"tiktoken_mb_s": round(size / peer["seconds"], 1),
                                        "llmkit_python_mb_s": round(size / ours, 1)}

    def json_schema(self):
        """The worst ratio of llmkit's to ajv's validations per second, instance parsed, over the
        six cases of benchmarks/compare/schemas (one process per side, as that script runs)."""
        import importlib.machinery
        import importlib.util
        loader = importlib.machinery.SourceFileLoader(
            "compare_schemas", str(ROOT / "benchmarks" / "compare" / "schemas"))  # No .py suffix.
        compare = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
        loader.exec_module(compare)
        ours, theirs = compare.run_both(self.build, compare.build_cases())
        ratios = {}
        for name, o in ours.items():
            t = theirs[name]
            if not (o["valid_ok"] and o["invalid_ok"] and t["valid_ok"] and t["invalid_ok"]):
                return 0.0, {"error": f"{name}: llmkit and ajv disagree on validity"}
            for kind in ("valid", "invalid"):
                ratios[f"{name} {kind}"] = round(o[f"{kind}_per_s"] / t[f"{kind}_per_s"], 2)
        return min(ratios.values()), {"ratios": ratios}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "guard" / "results.jsonl"))
    parser.add_argument("--shared", default=os.environ.get("LLMKIT_SHARED_DIR")
                        or str(ROOT.parent / "shared"))
    parser.add_argument("--only", action="append", help="run only these checks (by name prefix)")
    args = parser.parse_args()
    sys.path.insert(0, str(pathlib.Path(args.build) / "python"))
    guard = Guard(args.build)
    wanted = lambda name: not args.only or any(name.startswith(o) for o in args.only)  # noqa: E731
    started = time.monotonic()
    print("bench-guard: ratios measured in this run, each the best of 3 (9 for chunking, 5 for "
          "tokenizing)", flush=True)

    if wanted("exact"):
        runs = {}  # One benchmark process gives both exact-search ratios.

        def floor_ratio():
            runs["last"] = guard.exact_search()
            floor, ours, _ = runs["last"]
            return ours / floor, {"floor_ms": round(floor, 3), "llmkit_ms": round(ours, 3)}

        def faiss_ratio():
            _, ours, faiss = runs.pop("last", None) or guard.exact_search()
            return faiss / ours, {"faiss_ms": round(faiss, 3), "llmkit_ms": round(ours, 3)}

        guard.check("exact search / memory floor", floor_ratio, "<=", 1.6, "100k x 384, C++")
        guard.check("exact search vs FAISS IndexFlatIP", faiss_ratio, ">=", 2.0, "100k x 384, C++")
    if wanted("hnsw"):
        guard.check("hnsw QPS vs hnswlib at recall 0.95", guard.hnsw_vs_hnswlib, ">=", 1.1,
                    "20k x 384, M=16 both, Python")
    if wanted("filtered"):
        guard.check("filtered search / unfiltered", guard.filtered_search, "<=", 3.0,
                    "10% and 0.1%, k hits, Python")
    if wanted("bm25"):
        data = pathlib.Path(args.shared) / "data" / "scifact"
        if (data / "corpus.jsonl").exists():
            guard.check("bm25 vs SQLite FTS5", lambda: guard.bm25_vs_fts5(data), ">=", 50.0,
                        "SciFact top-10, Python")
        else:
            guard.skip("bm25 vs SQLite FTS5", f"SciFact not found in {data}")
    if wanted("chunking"):
        guard.check("chunking vs LangChain.js", guard.chunking, ">=", 8.0, "1000/200, Python")
    if wanted("tokenizing"):
        guard.check("tokenizing vs npm tiktoken", guard.tokenizing, ">=", 8.0,
                    "cl100k encode_ordinary, Python")
    if wanted("json"):
        guard.check("JSON Schema vs ajv (worst of 6)", guard.json_schema, ">=", 0.75,
                    "IsValid, instance parsed, C++")

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    record = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": commit, "machine": {"host": socket.gethostname(), "cpu": cpu,
                                            "cores": os.cpu_count()},
              "seconds": round(time.monotonic() - started, 1), "checks": guard.figures}
    results = pathlib.Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as out:
        out.write(json.dumps(record) + "\n")
    failed = [r for r in guard.results if not r[4]]
    watched = [n for n, c in guard.figures.items() if c.get("enforced") is False]
    print(f"bench-guard: {len(guard.results) - len(failed)}/{len(guard.results)} checks hold "
          f"({len(watched)} recorded but not enforced yet: {', '.join(watched) or 'none'}) "
          f"in {record['seconds']} s; record appended to {results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
