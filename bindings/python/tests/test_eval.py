"""Evaluation suites from Python and the `llmkit eval prompts` command, against a real HTTP server
on 127.0.0.1 (fake_provider's quiz): suite files, custom assertions, the judge, JSON round trip,
JUnit XML a CI parses, the regression gate catching a prompt change, and the old `llmkit eval`
spelling."""

import json
import os
import pathlib
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

import llmkit
from conftest import SOURCE_DIR
from fake_provider import Provider, both_script, fake_environment

BUILD = pathlib.Path(os.environ.get("LLMKIT_BUILD_DIR", SOURCE_DIR / "build" / "release"))
CLI = BUILD / "cli" / "llmkit"
EXAMPLE = SOURCE_DIR / "examples" / "eval"


@pytest.fixture
def provider(monkeypatch):
    server = Provider(both_script)
    for name, value in fake_environment(server.url).items():
        monkeypatch.setenv(name, value)
    yield server
    server.close()


@pytest.fixture
def suite_dir(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "eval")
    return tmp_path / "eval"


def test_the_example_suite_runs_and_reports(provider, suite_dir):
    suite = llmkit.load_eval_suite(str(suite_dir / "promptfooconfig.yaml"))
    assert suite.description == "Capital-city quiz"
    assert suite.prompts == ["prompts/quiz.txt"]
    assert suite.providers == ["openai:chat:gpt-4o-mini"]
    assert suite.tests == ["France", "Japan", "Kenya and Peru [country=Kenya]",
                           "Kenya and Peru [country=Peru]"]
    report = llmkit.run_eval(suite, repeat=2, concurrency=4)
    assert report.all_passed
    assert len(report.cases) == 8
    rate = report.rate(0, 0)
    assert (rate.passed, rate.runs) == (8, 8)
    assert rate.low == pytest.approx(0.6756, abs=1e-4)  # Wilson, 8/8.
    first = report.cases[0]
    assert first["output"] == "The capital of France is Paris."
    assert first["rendered_prompt"].startswith("Quiz: what is the capital of France?")
    # defaultTest's three assertions, then the test's; the value template saw the vars.
    assert [a["type"] for a in first["assertions"]] == ["icontains", "not-contains", "latency", "contains"]
    assert all(a["pass"] for a in first["assertions"])
    sent = [body for path, _, body in provider.requests if path.endswith("/chat/completions")]
    assert len(sent) == 8 and {b["temperature"] for b in sent} == {0} and sent[0]["max_tokens"] == 64
    # JSON round trip and JUnit XML as a CI reads it.
    again = llmkit.EvalReport.from_json(json.dumps(report.to_json()))
    assert again.to_json() == report.to_json()
    root = ET.fromstring(report.junit_xml())
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "0"
    assert [c.get("name") for c in root.iter("testcase")] == suite.tests
    assert "4/4" not in report.table() and "8/8" in report.table()


