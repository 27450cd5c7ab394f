"""Guardrails from Python: find_pii with str offsets, redact/restore, and with_guard around a
client talking to a scripted OpenAI-compatible server on 127.0.0.1."""

import json

import pytest

import llmkit
from fake_provider import Provider


def test_find_pii_offsets_are_str_indices():
    text = "Grüße an ada@example.com — Karte 4111 1111 1111 1111, IP 10.0.0.7"
    found = llmkit.find_pii(text)
    assert [(f.kind, text[f.start:f.end]) for f in found] == [
        ("email", "ada@example.com"), ("payment_card", "4111 1111 1111 1111"), ("ip_address", "10.0.0.7")]
    assert all(text.encode()[f.byte_start:f.byte_end].decode() == f.text for f in found)
    assert llmkit.find_pii("2025-07-10T12:00:00Z, v1.2.3.4, 550e8400-e29b-41d4-a716-446655440000") == []
    assert [f.kind for f in llmkit.find_pii("ring 020 7946 0958", phone_regions=["GB"])] == ["phone"]
    with pytest.raises(llmkit.InvalidArgumentError, match="unknown PII kind"):
        llmkit.find_pii("x", kinds=["ssn"])


def test_redact_and_restore():
    text, placeholders = llmkit.redact_pii("Mail ada@example.com, key sk-proj-Xb7kQ2mN9vR4tY6uI8oP1aS3dF5gH7jK")
    assert text == "Mail [EMAIL_1], key [SECRET_1]"
    assert llmkit.restore_pii("Sent to [EMAIL_1].", placeholders) == "Sent to ada@example.com."


def test_with_guard_redacts_input_and_refuses_leaks():
    answers = ["Done: wrote to [EMAIL_1].", "Your key is AKIAIOSFODNN7EXAMPLE"]

    def script(path, body, headers):
        content = answers.pop(0)
        return 200, {}, json.dumps({"id": "c", "model": "m", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode(), 0

    p = Provider(script)
    try:
        client = llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-test", model="m")
        guarded = llmkit.with_guard(client, input_pii="redact", output_pii="raise", banned_terms=["project zeus"],
                                    validator=lambda text, output: "DROP TABLE" not in text)
        r = guarded.chat([{"role": "user", "content": "Email ada@example.com the plan."}])
        assert r.text == "Done: wrote to ada@example.com."
        assert "ada@example.com" not in json.dumps(p.requests[0][2])
        with pytest.raises(llmkit.FailedPreconditionError, match="pii:secret") as e:
            guarded.chat([{"role": "user", "content": "What is my key?"}])
        assert "AKIA" not in str(e.value)
        with pytest.raises(llmkit.FailedPreconditionError, match="banned term"):
            guarded.chat([{"role": "user", "content": "Status of PROJECT ZEUS?"}])
        with pytest.raises(llmkit.FailedPreconditionError, match="validator"):
            guarded.chat([{"role": "user", "content": "x'; DROP TABLE users"}])
        assert len(p.requests) == 2  # The refused inputs were never sent.
        with pytest.raises(llmkit.InvalidArgumentError, match="input_pii"):
            llmkit.with_guard(client, input_pii="mask")
    finally:
        p.close()


def queued_provider(answers):
    """A fake OpenAI server answering from `answers` in order (the last one repeats)."""

    def script(path, body, headers):
        content = answers.pop(0) if len(answers) > 1 else answers[0]
        return 200, {}, json.dumps({"id": "c", "model": "m", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}).encode(), 0

    return Provider(script)


def test_with_guard_reasks_until_the_answer_is_clean():
    answers = ["Write to grace@example.org.", "Write to the front desk."]
    p = queued_provider(answers)
    try:
        client = llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-test", model="m")
        r = llmkit.with_guard(client, output_pii="reask").chat([{"role": "user", "content": "How to reach Grace?"}])
        assert r.text == "Write to the front desk."
        assert r.usage.total_tokens == 10
        assert "Answer again without any." in json.dumps(p.requests[1][2])
        answers[:] = ["Mail grace@example.org now."]
        assert llmkit.with_guard(client, output_pii="filter").chat([{"role": "user", "content": "?"}]).text == "Mail  now."
        with pytest.raises(llmkit.InvalidArgumentError, match="outputs only"):
            llmkit.with_guard(client, input_pii="reask")
    finally:
        p.close()


def test_with_guard_patterns_banned_terms_validators_and_token_limits(ranks_dir):
    """Each check raises, redacts or asks again, as chosen; every call is counted."""
    queue = []
    p = queued_provider(queue)
    try:
        client = llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-test", model="m")
        ask = [{"role": "user", "content": "Summarize INT-4471."}]
        ticket = {"name": "ticket", "regex": r"INT-\d+"}
        with pytest.raises(llmkit.FailedPreconditionError, match="pattern:ticket"):
            llmkit.with_guard(client, patterns=[ticket]).chat(ask)
        queue[:] = ["INT-4471 is closed."]
        r = llmkit.with_guard(client, patterns=[dict(ticket, action="redact")]).chat(ask)
        assert r.text == "[TICKET REDACTED] is closed."
        assert "Summarize [TICKET REDACTED]." in json.dumps(p.requests[-1][2])
        queue[:] = ["INT-4471 is closed.", "It is closed."]
        r = llmkit.with_guard(client, patterns=[dict(ticket, input=False, action="reask")]).chat(ask)
        assert r.text == "It is closed." and r.usage.total_tokens == 10
        queue[:] = ["Project Zeus shipped.", "It shipped."]
        r = llmkit.with_guard(client, banned_terms=["project zeus"], banned_action="reask").chat(
            [{"role": "user", "content": "News?"}])
        assert r.text == "It shipped."
        queue[:] = ["maybe", "yes"]
        r = llmkit.with_guard(client, validator=lambda text, output: not output or text in ("yes", "no"),
                              validator_action="reask").chat([{"role": "user", "content": "Done?"}])
        assert r.text == "yes"
        o200k = llmkit.load_encoding("o200k_base", str(ranks_dir / "o200k_base.tiktoken"))
        queue[:] = ["Yes, it is entirely done by now, as far as I can tell.", "Yes."]
        r = llmkit.with_guard(client, tokenizer=o200k, max_output_tokens=4, token_limit_action="reask").chat(
            [{"role": "user", "content": "Done?"}])
        assert r.text == "Yes."
        assert "at most 4 tokens" in json.dumps(p.requests[-1][2])
        with pytest.raises(llmkit.FailedPreconditionError, match="over the limit of 3"):
            llmkit.with_guard(client, tokenizer=o200k, max_input_tokens=3).chat(
                [{"role": "user", "content": "Is it done already, please?"}])
        with pytest.raises(llmkit.InvalidArgumentError, match="does not compile"):
            llmkit.with_guard(client, patterns=[{"name": "bad", "regex": "(a"}])
        with pytest.raises(llmkit.InvalidArgumentError, match="need a tokenizer"):
            llmkit.with_guard(client, max_output_tokens=5)
    finally:
        p.close()
