"""llmkit.PriceTable, Ledger, Budget and with_budget from Python: priced responses from a fake
provider, a hard budget refusing before the request is sent, a soft budget's hook, a ledger file
across reopenings, and `llmkit spend` reading it."""

import json
import os
import pathlib
import subprocess

import pytest

import llmkit
from fake_provider import Provider, both_script, sse

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[3]
BUILD = pathlib.Path(os.environ.get("LLMKIT_BUILD_DIR", SOURCE_DIR / "build" / "release"))

# gpt-4o-mini (bundled table): $0.15/M input, $0.075/M cached input, $0.60/M output. The fake
# answers with 20 prompt tokens (16 cached) and 9 completion tokens.
MINI_CALL = 4 * 0.15e-6 + 16 * 0.075e-6 + 9 * 0.6e-6


def test_price_table_prices_cached_tokens_and_says_when_it_cannot():
    table = llmkit.PriceTable.default()
    assert len(table) > 400
    cost = table.price("gpt-4o", {"input_tokens": 1000, "cached_input_tokens": 200, "output_tokens": 500})
    assert cost.priced and cost.total == pytest.approx(0.00725, rel=1e-12)
    assert cost.cached_input == pytest.approx(200 * 1.25e-6, rel=1e-12)
    assert table.find("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet"
    assert table.find("gemini-2.5-pro", provider="gemini") == "gemini/gemini-2.5-pro"
    assert table.find("gpt-4o-2099-01-01") is None
    unknown = table.price("my-llama", {"input_tokens": 10, "output_tokens": 1})
    assert not unknown.priced and unknown.unpriced_model == "my-llama"
    table.set("my-llama", {"input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7})
    assert table.price("my-llama", {"input_tokens": 10, "output_tokens": 1}).total == pytest.approx(1.2e-6)
    assert llmkit.PriceTable.default().find("my-llama") is None  # The default is not changed.
    with pytest.raises(llmkit.InvalidArgumentError, match='model "m" field "input_cost_per_token"'):
        llmkit.PriceTable.parse('{"m": {"input_cost_per_token": -1}}')
    with pytest.raises(llmkit.InvalidArgumentError):
        table.price("gpt-4o", {"input_tokenz": 1})


def test_a_priced_client_carries_the_cost_of_every_response(tmp_path):
    server = Provider(both_script)
    try:
        plain = llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini")
        assert plain.chat([{"role": "user", "content": "hi"}]).cost is None
        priced = llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini",
                                     prices=llmkit.PriceTable.default())
        r = priced.chat([{"role": "user", "content": "hi"}])
        assert r.cost.total == pytest.approx(MINI_CALL, rel=1e-12)
        assert r.cost.cached_input == pytest.approx(16 * 0.075e-6, rel=1e-12)
        streamed = priced.stream([{"role": "user", "content": "hi"}])
        for _ in streamed:
            pass
        assert streamed.response.cost.priced
        claude = llmkit.AnthropicClient(base_url=server.url, api_key="sk-ant", model="claude-sonnet-4-5",
                                        prices=llmkit.PriceTable.default())
        c = claude.chat([{"role": "user", "content": "hi"}])
        # 12 input, 100 cache reads, 30 output at Sonnet 4.5's $3 / $0.30 / $15 per million.
        assert c.cost.cached_input == pytest.approx(100 * 0.3e-6, rel=1e-9)
        assert c.cost.total > 0
    finally:
        server.close()


def test_budgets_refuse_before_sending_and_the_ledger_keeps_the_spend(tmp_path):
    sent = []

    def script(path, body, headers):
        sent.append(path)
        return both_script(path, body, headers)

    server = Provider(script)
    path = str(tmp_path / "spend.ledger")
    try:
        client = llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini")
        ledger = llmkit.Ledger(path)
        soft = []
        model = llmkit.with_budget(
            client, ledger=ledger, on_soft_limit=soft.append,
            budgets=[llmkit.Budget(limit_usd=0.0001, tags={"user": "alice"}, name="alice"),
                     llmkit.Budget(limit_usd=0.00002, tags={"team": "a"}, hard=False)])
        alice = {"user": "alice", "team": "a"}
        answered = 0
        with pytest.raises(llmkit.RateLimitError) as refused:
            for _ in range(20):
                model.chat([{"role": "user", "content": "What is the weather in Paris?"}],
                           max_tokens=100, tags=alice)
                answered += 1
        assert answered == 6
        assert len(sent) == 6  # The refused call never reached the server.
        assert refused.value.budget == "alice"
        assert refused.value.budget_limit_usd == pytest.approx(0.0001)
        assert refused.value.budget_spent_usd == pytest.approx(6 * MINI_CALL, rel=1e-6)
        assert [e["budget"] for e in soft] == ["team=a/month"]
        model.chat([{"role": "user", "content": "hi"}], tags={"user": "bob"})
        assert ledger.spent({"user": "alice"})["calls"] == 6
        assert ledger.spent(window="month")["total_usd"] == pytest.approx(7 * MINI_CALL, rel=1e-9)
        rows = ledger.report(["user", "model"])
        assert rows[0]["user"] == "alice" and rows[0]["model"] == "gpt-4o-mini" and rows[0]["calls"] == 6
        # The file is held: another writer is refused, a reader is not.
        with pytest.raises(llmkit.FailedPreconditionError, match="held by another process"):
            llmkit.Ledger(path)
        assert llmkit.Ledger.read_only(path).records == 7
        del model, ledger
        import gc
        gc.collect()
        reopened = llmkit.Ledger(path)
        assert reopened.spent()["total_usd"] == pytest.approx(7 * MINI_CALL, rel=1e-12)
        del reopened
        gc.collect()

        cli = BUILD / "cli" / "llmkit"
        if not cli.exists():
            pytest.skip(f"{cli} is not built")
        table = subprocess.run([str(cli), "spend", path, "--by", "user"], capture_output=True, text=True)
        assert table.returncode == 0, table.stderr
        assert "alice" in table.stdout and "bob" in table.stdout and "total" in table.stdout
        out = subprocess.run([str(cli), "spend", path, "--by", "user,model", "--json", "--where", "user=alice"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert [r["user"] for r in report["rows"]] == ["alice"]
        assert report["total"]["calls"] == 6
        assert report["total"]["total_usd"] == pytest.approx(6 * MINI_CALL, rel=1e-12)
        bad = subprocess.run([str(cli), "spend", path, "--window", "year"], capture_output=True, text=True)
        assert bad.returncode == 2 and "--window" in bad.stderr
    finally:
        server.close()


def test_bad_budgets_are_refused():
    client = llmkit.OpenAIClient(base_url="http://127.0.0.1:9/v1", api_key="sk-x", model="gpt-4o-mini")
    with pytest.raises(llmkit.InvalidArgumentError, match="limit_usd"):
        llmkit.with_budget(client, budgets=[llmkit.Budget(limit_usd=float("nan"))])
    with pytest.raises(llmkit.InvalidArgumentError, match="window"):
        llmkit.Budget(limit_usd=1, window="year")
    with pytest.raises(TypeError):
        llmkit.OpenAIClient(base_url="http://127.0.0.1:9/v1", prices="cheap")


def test_a_budget_shared_through_redis_holds_across_ledgers(redis_url):
    server = Provider(both_script)
    try:
        budget = llmkit.Budget(limit_usd=0.0001, tags={"user": "alice"}, name="alice")
        # Two "processes": each its own client, ledger and connection, one budget in Redis.
        models = [llmkit.with_budget(
            llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini"),
            ledger=llmkit.Ledger(redis_url=redis_url), budgets=[budget]) for _ in range(2)]
        answered = 0
        with pytest.raises(llmkit.RateLimitError) as refused:
            for i in range(20):
                models[i % 2].chat([{"role": "user", "content": "What is the weather in Paris?"}],
                                   max_tokens=100, tags={"user": "alice"})
                answered += 1
        assert answered == 6  # As in one process: the two share the budget.
        assert refused.value.budget == "alice"
        totals = llmkit.Ledger(redis_url=redis_url).spent({"user": "alice"}, window="day")
        assert totals["calls"] == 6
        assert totals["total_usd"] == pytest.approx(6 * MINI_CALL, rel=1e-9)
        cli = BUILD / "cli" / "llmkit"
        if cli.exists():
            out = subprocess.run([str(cli), "spend", redis_url, "--by", "user", "--json"],
                                 capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["total"]["calls"] == 6
    finally:
        server.close()
    with pytest.raises(llmkit.UnavailableError):
        llmkit.Ledger(redis_url="redis://127.0.0.1:1", redis_timeout=0.5)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.Ledger("/tmp/x.ledger", redis_url=redis_url)


def test_a_rate_limit_shared_through_redis(redis_url):
    server = Provider(both_script)
    try:
        models = [llmkit.with_rate_limit(
            llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini"),
            requests_per_minute=5, wait=False, redis_url=redis_url, redis_key="py:bucket")
            for _ in range(2)]
        passed = 0
        for i in range(12):
            try:
                models[i % 2].chat([{"role": "user", "content": "hi"}])
                passed += 1
            except llmkit.RateLimitError:
                pass
        assert passed == 5  # One bucket for both, not 5 each.
    finally:
        server.close()


def test_tokens_of_failed_calls_are_billed_itemized_and_on_the_error():
    """A stream cut after the provider counted its input, and a retried overloaded stream."""
    from fake_provider import ANTHROPIC_EVENTS, anthropic_script

    events = [f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in ANTHROPIC_EVENTS]
    overloaded = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    mode = {"cut": True, "calls": 0}

    def script(path, body, headers):
        mode["calls"] += 1
        if mode["cut"]:  # message_start and the first text, then the connection drops.
            return 200, {}, sse(events[:4]), 0
        if mode["calls"] == 1:  # Overloaded mid-stream before any text: retried.
            return 200, {}, sse(events[:1] + [overloaded]), 0
        return anthropic_script(path, body, headers)

    server = Provider(script)
    try:
        claude = llmkit.AnthropicClient(base_url=server.url, api_key="sk-ant", model="claude-sonnet-4-5")
        ledger = llmkit.Ledger()
        model = llmkit.with_budget(claude, ledger=ledger)
        # 12 input, 100 cache reads, 8 cache writes at $3 / $0.30 / $3.75 per million; output $15.
        start = 12 * 3e-6 + 100 * 0.3e-6 + 8 * 3.75e-6
        with pytest.raises(llmkit.UnavailableError) as cut:
            for _ in model.stream([{"role": "user", "content": "hi"}]):
                pass
        [spent] = cut.value.spent
        assert spent["model"] == "claude-sonnet-4-5" and spent["failure"] == "unavailable"
        assert spent["input_tokens"] == 120 and spent["output_tokens"] == 1
        assert cut.value.spent_usd == pytest.approx(start + 15e-6, rel=1e-6)
        assert ledger.spent()["total_usd"] == pytest.approx(start + 15e-6, rel=1e-9)

        mode.update(cut=False, calls=0)
        retried = llmkit.with_budget(llmkit.with_retry(claude, initial_backoff=0.001), ledger=ledger)
        stream = retried.stream([{"role": "user", "content": "hi"}])
        for _ in stream:
            pass
        r = stream.response
        assert r.attempts == 2
        [failed] = r.spent_attempts
        assert failed.failure == "unavailable" and failed.usage.input_tokens == 120 and not failed.estimated
        assert r.usage.input_tokens == 240
        assert r.cost.total == pytest.approx(2 * start + (1 + 30) * 15e-6, rel=1e-9)
    finally:
        server.close()
