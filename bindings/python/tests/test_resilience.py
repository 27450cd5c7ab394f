"""The resilience decorators from Python against scripted servers on 127.0.0.1: fallback with
served_by and the context-window list, the circuit breaker failing fast, the rate limiter, hedging,
budgets, and the decorators stacked around both chat and embed."""

import json
import time

import pytest

import llmkit
from fake_provider import COMPLETION, openai_script

MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


def completion(model):
    return json.dumps(dict(COMPLETION, model=model)).encode()


def down(path, body, headers):
    return 503, {}, b'{"error":{"message":"down"}}', 0


def test_fallback_serves_from_the_next_model(provider):
    primary = provider(down)
    backup = provider(lambda path, body, headers: (200, {}, completion("backup-model"), 0))
    m = llmkit.with_fallback([llmkit.OpenAIClient(base_url=primary.url + "/v1", model="a"),
                              (llmkit.OpenAIClient(base_url=backup.url + "/v1", model="b"), None, "backup")])
    r = m.chat(MESSAGES)
    assert r.text == "Checking." and r.served_by == "backup" and r.attempts == 2
    m.chat(MESSAGES)  # The primary is cooling down (1 of 1 calls failed): straight to the backup.
    assert len(primary.requests) == 1 and len(backup.requests) == 2


def test_context_window_fallbacks_and_model_names(provider):
    def script(path, body, headers):
        if body["model"] == "small":
            return 400, {}, b'{"error":{"message":"maximum context length exceeded","code":"context_length_exceeded"}}', 0
        return 200, {}, completion(body["model"]), 0
    p = provider(script)
    client = llmkit.OpenAIClient(base_url=p.url + "/v1")
    m = llmkit.with_fallback([(client, "small")], context_window_fallbacks=[(client, "large")])
    r = m.chat(MESSAGES)
    assert r.served_by == "large" and r.model == "large"
    assert [req[2]["model"] for req in p.requests] == ["small", "large"]
    with pytest.raises(llmkit.OutOfRangeError):
        llmkit.with_fallback([(client, "small")]).chat(MESSAGES)
    with pytest.raises(llmkit.InvalidArgumentError, match="no models"):
        llmkit.with_fallback([])
    with pytest.raises(llmkit.InvalidArgumentError, match=r"a tuple is \(model, model_name"):
        llmkit.with_fallback([(client, "a", "b", "c")])
    with pytest.raises(llmkit.InvalidArgumentError, match="cooldown_failure_ratio"):
        llmkit.with_fallback([client], cooldown_failure_ratio=1.5)
    with pytest.raises(TypeError):
        llmkit.with_fallback(["not a model"])


def test_circuit_breaker_fails_fast(provider):
    p = provider(down)
    m = llmkit.with_circuit_breaker(llmkit.OpenAIClient(base_url=p.url + "/v1", model="m"),
                                    failure_ratio=0.5, window=4, min_calls=2, open_for=30.0, name="primary")
    for _ in range(2):
        with pytest.raises(llmkit.UnavailableError):
            m.chat(MESSAGES)
    with pytest.raises(llmkit.UnavailableError) as info:
        m.chat(MESSAGES)
    assert "circuit breaker for primary is open" in str(info.value)
    assert info.value.payloads["llmkit/circuit_open"] == "primary"
    assert 29_000 <= int(info.value.retry_after_ms) <= 30_000
    assert len(p.requests) == 2  # The third call never reached the server.
    # Every option is checked when the decorator is built, naming the field and its range.
    for keyword, value, field in [("failure_ratio", 0, "failure_ratio"), ("window", 0, "window"),
                                  ("min_calls", 200, "min_calls"), ("open_for", -1, "open_for"),
                                  ("half_open_calls", 0, "half_open_calls")]:
        with pytest.raises(llmkit.InvalidArgumentError, match=field):
            llmkit.with_circuit_breaker(m, **{keyword: value})
    with pytest.raises(llmkit.InvalidArgumentError, match="requests_per_minute"):
        llmkit.with_rate_limit(m, requests_per_minute=-1)
    with pytest.raises(llmkit.InvalidArgumentError, match="percentile"):
        llmkit.with_hedging(m, percentile=1.5)
    with pytest.raises(llmkit.InvalidArgumentError, match="min_samples"):
        llmkit.with_hedging(m, min_samples=0)


