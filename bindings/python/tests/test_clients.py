"""The Python model clients against a real HTTP server on 127.0.0.1 (http.server in a thread):
chat, tools, streams, embeddings into numpy, every error class with its attributes, and Ctrl-C
interrupting a blocked call."""

import json
import threading
import time
import _thread

import numpy as np
import pytest

import llmkit
from fake_provider import CHUNKS, COMPLETION, Provider, anthropic_script, openai_script, sse


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                           "parameters": {"type": "object"}}}]


def test_openai_chat_tools_and_request(provider):
    p = provider(openai_script)
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-py-secret", model="gpt-4o-mini")
    r = c.chat(MESSAGES, temperature=0, max_tokens=50, stop=["\n\n"], seed=7, tools=TOOLS,
               tool_choice="auto", response_format={"type": "json_object"}, extra={"user": "u-1"})
    assert r.text == "Checking."
    assert r.finish_reason == "tool_calls"
    assert r.request_id == "req_1"
    assert [(t.id, t.name, json.loads(t.arguments)) for t in r.tool_calls] == [("call_1", "get_weather", {"city": "Paris"})]
    assert r.usage.input_tokens == 20 and r.usage.cached_input_tokens == 16 and r.usage.reasoning_tokens == 4
    assert r.message == {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}
    path, headers, body = p.requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-py-secret"
    assert body == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.0, "max_tokens": 50,
                    "stop": ["\n\n"], "seed": 7, "tools": TOOLS, "tool_choice": "auto",
                    "response_format": {"type": "json_object"}, "user": "u-1"}
    # The answer goes back into the conversation as it is, with the tool's result.
    follow = MESSAGES + [r.message, {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]
    c.chat(follow)
    assert p.requests[-1][2]["messages"][2:] == follow[2:]


def test_openai_stream_equals_chat(provider):
    p = provider(openai_script)
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="gpt-4o-mini")
    stream = c.stream(MESSAGES, tools=TOOLS)
    with pytest.raises(llmkit.FailedPreconditionError, match="has not ended"):
        stream.response
    events = list(stream)
    assert "".join(e.text for e in events if e.kind == "text") == "Checking."
    assert "".join(e.arguments_delta for e in events if e.kind == "tool_call") == "{\"city\":\"Paris\"}"
    assert [e.kind for e in events][-2:] == ["usage", "done"]
    final, plain = stream.response, c.chat(MESSAGES, tools=TOOLS)
    assert (final.text, final.finish_reason, final.message) == (plain.text, plain.finish_reason, plain.message)
    assert final.usage.total_tokens == plain.usage.total_tokens == 29
    assert final.request_id == "req_s"


def test_openai_embed_numpy(provider):
    p = provider(openai_script)
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", embedding_model="text-embedding-3-small",
                            embedding_batch_size=3, embedding_concurrency=2)
    texts = [f"text number {i}" * (i + 1) for i in range(10)]
    vecs = c.embed(texts)
    assert vecs.dtype == np.float32 and vecs.shape == (10, 4)
    for i, t in enumerate(texts):  # Row i is input i although every batch came back reversed.
        assert vecs[i, 0] == len(t)
    assert vecs[:, 3].tolist() == [np.float32(-1.5e-7)] * 10
    assert len([r for r in p.requests if r[0] == "/v1/embeddings"]) == 4
    assert p.requests[-1][2]["encoding_format"] == "base64"
    assert c.embed([]).shape == (0, 0)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.OpenAIClient(base_url=p.url + "/v1").embed(["a"])  # No model anywhere.


def test_anthropic_chat_and_stream(provider):
    p = provider(anthropic_script)
    a = llmkit.AnthropicClient(base_url=p.url, api_key="sk-ant-py", model="claude-sonnet-4-5")
    r = a.chat(MESSAGES, tools=TOOLS, tool_choice="required", max_tokens=100)
    assert r.text == "Checking Paris."
    assert r.finish_reason == "tool_use"
    assert [(t.name, t.arguments) for t in r.tool_calls] == [("get_weather", "{\"city\":\"Paris\"}")]
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.cache_creation_input_tokens) == (120, 100, 8)
    path, headers, body = p.requests[-1]
    assert path == "/v1/messages"
    assert headers["x-api-key"] == "sk-ant-py" and headers["anthropic-version"]
    assert body["system"] == "Be brief." and body["tool_choice"] == {"type": "any"}
    assert body["tools"] == [{"name": "get_weather", "description": "Current weather", "input_schema": {"type": "object"}}]
    with a.stream(MESSAGES, tools=TOOLS) as stream:
        text = "".join(e.text for e in stream)
    assert text == "Checking Paris."
    assert stream.response.message == r.message
    assert stream.response.usage.total_tokens == r.usage.total_tokens == 150
    assert not hasattr(a, "embed")


