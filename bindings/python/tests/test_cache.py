"""llmkit.ResponseCache and with_cache from Python against a fake provider on 127.0.0.1: hits
without a request, tenants apart, sampled requests not cached, a replayed stream, identical
calls at once coalesced, and the cache under a budget counting nothing for a hit."""

import threading
import time

import pytest

import llmkit
from fake_provider import Provider, both_script

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def server():
    provider = Provider(both_script)
    yield provider
    provider.close()


def client(server):
    return llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-x", model="gpt-4o-mini")


def test_a_repeated_request_is_answered_from_the_cache(server):
    cache = llmkit.ResponseCache(max_bytes=1 << 20, ttl=60)
    model = llmkit.with_cache(client(server), cache)
    first = model.chat(QUESTION, temperature=0)
    again = model.chat(QUESTION, temperature=0)
    assert len(server.requests) == 1
    assert not first.cache_hit and again.cache_hit
    assert again.text == first.text and again.message == first.message
    assert again.usage.total_tokens == 0 and again.saved_usage.total_tokens == first.usage.total_tokens
    assert 0 <= again.cache_age < 5
    assert first.cache_age == 0 and first.saved_usage.total_tokens == 0
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.stores, stats.entries) == (1, 1, 1, 1)
    assert stats.saved_usage.total_tokens == first.usage.total_tokens
    # Sampled requests go to the provider each time unless opted in.
    model.chat(QUESTION)
    model.chat(QUESTION, temperature=0.7)
    assert len(server.requests) == 3 and cache.stats.uncached == 2
    opted = llmkit.with_cache(client(server), cache, cache_sampled=True, scope="opted")
    opted.chat(QUESTION, temperature=0.7)
    assert opted.chat(QUESTION, temperature=0.7).cache_hit
    assert len(server.requests) == 4
    cache.clear()
    assert cache.stats.entries == 0 and not model.chat(QUESTION, temperature=0).cache_hit


def test_tenants_are_kept_apart_by_their_tags(server):
    cache = llmkit.ResponseCache()
    model = llmkit.with_cache(client(server), cache, namespace_tags=["tenant", "user"])
    model.chat(QUESTION, temperature=0, tags={"tenant": "acme", "user": "u1"})
    assert not model.chat(QUESTION, temperature=0, tags={"tenant": "acme", "user": "u2"}).cache_hit
    assert not model.chat(QUESTION, temperature=0, tags={"tenant": "globex", "user": "u1"}).cache_hit
    assert model.chat(QUESTION, temperature=0, tags={"tenant": "acme", "user": "u1", "x": "y"}).cache_hit
    assert len(server.requests) == 3


def test_a_stream_that_hits_replays_the_same_events(server):
    cache = llmkit.ResponseCache()
    model = llmkit.with_cache(client(server), cache)
    live = model.stream(QUESTION, temperature=0)
    live_events = [(e.kind, e.text, e.tool_id, e.arguments_delta) for e in live]
    replay = model.stream(QUESTION, temperature=0)
    replay_events = [(e.kind, e.text, e.tool_id, e.arguments_delta) for e in replay]
    assert len(server.requests) == 1
    assert replay_events == live_events and len(live_events) > 2
    assert replay.response.cache_hit and replay.response.text == live.response.text


