"""The hostile-template corpus (hostile_templates.py, 300+ cases), each case in a child process
(hostile_child.py) with an address-space cap: it renders exactly as Jinja2 does or ends in an
llmkit.Error within its 2 s render budget; it never crashes, hangs or grows past its memory
budget (max_memory_bytes 64 MiB)."""

import concurrent.futures
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("jinja2", reason="python3-jinja2 is not installed")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostile_templates  # noqa: E402

# The render's budget is 2 s; the deadline is read every 1024 steps, so allow a little more.
RENDER_SECONDS = 3.0
# Strings the template builds up to the limit and copies of them come on top of the budget.
GROWN_MB = 4 * 64 + 256


def run(index):
    try:
        proc = subprocess.run([sys.executable, os.path.join(HERE, "hostile_child.py"), str(index)],
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"crash": "the child did not finish in 120 s"}
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"crash": f"exit code {proc.returncode}", "stderr": proc.stderr[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reports():
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(run, range(len(hostile_templates.CASES))))


def test_the_corpus_is_large_enough():
    assert len(hostile_templates.CASES) >= 200
    assert len({case[0] for case in hostile_templates.CASES}) == len(hostile_templates.CASES)


@pytest.mark.parametrize("index", range(len(hostile_templates.CASES)),
                         ids=[case[0] for case in hostile_templates.CASES])
def test_hostile_case(reports, index):
    report = reports[index]
    assert "crash" not in report, report
    assert report["llmkit"] in ("rendered", "error"), report
    assert report["seconds"] < RENDER_SECONDS, report
    assert report["grown_mb"] < GROWN_MB, report
    if report["llmkit"] == "rendered":
        assert report["jinja2"] == "same", report