def test_custom_assertions_and_a_judge(provider, suite_dir):
    config = suite_dir / "promptfooconfig.yaml"
    config.write_text(config.read_text().replace(
        "      - type: contains\n        value: Paris\n",
        "      - type: contains\n        value: Paris\n"
        "      - {type: short, value: 40}\n      - {type: score-only, threshold: 0.9}\n"
        "      - {type: verdict}\n      - {type: broken}\n      - {type: not-short, value: 40}\n"
        "      - {type: llm-rubric, value: Names the capital}\n"))
    seen = []

    def short(output, value, vars):
        seen.append((output, value, vars["country"]))
        return len(output) <= value

    def broken(output, value, vars):
        raise ValueError("no luck")

    report = llmkit.run_eval(llmkit.load_eval_suite(str(config)), assertions={
        "short": short,
        "score-only": lambda output, value, vars: 0.95,
        "verdict": lambda output, value, vars: {"pass": False, "score": 0.25, "reason": "why not"},
        "broken": broken,
    }, judge=llmkit.OpenAIClient(model="gpt-4o"))
    france = {a["type"]: a for a in report.cases[0]["assertions"]}
    assert seen and seen[0] == ("The capital of France is Paris.", 40, "France")
    assert france["short"]["pass"] and not france["not-short"]["pass"]
    assert france["score-only"]["pass"] and france["score-only"]["score"] == 0.95
    assert not france["verdict"]["pass"] and france["verdict"]["reason"] == "why not"
    assert france["broken"]["error"] and "ValueError: no luck" in france["broken"]["reason"]
    # The fake's answer to the judge is not a verdict: an error, never NaN.
    assert france["llm-rubric"]["error"] and france["llm-rubric"]["score"] == 0
    assert not report.cases[0]["pass"]
    judged = [body for path, _, body in provider.requests if body.get("model") == "gpt-4o"]
    assert judged and judged[0]["temperature"] == 0 and judged[0]["seed"] == 0
    with pytest.raises(TypeError, match="not callable"):
        llmkit.run_eval(llmkit.load_eval_suite(str(config)), assertions={"short": 3})


def test_bad_suites_and_options_raise_llmkit_errors(provider, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("prompts: [hi]\nproviders: [openai:chat:gpt-4o-mini]\nscenarios: []\n")
    with pytest.raises(llmkit.InvalidArgumentError, match='"scenarios" is not supported'):
        llmkit.load_eval_suite(str(bad))
    with pytest.raises(llmkit.NotFoundError):
        llmkit.load_eval_suite(str(tmp_path / "missing.yaml"))
    good = tmp_path / "good.yaml"
    good.write_text("prompts: ['Quiz: capital of {{ c }}']\nproviders: [openai:chat:gpt-4o-mini]\n"
                    "tests: [{vars: {c: Peru}, assert: [{type: contains, value: Lima}]}]\n")
    with pytest.raises(llmkit.InvalidArgumentError, match="repeat"):
        llmkit.run_eval(llmkit.load_eval_suite(str(good)), repeat=0)
    made = []

    def make_model(id, config):
        made.append((id, config))
        return llmkit.OpenAIClient(model="gpt-4o-mini")

    report = llmkit.run_eval(llmkit.load_eval_suite(str(good), make_model=make_model))
    assert made == [("openai:chat:gpt-4o-mini", {})] and report.all_passed


def test_scorers_match_autoevals_on_its_own_cases():
    assert llmkit.levenshtein_ratio("abc", "axc") == pytest.approx(2 / 3)
    assert llmkit.json_diff({"a": 1}, {"a": 2}) == pytest.approx(0.66667, abs=1e-4)
    assert llmkit.json_diff('{"a": 1}', ["a", 1]) == pytest.approx(0.5714285714285714)
    r = llmkit.wilson_interval(8, 10)
    assert (r.low, r.high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))