def error_script(status, body, headers=None):
    return lambda path, b, h: (status, headers or {}, json.dumps(body).encode(), 0)


@pytest.mark.parametrize("status,body,headers,cls", [
    (400, {"error": {"message": "bad"}}, {}, llmkit.InvalidArgumentError),
    (400, {"error": {"message": "maximum context length", "code": "context_length_exceeded"}}, {}, llmkit.OutOfRangeError),
    (401, {"error": {"message": "Incorrect API key"}}, {}, llmkit.UnauthenticatedError),
    (403, {"error": {"message": "no"}}, {}, llmkit.PermissionDeniedError),
    (404, {"error": {"message": "no model"}}, {}, llmkit.NotFoundError),
    (408, {}, {}, llmkit.DeadlineExceededError),
    (409, {}, {}, llmkit.AbortedError),
    (429, {"error": {"message": "Rate limit"}}, {"retry-after": "2", "retry-after-ms": "1500", "x-should-retry": "true"}, llmkit.RateLimitError),
    (500, {"error": {"message": "boom"}}, {}, llmkit.UnavailableError),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, {"x-should-retry": "false"}, llmkit.UnavailableError),
])
def test_errors_carry_status_and_headers(provider, status, body, headers, cls):
    p = provider(error_script(status, body, headers))
    for client in (llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-py-secret", model="m"),
                   llmkit.AnthropicClient(base_url=p.url, api_key="sk-py-secret", model="m")):
        for call in (client.chat, lambda m: list(client.stream(m))):
            with pytest.raises(cls) as info:
                call(MESSAGES)
            e = info.value
            assert e.http_status == status
            assert "sk-py-secret" not in str(e)
            assert e.provider_error == json.dumps(body)
            if status == 429:
                assert (e.retry_after, e.retry_after_ms, e.should_retry) == ("2", "1500", True)
            if status == 529:
                assert e.should_retry is False


def test_stream_error_event_and_cut_stream(provider):
    overloaded = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    p = provider(lambda path, b, h: (200, {}, sse([overloaded]), 0))
    a = llmkit.AnthropicClient(base_url=p.url, model="m")
    with pytest.raises(llmkit.UnavailableError, match="Overloaded"):
        list(a.stream(MESSAGES))
    p2 = provider(lambda path, b, h: (200, {}, sse([f"data: {json.dumps(CHUNKS[0])}\n\n"]), 0))
    with pytest.raises(llmkit.UnavailableError, match="ended before the answer was complete"):
        list(llmkit.OpenAIClient(base_url=p2.url, model="m").stream(MESSAGES))


def test_bad_input_is_a_clear_error(provider):
    p = provider(openai_script)
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    with pytest.raises(llmkit.InvalidArgumentError, match=r"messages\[1\]: no role"):
        c.chat([{"role": "user", "content": "hi"}, {"content": "x"}])
    with pytest.raises(llmkit.InvalidArgumentError, match="content"):
        c.chat([{"role": "user", "content": 5}])
    with pytest.raises(llmkit.UnavailableError):
        llmkit.OpenAIClient(base_url="http://127.0.0.1:1/v1", model="m").chat(MESSAGES)


def interrupt_after(seconds):
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


@pytest.mark.parametrize("kind", ["chat", "stream", "embed"])
def test_ctrl_c_interrupts_a_blocked_call(provider, kind):
    p = provider(lambda path, b, h: (200, {}, b"{}", 30))  # Stalls for 30 s.
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    calls = {"chat": lambda: c.chat(MESSAGES), "stream": lambda: list(c.stream(MESSAGES)),
             "embed": lambda: c.embed(["a", "b"])}
    start = time.monotonic()
    interrupt_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        calls[kind]()
    assert time.monotonic() - start < 5


