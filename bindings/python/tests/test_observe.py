"""llmkit.Tracer and with_tracing from Python: a span per call exported as OTLP/JSON to a local
collector, the traceparent header at the provider, a stream left by `break` still ending its
span, and the Prometheus text."""

import gc
import json

import llmkit
from fake_provider import COMPLETION, CHUNKS, Provider


def sse(chunks):
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def test_spans_metrics_and_trace_context():
    seen = {}

    def provider_script(path, body, headers):
        seen["traceparent"] = headers.get("traceparent", "")
        if body.get("stream"):
            return 200, {"Content-Type": "text/event-stream"}, sse(CHUNKS), 0
        return 200, {}, json.dumps(COMPLETION).encode(), 0

    exported = []

    def collector_script(path, body, headers):
        exported.append((path, body))
        return 200, {}, b"{}", 0

    provider, collector = Provider(provider_script), Provider(collector_script)
    try:
        tracer = llmkit.Tracer(from_environment=False, service_name="py-test",
                               endpoint=collector.url, tag_attributes=["feature"])
        client = llmkit.OpenAIClient(base_url=provider.url + "/v1", api_key="sk-test", model="gpt-4o-mini")
        traced = llmkit.with_tracing(client, tracer, provider="openai")
        traced.chat([{"role": "user", "content": "Weather?"}], tags={"feature": "weather"})
        assert len(seen["traceparent"]) == 55
        # Leaving a stream early ends its span.
        for _ in traced.stream([{"role": "user", "content": "Weather?"}]):
            break
        gc.collect()
        tracer.flush(timeout=10)
        assert tracer.stats["spans_ended"] == 2
        spans = [s for path, body in exported if path.endswith("/v1/traces")
                 for rs in body["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
        # The streamed answer names no model (the fake server's chunks carry none): "chat".
        assert [s["name"] for s in spans] == ["chat gpt-4o-mini", "chat"]
        attributes = {a["key"]: a["value"] for a in spans[0]["attributes"]}
        assert attributes["gen_ai.usage.input_tokens"] == {"intValue": "20"}
        assert attributes["gen_ai.usage.cache_read.input_tokens"] == {"intValue": "16"}
        assert attributes["llmkit.tag.feature"] == {"stringValue": "weather"}
        assert seen["traceparent"].split("-")[1] == spans[1]["traceId"]
        text = tracer.prometheus_text()
        assert "# TYPE gen_ai_client_token_usage histogram" in text
        assert 'gen_ai_token_type="input"' in text
        assert any(path.endswith("/v1/metrics") for path, _ in exported)
        port = tracer.serve_metrics()
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            assert reply.read().decode() == tracer.prometheus_text()
        tracer.shutdown(timeout=5)
    finally:
        provider.close()
        collector.close()


def test_rag_answer_is_one_trace():
    exported = []

    def collector_script(path, body, headers):
        exported.append(body)
        return 200, {}, b"{}", 0

    collector = Provider(collector_script)
    try:
        tracer = llmkit.Tracer(from_environment=False, traces_endpoint=collector.url + "/v1/traces")
        rag = llmkit.RagPipeline(tracer=tracer, chunk_size=100, chunk_overlap=0)
        rag.ingest([{"id": "tides", "text": "Tides follow the moon."}])
        rag.answer("What causes tides?")
        tracer.flush(timeout=10)
        spans = {s["name"]: s for body in exported for rs in body["resourceSpans"]
                 for ss in rs["scopeSpans"] for s in ss["spans"]}
        assert set(spans) == {"llmkit.rag.ingest", "invoke_workflow rag", "retrieval local"}
        assert spans["retrieval local"]["parentSpanId"] == spans["invoke_workflow rag"]["spanId"]
        tracer.shutdown(timeout=5)
    finally:
        collector.close()


def test_retries_fallbacks_and_budget_refusals_are_counted():
    calls = []

    def flaky(path, body, headers):
        calls.append(path)
        if len(calls) == 1:
            return 503, {}, b'{"error": {"message": "overloaded"}}', 0
        return 200, {}, json.dumps(COMPLETION).encode(), 0

    provider = Provider(flaky)
    try:
        tracer = llmkit.Tracer(from_environment=False)
        client = llmkit.OpenAIClient(base_url=provider.url + "/v1", api_key="sk-test", model="gpt-4o-mini")
        retried = llmkit.with_retry(client, initial_backoff=0.001, tracer=tracer)
        model = llmkit.with_budget(retried, tracer=tracer,
                                   budgets=[llmkit.Budget(limit_usd=1e-9, tags={"user": "eve"}),
                                            llmkit.Budget(limit_usd=1e-9, hard=False, name="soft")])
        assert model.chat([{"role": "user", "content": "hi"}]).text == "Checking."
        try:
            model.chat([{"role": "user", "content": "hi"}], tags={"user": "eve"})
            raise AssertionError("the budget should refuse")
        except llmkit.RateLimitError as e:
            assert e.budget == "user=eve/month"
        text = tracer.prometheus_text()
        assert 'llmkit_retries' in text and 'error_type="503"' in text
        assert 'llmkit_budget_refusals' in text and 'llmkit_budget="user=eve/month"' in text
        assert 'llmkit_budget_soft_limits' in text and 'llmkit_budget="soft"' in text
        assert 'llmkit_client_operation_cost' not in text  # No WithTracing outside: no cost metric.
        tracer.shutdown()
    finally:
        provider.close()


def test_content_breaker_and_rate_limit_counters():
    exported = []

    def collector_script(path, body, headers):
        exported.append((path, body))
        return 200, {}, b"{}", 0

    down = {"on": True}

    def provider_script(path, body, headers):
        if down["on"]:
            return 503, {}, b'{"error": {"message": "overloaded"}}', 0
        return 200, {}, json.dumps(COMPLETION).encode(), 0

    provider, collector = Provider(provider_script), Provider(collector_script)
    try:
        tracer = llmkit.Tracer(from_environment=False, endpoint=collector.url)
        client = llmkit.OpenAIClient(base_url=provider.url + "/v1", api_key="sk-test", model="gpt-4o-mini")
        broken = llmkit.with_circuit_breaker(client, window=2, min_calls=2, name="openai", tracer=tracer)
        for _ in range(3):
            try:
                broken.chat([{"role": "user", "content": "hi"}])
            except llmkit.UnavailableError:
                pass
        limited = llmkit.with_rate_limit(client, requests_per_minute=1, wait=False, tracer=tracer)
        down["on"] = False
        recorded = llmkit.with_tracing(limited, tracer, record_content=True)
        assert recorded.chat([{"role": "user", "content": "Weather in Paris?"}]).text == "Checking."
        try:
            recorded.chat([{"role": "user", "content": "again"}])
            raise AssertionError("the rate limit should refuse")
        except llmkit.RateLimitError:
            pass
        text = tracer.prometheus_text()
        assert 'llmkit_circuit_breaker_state_changes_total{llmkit_circuit_breaker="openai",' \
               'llmkit_circuit_breaker_state="open"} 1' in text
        assert 'llmkit_circuit_breaker_rejections_total{llmkit_circuit_breaker="openai"} 1' in text
        assert 'llmkit_rate_limit_refusals_total{llmkit_rate_limit="local"} 1' in text
        tracer.flush(timeout=10)
        spans = [s for path, body in exported if path.endswith("/v1/traces")
                 for rs in body["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
        attributes = {a["key"]: a["value"] for a in spans[0]["attributes"]}
        messages = json.loads(attributes["gen_ai.input.messages"]["stringValue"])
        assert messages == [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
        assert "gen_ai.output.messages" in attributes
        tracer.shutdown(timeout=5)
    finally:
        provider.close()
        collector.close()
