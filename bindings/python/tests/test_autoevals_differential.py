"""Differential test of the deterministic scorers against npm autoevals 0.3 (the oracle): a
generated set of 3,000 output/expected pairs — ASCII, accented and astral text, JSON text,
numbers, booleans, null, nested objects and lists, near misses — scored by autoevals'
Levenshtein, ExactMatch and JSONDiff (autoevals_oracle.mjs) and by llmkit's levenshtein_ratio,
exact_match and json_diff, which must agree to 1e-9 on every pair."""

import json
import os
import random
import subprocess

import pytest

import llmkit
from conftest import PEERS, SOURCE_DIR, missing_peer

ORACLE = SOURCE_DIR / "bindings" / "python" / "tests" / "autoevals_oracle.mjs"
ALPHABET = "abcxyz ABC.,-_01é中😀\n\""
KEYS = ["a", "b", "name", "age", "Extra", "é", "mapping", "list", "x y"]


def text(rng, n=None):
    n = rng.randrange(0, 12) if n is None else n
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def number(rng):
    return rng.choice([0, 1, -1, 2, 7, 100, 0.5, -2.25, 1e-7, 3e21, 123456789, 0.1 + 0.2,
                       rng.randrange(-50, 50), rng.uniform(-1000, 1000)])


def value(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return text(rng)
    if kind == 1:
        return number(rng)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return json.dumps(value(rng, depth + 1))  # JSON text in a string.
    if kind == 5:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {k: value(rng, depth + 1) for k in rng.sample(KEYS, rng.randrange(4))}


def mutate(rng, v, depth=0):
    """A near miss of `v`: one edit somewhere, or `v` itself."""
    if rng.random() < 0.3:
        return v
    if isinstance(v, str):
        if not v or rng.random() < 0.2:
            return v + rng.choice(ALPHABET)
        i = rng.randrange(len(v))
        return v[:i] + rng.choice(ALPHABET) + v[i + 1:]
    if isinstance(v, list) and v and depth < 4:
        out = list(v)
        i = rng.randrange(len(out))
        out[i] = mutate(rng, out[i], depth + 1)
        return out
    if isinstance(v, dict) and v and depth < 4:
        out = dict(v)
        k = rng.choice(list(out))
        if rng.random() < 0.3:
            del out[k]
        else:
            out[k] = mutate(rng, out[k], depth + 1)
        return out
    return value(rng, depth)


def pairs(n):
    rng = random.Random(20261204)
    out = []
    for i in range(n):
        a = value(rng) if i % 3 else text(rng, rng.randrange(0, 30))
        b = mutate(rng, a)
        if rng.random() < 0.5:
            a, b = b, a
        out.append({"output": a, "expected": b})
    return out


def test_scorers_agree_with_autoevals(tmp_path):
    if not (PEERS / "node_modules" / "autoevals").exists():
        missing_peer(f"autoevals is not installed in {PEERS} (scripts/install-test-peers.sh)")
    cases = pairs(3000)
    data = tmp_path / "pairs.json"
    data.write_text(json.dumps(cases))
    done = subprocess.run(["node", str(ORACLE), str(data)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, LLMKIT_PEERS_DIR=str(PEERS)))
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    assert len(expected) == len(cases)
    mismatches = []
    kinds = {"levenshtein": 0, "exact": 0, "json_diff": 0}
    for case, want in zip(cases, expected):
        a, b = case["output"], case["expected"]
        got = {"exact": llmkit.exact_match(a, b), "json_diff": llmkit.json_diff(a, b)}
        if "levenshtein" in want:
            got["levenshtein"] = llmkit.levenshtein_ratio(a, b)
        for name, score in want.items():
            kinds[name] += 1
            if score is None or got[name] != pytest.approx(score, abs=1e-9):
                mismatches.append((name, a, b, score, got[name]))
    assert not mismatches, f"{len(mismatches)} disagreements, first: {mismatches[:3]}"
    assert kinds["levenshtein"] > 1000 and kinds["exact"] == 3000 and kinds["json_diff"] == 3000
    # The set is not trivial: both outcomes of ExactMatch and a spread of JSONDiff scores.
    assert 0 < sum(w["exact"] for w in expected) < 3000
    assert len({round(w["json_diff"], 3) for w in expected}) > 50
