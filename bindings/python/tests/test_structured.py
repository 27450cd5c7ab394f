"""client.extract from Python against a scripted OpenAI-compatible server on 127.0.0.1: a dict
schema and a pydantic model class, re-asking with the errors, the accounting of attempts and
usage, and the failure after max_attempts."""

import json

import pytest

import llmkit
from fake_provider import Provider

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 14}},
          "required": ["city", "days"], "additionalProperties": False}
MESSAGES = [{"role": "user", "content": "Paris, for a month please"}]


def tool_reply(arguments, call_id="call_1"):
    return {"id": "chatcmpl-1", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": None,
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": "output", "arguments": json.dumps(arguments)}}]}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}}


def scripted(replies):
    queue = list(replies)

    def script(path, body, headers):
        if not queue:
            return 500, {}, b'{"error": {"message": "no more replies"}}', 0
        return 200, {}, json.dumps(queue.pop(0)).encode(), 0

    return Provider(script)


def client(p):
    return llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-test", model="gpt-4o-mini")


def test_extract_reasks_with_the_errors_and_counts_every_attempt():
    p = scripted([tool_reply({"city": "Paris", "days": 30}), tool_reply({"city": "Paris", "days": 14}, "call_2")])
    try:
        c = client(p)
        result = c.extract(MESSAGES, schema=SCHEMA, return_result=True, timeout=10, tags={"feature": "forecast"})
        assert result.value == {"city": "Paris", "days": 14}
        assert result.attempts == 2
        assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 18)
        second = p.requests[1][2]["messages"]
        assert [m["role"] for m in second] == ["user", "assistant", "tool"]
        assert "must be <= 14" in second[2]["content"] and second[2]["tool_call_id"] == "call_1"
        assert p.requests[0][2]["tool_choice"] == {"type": "function", "function": {"name": "output"}}
    finally:
        p.close()


def test_extract_to_a_pydantic_model():
    pydantic = pytest.importorskip("pydantic")

    class Forecast(pydantic.BaseModel):
        city: str
        days: int

    p = scripted([tool_reply({"city": "Oslo", "days": 3})])
    try:
        value = client(p).extract(MESSAGES, schema=Forecast)
        assert isinstance(value, Forecast) and value.city == "Oslo" and value.days == 3
        sent = p.requests[0][2]["tools"][0]["function"]["parameters"]
        assert sent["required"] == ["city", "days"]
    finally:
        p.close()


def test_extract_failure_keeps_attempts_and_usage():
    p = scripted([tool_reply({"city": 1, "days": 1}), tool_reply({"city": 2, "days": 1}, "call_2")])
    try:
        with pytest.raises(llmkit.FailedPreconditionError, match="did not match the schema in 2 attempts") as e:
            client(p).extract(MESSAGES, schema=SCHEMA, max_attempts=2)
        assert e.value.payloads["llmkit/attempts"] == "2"
        assert json.loads(e.value.payloads["llmkit/usage"])["input_tokens"] == 40
        with pytest.raises(llmkit.InvalidArgumentError, match="mode must be"):
            client(p).extract(MESSAGES, schema=SCHEMA, mode="magic")
        with pytest.raises(TypeError, match="pydantic model class"):
            client(p).extract(MESSAGES, schema=int)
    finally:
        p.close()


def sse(events):
    return [b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"]


def tool_stream(pieces):
    head = {"id": "c1", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {
        "role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                             "function": {"name": "output", "arguments": ""}}]}}]}
    body = [{"id": "c1", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {
        "tool_calls": [{"index": 0, "function": {"arguments": piece}}]}}]} for piece in pieces]
    tail = [{"id": "c1", "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {"id": "c1", "model": "gpt-4o-mini", "choices": [],
             "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}}]
    return sse([head] + body + tail)


def test_stream_extract_yields_growing_partial_values():
    pydantic = pytest.importorskip("pydantic")

    class Forecast(pydantic.BaseModel):
        city: str
        days: int

    def script(path, body, headers):
        assert body["stream"] is True
        return 200, {}, tool_stream(['{"city": "Pa', 'ris", "da', 'ys": 1', '4}']), 0

    p = Provider(script)
    try:
        c = client(p)
        stream = c.stream_extract(MESSAGES, schema=SCHEMA)
        partials = list(stream)
        assert partials == [{}, {"city": "Paris"}, {"city": "Paris", "days": 14}]
        assert stream.value == {"city": "Paris", "days": 14}
        assert stream.result.attempts == 1 and stream.result.usage.input_tokens == 20
        with c.stream_extract(MESSAGES, schema=Forecast) as s:
            for _ in s:
                pass
            assert isinstance(s.value, Forecast) and s.value.days == 14
        unfinished = c.stream_extract(MESSAGES, schema=SCHEMA)
        unfinished.close()
        with pytest.raises(llmkit.Error):
            unfinished.value
    finally:
        p.close()