def test_rate_limit_fails_fast_or_waits(provider):
    p = provider(openai_script)
    client = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    fast = llmkit.with_rate_limit(client, requests_per_minute=1, wait=False)
    fast.chat(MESSAGES)
    with pytest.raises(llmkit.RateLimitError) as info:
        fast.chat(MESSAGES)
    assert info.value.payloads["llmkit/rate_limited"] == "true"
    # 1200 per minute = one every 50 ms after the first minute's worth (1200) is spent.
    waiting = llmkit.with_rate_limit(client, requests_per_minute=1200, tokens_per_minute=10_000_000,
                                     tokenizer="cl100k_base" if False else None)
    start = time.monotonic()
    for _ in range(3):
        waiting.chat(MESSAGES)
    assert time.monotonic() - start < 5
    # Composed: retry waits for the limiter's hint instead of failing.
    composed = llmkit.with_retry(llmkit.with_rate_limit(client, requests_per_minute=600, wait=False),
                                 max_retries=2)
    r = composed.chat(MESSAGES)
    assert r.attempts == 1


def test_retry_budget_and_attempt_timeout(provider):
    answers = [(200, {}, completion("m"), 2.0), (200, {}, completion("m"), 0)]
    p = provider(lambda path, b, h: answers.pop(0) if len(answers) > 1 else answers[0])
    m = llmkit.with_retry(llmkit.OpenAIClient(base_url=p.url + "/v1", model="m"),
                          attempt_timeout=0.3, initial_backoff=0.01)
    start = time.monotonic()
    r = m.chat(MESSAGES)
    assert r.attempts == 2 and time.monotonic() - start < 1.9  # The stalled first attempt timed out.

    dead = provider(down)
    budgeted = llmkit.with_retry(llmkit.OpenAIClient(base_url=dead.url + "/v1", model="m"),
                                 max_retries=4, initial_backoff=0.001, budget=0.1, budget_burst=1)
    with pytest.raises(llmkit.UnavailableError) as info:
        budgeted.chat(MESSAGES)
    assert info.value.payloads["llmkit/retry_budget"] == "exhausted"
    assert info.value.payloads["llmkit/attempts"] == "2"


def test_hedging_overtakes_a_slow_attempt(provider):
    delays = [3.0, 0.0]
    p = provider(lambda path, b, h: (200, {}, completion("m"), delays.pop(0) if delays else 0))
    m = llmkit.with_hedging(llmkit.OpenAIClient(base_url=p.url + "/v1", model="m"), delay=0.1)
    start = time.monotonic()
    r = m.chat(MESSAGES)
    assert r.attempts == 2 and time.monotonic() - start < 2.5


def test_the_whole_stack_chats_streams_and_embeds(provider):
    flaky = iter([True])

    def script(path, body, headers):
        if next(flaky, False):
            return 503, {}, b'{"error":{"message":"once"}}', 0
        return openai_script(path, body, headers)
    p = provider(script)
    client = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m", embedding_model="e")
    m = llmkit.with_retry(
        llmkit.with_fallback([llmkit.with_circuit_breaker(llmkit.with_rate_limit(client, requests_per_minute=600))]),
        initial_backoff=0.01)
    r = m.chat(MESSAGES)
    assert r.attempts == 2 and r.served_by == "gpt-4o-mini"
    assert "".join(e.text for e in m.stream(MESSAGES) if e.kind == "text") == "Checking."
    assert m.embed(["a", "bb"]).shape == (2, 4)
    anthropic_only = llmkit.with_retry(llmkit.AnthropicClient(api_key="k", base_url=p.url))
    with pytest.raises(TypeError):
        anthropic_only.embed(["a"])