def test_identical_calls_at_once_make_one_request():
    def slow(path, body, headers):
        status, head, payload, _ = both_script(path, body, headers)
        return status, head, payload, 0.3

    server = Provider(slow)
    try:
        cache = llmkit.ResponseCache()
        model = llmkit.with_cache(client(server), cache)
        results = []

        def ask():
            results.append(model.chat(QUESTION, temperature=0))

        threads = [threading.Thread(target=ask) for _ in range(6)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(server.requests) == 1
        assert sum(r.cache_hit for r in results) == 5 and cache.stats.coalesced == 5
        assert time.monotonic() - start < 2
    finally:
        server.close()


def test_a_hit_under_a_budget_costs_nothing(server):
    ledger = llmkit.Ledger()
    cache = llmkit.ResponseCache()
    model = llmkit.with_budget(llmkit.with_cache(client(server), cache), ledger=ledger,
                               prices=llmkit.PriceTable.default(), provider="openai")
    paid = model.chat(QUESTION, temperature=0, tags={"user": "alice"})
    free = model.chat(QUESTION, temperature=0, tags={"user": "alice"})
    assert paid.cost.total > 0 and free.cache_hit and free.cost.total == 0
    spent = ledger.spent({"user": "alice"})
    assert spent["total_usd"] == pytest.approx(paid.cost.total)
    assert spent["calls"] == 2 and spent["cache_hits"] == 1
    assert spent["saved_usd"] == pytest.approx(paid.cost.total)  # The ledger counts the savings.


def test_a_redis_ledger_counts_the_savings_too(server, redis_url):
    ledger = llmkit.Ledger(redis_url=redis_url)
    model = llmkit.with_budget(llmkit.with_cache(client(server), llmkit.ResponseCache()), ledger=ledger,
                               prices=llmkit.PriceTable.default(), provider="openai")
    paid = model.chat(QUESTION, temperature=0, tags={"user": "bob"})
    model.chat(QUESTION, temperature=0, tags={"user": "bob"})
    model.chat(QUESTION, temperature=0, tags={"user": "bob"})
    spent = ledger.spent({"user": "bob"})
    assert spent["calls"] == 3 and spent["cache_hits"] == 2
    assert spent["saved_usd"] == pytest.approx(2 * paid.cost.total)
    assert spent["total_usd"] == pytest.approx(paid.cost.total)


def test_a_ledger_file_keeps_the_savings(server, tmp_path):
    path = str(tmp_path / "spend.ledger")
    ledger = llmkit.Ledger(path)
    model = llmkit.with_budget(llmkit.with_cache(client(server), llmkit.ResponseCache()), ledger=ledger,
                               prices=llmkit.PriceTable.default(), provider="openai")
    paid = model.chat(QUESTION, temperature=0, tags={"user": "carol"})
    model.chat(QUESTION, temperature=0, tags={"user": "carol"})
    del model, ledger
    reopened = llmkit.Ledger(path).spent({"user": "carol"})
    assert reopened["cache_hits"] == 1 and reopened["saved_usd"] == pytest.approx(paid.cost.total)


def test_bad_options_are_refused():
    with pytest.raises(llmkit.InvalidArgumentError, match="max_entry_bytes"):
        llmkit.ResponseCache(max_bytes=10, max_entry_bytes=11)
    with pytest.raises(llmkit.InvalidArgumentError, match="ttl"):
        llmkit.ResponseCache(ttl=-1)
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.ResponseCache(max_bytes=0)


def test_a_similar_question_hits_and_the_guard_refuses_a_different_one(server):
    cache = llmkit.ResponseCache()
    model = llmkit.with_cache(client(server), cache, embedder="local")
    model.chat([{"role": "user", "content": "How do I reset my password?"}], temperature=0)
    similar = model.chat([{"role": "user", "content": "How can I reset my password?"}], temperature=0)
    assert similar.cache_hit and 0.85 <= similar.cache_similarity < 1
    negated = model.chat([{"role": "user", "content": "How do I not reset my password?"}], temperature=0)
    assert not negated.cache_hit
    assert cache.stats.semantic_hits == 1 and cache.stats.guard_rejections >= 1
    assert len(server.requests) == 2
    assert llmkit.false_hit_reason("Is 17 prime?", "Is 21 prime?").startswith("numbers")
    assert llmkit.false_hit_reason("How do I reset it?", "How can I reset it?") == ""
    with pytest.raises(ValueError):
        llmkit.with_cache(client(server), cache, embedder="minilm")


# One process of the shared-cache test: its own client and cache on the shared Redis, waiting
# for the go file so that all ask at once.
WORKER = r"""
import json, os, sys, time
import llmkit
url, redis_url, go = sys.argv[1:4]
cache = llmkit.ResponseCache(redis_url=redis_url)
model = llmkit.with_cache(llmkit.OpenAIClient(base_url=url + "/v1", api_key="sk-x", model="gpt-4o-mini"), cache)
while not os.path.exists(go):
    time.sleep(0.005)
r = model.chat([{"role": "user", "content": "What is the capital of France?"}], temperature=0)
print(json.dumps({"hit": r.cache_hit, "text": r.text}))
"""


def test_four_processes_sharing_redis_make_one_provider_call(redis_url, tmp_path):
    import json
    import subprocess
    import sys

    def slow(path, body, headers):
        status, head, payload, _ = both_script(path, body, headers)
        return status, head, payload, 0.5

    server = Provider(slow)
    go = tmp_path / "go"
    try:
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, server.url, redis_url, str(go)],
                                    stdout=subprocess.PIPE, text=True) for _ in range(4)]
        time.sleep(1.0)  # Each has imported llmkit and connected.
        go.write_text("go")
        results = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
        assert all(w.returncode == 0 for w in workers)
        chat_requests = [r for r in server.requests if r[0].endswith("/chat/completions")]
        assert len(chat_requests) == 1
        assert sum(r["hit"] for r in results) == 3
        assert len({r["text"] for r in results}) == 1
        # A later process is served from Redis.
        cache = llmkit.ResponseCache(redis_url=redis_url)
        model = llmkit.with_cache(client(server), cache)
        assert model.chat(QUESTION, temperature=0).cache_hit
        assert len(server.requests) == 1
    finally:
        server.close()


def test_embed_sends_only_the_texts_the_cache_lacks(server):
    cache = llmkit.ResponseCache()
    model = llmkit.with_cache(client(server), cache)
    first = model.embed(["alpha", "beta"], model="text-embedding-3-small")
    second = model.embed(["beta", "gamma", "alpha"], model="text-embedding-3-small")
    sent = [body["input"] for path, _, body in server.requests if path.endswith("/embeddings")]
    assert sent == [["alpha", "beta"], ["gamma"]]
    assert second.shape == (3, first.shape[1])
    assert (second[0] == first[1]).all() and (second[2] == first[0]).all()
    assert cache.stats.hits == 2 and cache.stats.misses == 3


def test_a_directory_keeps_answers_for_the_next_process(server, tmp_path):
    first = llmkit.with_cache(client(server), llmkit.ResponseCache(path=str(tmp_path / "c")))
    assert not first.chat(QUESTION, temperature=0).cache_hit
    second = llmkit.with_cache(client(server), llmkit.ResponseCache(path=str(tmp_path / "c")))
    assert second.chat(QUESTION, temperature=0).cache_hit
    assert len(server.requests) == 1
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.ResponseCache(path=str(tmp_path / "c"), redis_url="redis://127.0.0.1:1")