def test_other_threads_run_while_waiting(provider):
    p = provider(lambda path, b, h: (200, {}, json.dumps(COMPLETION).encode(), 0.5))
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    threads = [threading.Thread(target=c.chat, args=(MESSAGES,)) for _ in range(4)]
    start = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - start
    stop.set()
    t.join()
    assert elapsed < 1.5  # Four 0.5 s calls overlapped: the GIL was released.
    assert len(ticks) > 20


def test_with_retry_follows_the_sdk_rule(provider):
    answers = [(429, {"retry-after": "0.05"}, b'{"error":{"message":"slow down"}}', 0),
               (503, {}, b'{"error":{"message":"busy"}}', 0),
               (200, {}, json.dumps(COMPLETION).encode(), 0)]
    p = provider(lambda path, b, h: answers.pop(0) if answers else (400, {}, b"{}", 0))
    m = llmkit.with_retry(llmkit.OpenAIClient(base_url=p.url + "/v1", model="m"), initial_backoff=0.01)
    r = m.chat(MESSAGES)
    assert r.text == "Checking." and r.attempts == 3
    assert 0.05 + 0.015 - 1e-6 <= r.backoff <= 0.05 + 0.02 + 1e-6  # Retry-After, then jittered backoff.
    with pytest.raises(llmkit.InvalidArgumentError) as info:  # 400: never retried.
        m.chat(MESSAGES)
    assert info.value.payloads["llmkit/attempts"] == "1"
    assert len(p.requests) == 4
    with pytest.raises(llmkit.InvalidArgumentError, match="max_retries"):
        llmkit.with_retry(m, max_retries=-1)
    # The old spelling still works for one release, with a DeprecationWarning.
    with pytest.warns(DeprecationWarning, match="max_retries"):
        with pytest.raises(llmkit.InvalidArgumentError, match="max_attempts"):
            llmkit.with_retry(m, max_attempts=0)
    with pytest.warns(DeprecationWarning):
        assert llmkit.with_retry(m, max_attempts=2) is not None


def test_call_context_keywords(provider):
    """timeout= is the whole call's deadline (a TimeoutError subclass when it passes), tags= stay
    in the process, and bad values name the keyword."""
    p = provider(lambda path, b, h: (200, {}, json.dumps(COMPLETION).encode(), 2))  # 2 s late.
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    start = time.monotonic()
    with pytest.raises(llmkit.DeadlineExceededError) as raised:
        c.chat(MESSAGES, timeout=0.3, tags={"user": "u-secret-tag"})
    assert isinstance(raised.value, TimeoutError)
    assert time.monotonic() - start < 1.5
    with pytest.raises(llmkit.DeadlineExceededError):
        list(c.stream(MESSAGES, timeout=0.3))
    with pytest.raises(llmkit.DeadlineExceededError):
        c.embed(["a"], timeout=0.3)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(llmkit.InvalidArgumentError, match="timeout"):
            c.chat(MESSAGES, timeout=bad)
    with pytest.raises(llmkit.InvalidArgumentError, match="idle_timeout"):
        c.chat(MESSAGES, idle_timeout=-2)
    with pytest.raises(TypeError, match="tags"):
        c.chat(MESSAGES, tags={"user": 5})
    with pytest.raises(TypeError, match="tags"):
        c.chat(MESSAGES, tags=["user"])

    fast = provider(openai_script)
    c = llmkit.OpenAIClient(base_url=fast.url + "/v1", model="m")
    r = c.chat(MESSAGES, timeout=10, tags={"user": "u-secret-tag", "feature": "weather"})
    assert r.text == "Checking."
    path, headers, body = fast.requests[-1]
    assert "u-secret-tag" not in json.dumps(body) and "u-secret-tag" not in json.dumps(headers)


def test_stream_idle_timeout(provider):
    """A stream that goes silent ends after idle_timeout, long before any deadline."""
    p = provider(lambda path, b, h: (200, {"Content-Type": "text/event-stream"}, b"", 5))
    c = llmkit.OpenAIClient(base_url=p.url + "/v1", model="m")
    start = time.monotonic()
    with pytest.raises(llmkit.DeadlineExceededError, match="idle"):
        list(c.stream(MESSAGES, idle_timeout=0.3))
    assert time.monotonic() - start < 3