def run_cli(*args):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not CLI.exists(), reason="the llmkit command is not built")
def test_the_gate_catches_a_prompt_change(provider, suite_dir):
    config = str(suite_dir / "promptfooconfig.yaml")
    baseline = suite_dir / "baseline.json"
    junit = suite_dir / "junit.xml"
    done = run_cli("eval", "prompts", config, "--repeat", "3", "--json", str(baseline),
                   "--junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12/12 runs passed" in done.stdout
    assert "100.0% [75.8%-100.0%]" in done.stdout
    assert ET.parse(junit).getroot().get("failures") == "0"
    # Unchanged: the gate passes.
    done = run_cli("eval", "prompts", config, "--baseline", str(baseline), "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no regression" in done.stdout
    # The prompt asks for JSON now: the answers lose "The capital of ...".
    (suite_dir / "promptfooconfig.yaml").write_text(
        (suite_dir / "promptfooconfig.yaml").read_text().replace("prompts/quiz.txt",
                                                                  "prompts/quiz.txt\n    label: x")
        .replace("  - file://prompts/quiz.txt\n    label: x", "  - {id: file://prompts/quiz_json.txt, label: prompts/quiz.txt}"))
    done = run_cli("eval", "prompts", config, "--repeat", "3", "--baseline", str(baseline),
                   "--junit", str(junit))
    assert done.returncode == 1
    assert "regression(s) from" in done.stdout
    assert "France: passed in 3/3 baseline runs, now 0/3" in done.stdout
    assert "pass rate 100.0% -> 0.0% (Fisher exact p = " in done.stdout
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "4"
    failure = next(root.iter("failure"))
    assert failure.get("message") == "0/3 runs passed" and "icontains" in failure.text
    # Usage errors and a bad baseline.
    assert run_cli("eval", "prompts", config, "--repeat", "0").returncode == 2
    (suite_dir / "bad.json").write_text("{}")
    done = run_cli("eval", "prompts", config, "--baseline", str(suite_dir / "bad.json"))
    assert done.returncode == 1 and "not an llmkit eval report" in done.stderr
    assert run_cli("eval", "retrieval", "--help").returncode == 0
    assert run_cli("eval", "--help").returncode == 0
    # The old spelling is still the retrieval evaluation.
    done = run_cli("eval", "--corpus", "x.jsonl", "--queries", "q.jsonl", "--qrels", "r.tsv")
    assert done.returncode == 1 and "x.jsonl" in done.stderr


@pytest.mark.skipif(not CLI.exists(), reason="the llmkit command is not built")
def test_an_unchanged_rerun_is_served_from_the_cache(provider, suite_dir):
    config = str(suite_dir / "promptfooconfig.yaml")
    cache = str(suite_dir / "cache")
    calls = lambda: sum(1 for path, _, _ in provider.requests if path.endswith("/chat/completions"))
    done = run_cli("eval", "prompts", config, "--repeat", "2", "--cache", cache)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8/8 runs passed" in done.stdout and "(0 from the cache)" in done.stdout
    assert calls() == 8  # Each repeat is its own call.
    done = run_cli("eval", "prompts", config, "--repeat", "2", "--cache", cache)
    assert done.returncode == 0 and "(8 from the cache)" in done.stdout
    assert calls() == 8  # The re-run made none.
    assert run_cli("eval", "prompts", config, "--rpm", "-1").returncode == 2


@pytest.mark.skipif(not CLI.exists(), reason="the llmkit command is not built")
def test_rpm_paces_the_concurrent_cases(provider, suite_dir):
    # 16 repeats of the 4 cases on 8 threads under --rpm 60: the bucket holds a minute's 60
    # requests, then refills one a second, so the 64th call starts about 4 s after the first.
    config = str(suite_dir / "promptfooconfig.yaml")
    start = time.monotonic()
    done = run_cli("eval", "prompts", config, "--repeat", "16", "-j", "8", "--rpm", "60")
    took = time.monotonic() - start
    assert done.returncode == 0, done.stdout + done.stderr
    assert "64/64 runs passed" in done.stdout
    assert sum(1 for path, _, _ in provider.requests if path.endswith("/chat/completions")) == 64
    assert took >= 3.5, f"64 calls under --rpm 60 took {took:.2f} s"


@pytest.mark.skipif(not CLI.exists(), reason="the llmkit command is not built")
def test_the_html_report_renders_in_a_real_browser(provider, suite_dir, tmp_path):
    from conftest import PEERS, missing_peer
    chromium = shutil.which("chromium")
    if chromium is None or not (PEERS / "node_modules" / "puppeteer-core").exists():
        missing_peer("chromium (Debian) and puppeteer-core (scripts/install-test-peers.sh) are needed")
    config = suite_dir / "promptfooconfig.yaml"
    config.write_text(config.read_text().replace(
        "  - file://prompts/quiz.txt\n",
        "  - file://prompts/quiz.txt\n  - {id: file://prompts/quiz_json.txt, label: \"quiz <json> & more\"}\n"))
    page = tmp_path / "report.html"
    done = run_cli("eval", "prompts", str(config), "--repeat", "2", "--html", str(page))
    assert done.returncode == 1  # The JSON prompt fails the sentence checks.
    html = page.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "quiz &lt;json&gt; &amp; more" in html  # Labels are escaped.
    shot = tmp_path / "report.png"
    checked = subprocess.run(["node", str(SOURCE_DIR / "bindings" / "python" / "tests" / "html_report_check.mjs"),
                              str(PEERS), str(page), str(shot)],
                             capture_output=True, text=True, timeout=120, env=dict(os.environ, CHROMIUM=chromium))
    assert checked.returncode == 0, checked.stderr
    seen = json.loads(checked.stdout)
    assert seen["errors"] == [] and seen["requests"] == []
    assert seen["title"] == "Capital-city quiz"
    elements = seen["elements"]
    for name in ["verdict", "rates", "rate-chart", "provider-chart", "matrix", "failures"]:
        assert elements[name] and elements[name]["visible"], name
    assert elements["rate_rows"] == 2 and elements["visible_bars"] == 2 and elements["provider_bars"] == 2
    assert elements["diff_rows"] == 4  # Every test: one prompt passes, the other fails.
    assert elements["verdict_text"] == "failures"
    assert elements["rate-chart"]["size"][0] > 500
    # The screenshot is a real PNG of the whole page, not a blank one.
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def rag_judge_script(path, body, headers):
    """The RAG pipeline's model and the judge in one: answers by the question, scripted verdicts."""
    prompt = body["messages"][-1]["content"]

    def answer(text):
        return 200, {}, json.dumps({"id": "c", "model": body.get("model", "m"), "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode(), 0
    if "Break the answer below into its claims" in prompt:
        return answer('{"claims": ["Paris is the capital of France.", "Paris has 40 million people."]}')
    if "whether the context below supports it" in prompt:
        return answer('{"verdicts": [{"statement": "a", "reason": "[1]", "verdict": 1},'
                      ' {"statement": "b", "reason": "no", "verdict": 0}]}')
    if "Rate how directly" in prompt:
        return answer('{"reason": "on point", "score": 0.75}')
    return answer("Paris is the capital of France, with 40 million people [1].")


def test_rag_metrics_with_a_scripted_judge():
    server = Provider(rag_judge_script)
    try:
        model = llmkit.OpenAIClient(model="gpt-4o-mini", base_url=server.url + "/v1", api_key="k")
        rag = llmkit.RagPipeline(chat=model, k=2)
        rag.ingest([{"id": "france", "text": "Paris is the capital of France. It lies on the Seine."},
                    {"id": "italy", "text": "Rome is the capital of Italy. It lies on the Tiber."},
                    {"id": "fruit", "text": "Bananas are a yellow fruit grown in the tropics."}])
        report = llmkit.evaluate_rag(rag, [
            {"question": "What is the capital of France?", "relevant": ["france", "fruit"]},
        ], judge=model, timeout=60)
        q = report["questions"][0]
        assert q["retrieved"][0] == "france"
        assert q["context_precision"] == 1 and q["context_recall"] == 0.5
        assert [c["supported"] for c in q["claims"]] == [True, False]
        assert q["faithfulness"] == 0.5 and q["answer_relevance"] == 0.75
        assert report["faithfulness_count"] == 1
        no_judge = llmkit.evaluate_rag(rag, [{"question": "What is the capital of France?", "relevant": ["france"]}])
        assert no_judge["questions"][0]["faithfulness"] is None and no_judge["context_recall"] == 1
        with pytest.raises(TypeError):
            llmkit.evaluate_rag(rag, ["not a dict"])
    finally:
        server.close()


def two_judges_script(path, body, headers):
    """The quiz for the evaluated model; rubric verdicts by judge: gpt-4o passes, strict fails."""
    prompt = body["messages"][-1]["content"]
    if "<Rubric>" in prompt:
        passed = body["model"] == "gpt-4o"
        text = json.dumps({"reason": "by model", "pass": passed, "score": 1 if passed else 0})
    else:
        from fake_provider import quiz_answer
        text = quiz_answer(prompt)
    return 200, {}, json.dumps({"id": "c", "model": body["model"], "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode(), 0


def test_two_judges_and_their_agreement(tmp_path):
    server = Provider(two_judges_script)
    try:
        suite_file = tmp_path / "judged.yaml"
        suite_file.write_text(f"""prompts: ['Quiz: what is the capital of {{{{ c }}}}?']
providers:
  - id: openai:chat:gpt-4o-mini
    config: {{apiBaseUrl: {server.url}/v1, apiKey: k}}
tests:
  - vars: {{c: France}}
    assert: [{{type: llm-rubric, value: Names the capital}}]
  - vars: {{c: Peru}}
    assert: [{{type: not-llm-rubric, value: Speaks like a pirate}}]
""")
        judge = llmkit.OpenAIClient(model="gpt-4o", base_url=server.url + "/v1", api_key="k")
        strict = llmkit.OpenAIClient(model="strict", base_url=server.url + "/v1", api_key="k")
        report = llmkit.run_eval(llmkit.load_eval_suite(str(suite_file)), judge=judge, second_judge=strict)
        verdicts = [(c["assertions"][0]["pass"], c["assertions"][0]["second_pass"]) for c in report.cases]
        assert verdicts == [(True, False), (False, True)]  # not- flips both judges' verdicts.
        agreement = report.to_json()["judge_agreement"]
        assert agreement["judged"] == 2 and agreement["agreement"] == 0 and agreement["kappa"] < 0
    finally:
        server.close()


def test_similar_with_an_embedder_and_paired_comparisons(provider, suite_dir):
    config = suite_dir / "promptfooconfig.yaml"
    config.write_text(config.read_text().replace(
        "  - file://prompts/quiz.txt\n",
        "  - file://prompts/quiz.txt\n  - {id: file://prompts/quiz_json.txt, label: json}\n").replace(
        "      - type: contains\n        value: Paris\n",
        "      - type: contains\n        value: Paris\n"
        "      - {type: similar, value: Paris, threshold: 0.97}\n      - {type: not-similar, value: x}\n"))
    suite = llmkit.load_eval_suite(str(config))
    with pytest.raises(TypeError, match="embed"):
        llmkit.run_eval(suite, embedder=llmkit.AnthropicClient(model="claude-3-5-haiku-latest"))
    report = llmkit.run_eval(suite, embedder=llmkit.OpenAIClient(model="text-embedding-3-small"))
    # The fake embeds a text as [its length, its index in the request, 0.25, ~0]: the sentence
    # (31 characters) against "Paris" has cosine 0.98, against "x" 0.70.
    france = {a["type"]: a for a in report.cases[0]["assertions"]}
    assert france["similar"]["pass"] and france["similar"]["score"] == pytest.approx(0.9798, abs=1e-3)
    assert france["not-similar"]["pass"]
    embedded = [b for p, _, b in provider.requests if p.endswith("/embeddings")]
    # Cases run concurrently: the two prompts' embedding requests come in either order.
    assert ["The capital of France is Paris.", "Paris"] in [b["input"] for b in embedded]
    # The sentence prompt passes every test, the JSON one none: 4 discordant tests, p = 2/16.
    c = report.compare_prompts(0, 1)
    assert (c.only_a, c.only_b, c.p_value) == (4, 0, 0.125) and not c.significant()
    assert report.comparisons() == [
        "prompts/quiz.txt vs json on openai:chat:gpt-4o-mini: 4 test(s) pass only with the first, "
        "0 only with the second (McNemar exact p = 0.125, no significant difference)"]
    assert report.compare_providers(0, 0, prompt=0).p_value == 1
