// The response cache against the real OpenAI-compatible client and a scripted HTTP server on
// 127.0.0.1: what is a hit, what is a miss, tenants apart, streams replayed, identical calls in
// flight coalesced, TTL and the byte budget.

#include "llmkit/cache.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../http/test_server.h"
#include "absl/strings/str_cat.h"
#include "cost/redis_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/openai.h"
#include "llmkit/rag.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;

constexpr char kCompletion[] = R"({
  "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
    "role": "assistant", "content": "Checking.",
    "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
  "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}})";

const char* kChunks[] = {
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Check"}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"ing."}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}})",
};

Script Answer(const ServerRequest& request) {
  if (request.body.find("\"stream\":true") == std::string::npos) return Reply(200, kCompletion);
  std::string all;
  for (const char* chunk : kChunks) all += std::string("data: ") + chunk + "\n\n";
  all += "data: [DONE]\n\n";
  return ::llmkit::testing::StreamReply(all, 64);
}

std::shared_ptr<ChatModel> Client(const TestServer& server) {
  OpenAIOptions options;
  options.base_url = server.Url("/v1");
  options.api_key = "sk-test-secret";
  options.model = "gpt-4o-mini";
  return std::shared_ptr<ChatModel>(*NewOpenAIClient(std::move(options)));
}

std::shared_ptr<ResponseCache> NewCache(ResponseCacheOptions options = {}) {
  absl::StatusOr<std::shared_ptr<ResponseCache>> cache = ResponseCache::Create(std::move(options));
  EXPECT_TRUE(cache.ok()) << cache.status();
  return *cache;
}

std::shared_ptr<ChatModel> Cached(std::shared_ptr<ChatModel> model,
                                  std::shared_ptr<ResponseCache> cache,
                                  WithCacheOptions options = {}) {
  return std::shared_ptr<ChatModel>(*WithCache(std::move(model), std::move(cache), options));
}

ChatRequest Request() {
  ChatRequest request;
  request.messages = {{.role = "system", .content = "Be brief."},
                      {.role = "user", .content = "Weather in Paris?"}};
  request.temperature = 0;
  request.max_tokens = 50;
  request.tools = {{"get_weather", "Current weather",
                    *Json::Parse(R"({"type":"object","properties":{"city":{"type":"string"}}})")}};
  request.extra = *Json::Parse(R"({"user":"u-1","logprobs":false})");
  return request;
}

TEST(ResponseCache, ASecondIdenticalRequestIsServedWithoutTheProvider) {
  TestServer server(Answer);
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  absl::StatusOr<ChatResponse> first = model->Complete(Request());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(first->usage.total_tokens, 29);
  absl::StatusOr<ChatResponse> second = model->Complete(Request());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(second->cache_hit);
  EXPECT_GE(second->cache_age.count(), 0);
  EXPECT_EQ(second->text, "Checking.");
  ASSERT_EQ(second->message.tool_calls.size(), 1u);
  EXPECT_EQ(second->message.tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(second->usage.total_tokens, 0);  // Nothing billed...
  EXPECT_EQ(second->usage.input_tokens, 0);
  EXPECT_EQ(second->saved_usage.input_tokens, 20);  // ... and what it saved.
  EXPECT_EQ(second->saved_usage.output_tokens, 9);
  EXPECT_EQ(second->attempts, 0);
  ResponseCacheStats stats = cache->stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.stores, 1);
  EXPECT_EQ(stats.entries, 1);
  EXPECT_GT(stats.bytes, 0);
  EXPECT_EQ(stats.saved_usage.total_tokens, 29);
}

TEST(ResponseCache, HitsMissesAndSavedTokensAreCounted) {
  TestServer server(Answer);
  auto tracer = Tracer::Create().value();
  auto model = Cached(Client(server), NewCache(), {.tracer = tracer});
  ASSERT_TRUE(model->Complete(Request()).ok());
  ASSERT_TRUE(model->Complete(Request()).ok());
  ASSERT_TRUE(model->Complete(Request()).ok());
  const std::string metrics = tracer->PrometheusText();
  EXPECT_THAT(metrics, HasSubstr("llmkit_cache_misses_total{gen_ai_request_model=\"\"} 1"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          "llmkit_cache_hits_total{gen_ai_request_model=\"\",llmkit_cache_kind=\"exact\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("llmkit_cache_saved_tokens_total{gen_ai_request_model=\"\",gen_ai_"
                                 "token_type=\"input\"} 40"));
  EXPECT_THAT(metrics, HasSubstr("llmkit_cache_saved_tokens_total{gen_ai_request_model=\"\",gen_ai_"
                                 "token_type=\"output\"} 18"));
}

TEST(ResponseCache, KeyIgnoresJsonKeyOrderAndSpacingButNothingSent) {
  ChatRequest a = Request();
  ChatRequest b = Request();
  b.extra = *Json::Parse(R"({ "logprobs" : false, "user" : "u-1" })");
  b.tools[0].parameters =
      *Json::Parse(R"({"properties":{"city":{"type":"string"}},"type":"object"})");
  EXPECT_EQ(CanonicalRequest(a), CanonicalRequest(b));
  // Each change to what is sent gives another key.
  std::vector<std::function<void(ChatRequest&)>> changes = {
      [](ChatRequest& r) { r.model = "gpt-4o"; },
      [](ChatRequest& r) { r.messages[1].content = "Weather in Paris ?"; },
      [](ChatRequest& r) { r.messages[1].role = "assistant"; },
      [](ChatRequest& r) { r.messages.push_back({.role = "user", .content = ""}); },
      [](ChatRequest& r) { r.messages[1].parts = {{.type = "text", .text = "Weather in Paris?"}}; },
      [](ChatRequest& r) { r.messages[1].tool_call_id = "call_1"; },
      [](ChatRequest& r) {
        r.messages[0].tool_calls = {{"call_1", "get_weather", "{}"}};
      },
      [](ChatRequest& r) { r.temperature = 0.5; },
      [](ChatRequest& r) { r.temperature.reset(); },
      [](ChatRequest& r) { r.top_p = 1; },
      [](ChatRequest& r) { r.max_tokens = 51; },
      [](ChatRequest& r) { r.stop = {"\n"}; },
      [](ChatRequest& r) { r.seed = 1; },
      [](ChatRequest& r) { r.tools[0].description = "Weather now"; },
      [](ChatRequest& r) { r.tools.clear(); },
      [](ChatRequest& r) { r.tool_choice = "required"; },
      [](ChatRequest& r) { r.response_format = *Json::Parse(R"({"type":"json_object"})"); },
      [](ChatRequest& r) { r.extra = *Json::Parse(R"({"user":"u-2","logprobs":false})"); },
      [](ChatRequest& r) { r.extra = *Json::Parse(R"({"user":"u-1","logprobs":0})"); },
  };
  std::vector<std::string> keys = {CanonicalRequest(a)};
  for (size_t i = 0; i < changes.size(); ++i) {
    ChatRequest changed = Request();
    changes[i](changed);
    std::string key = CanonicalRequest(changed);
    for (const std::string& other : keys) EXPECT_NE(key, other) << "change " << i;
    keys.push_back(key);
  }
  // Strings that would run together in a naive concatenation stay apart.
  ChatRequest c = Request(), d = Request();
  c.messages[0].content = "ab";
  c.messages[1].content = "c";
  d.messages[0].content = "a";
  d.messages[1].content = "bc";
  EXPECT_NE(CanonicalRequest(c), CanonicalRequest(d));
}

TEST(ResponseCache, SampledRequestsGoToTheProviderUnlessOptedInOrSeeded) {
  TestServer server(Answer);
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  ChatRequest sampled = Request();
  sampled.temperature.reset();  // The provider's default samples.
  ASSERT_TRUE(model->Complete(sampled).ok());
  ASSERT_TRUE(model->Complete(sampled).ok());
  sampled.temperature = 0.7;
  ASSERT_TRUE(model->Complete(sampled).ok());
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(cache->stats().uncached, 3);
  ChatRequest seeded = sampled;
  seeded.seed = 42;
  ASSERT_TRUE(model->Complete(seeded).ok());
  EXPECT_TRUE(model->Complete(seeded)->cache_hit);
  EXPECT_EQ(server.requests(), 4);
  auto opted = Cached(Client(server), cache, {.cache_sampled = true});
  ASSERT_TRUE(opted->Complete(sampled).ok());
  EXPECT_TRUE(opted->Complete(sampled)->cache_hit);
  EXPECT_EQ(server.requests(), 5);
}

TEST(ResponseCache, TenantsNeverReadEachOthersEntries) {
  TestServer server(Answer);
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  CallContext alice, bob;
  alice.tags = {{"tenant", "alice"}, {"user", "u1"}};
  bob.tags = {{"tenant", "bob"}, {"user", "u1"}};
  ASSERT_TRUE(model->Complete(Request(), alice).ok());
  EXPECT_FALSE(model->Complete(Request(), bob)->cache_hit);
  EXPECT_FALSE(model->Complete(Request())->cache_hit);  // No tenant: a namespace of its own.
  EXPECT_EQ(server.requests(), 3);
  alice.tags["user"] = "u2";  // Not a namespace tag: same entry.
  EXPECT_TRUE(model->Complete(Request(), alice)->cache_hit);
  // Another scope on the same cache keeps a second model's entries apart.
  auto other = Cached(Client(server), cache, {.scope = "second-client"});
  EXPECT_FALSE(other->Complete(Request(), alice)->cache_hit);
  EXPECT_EQ(server.requests(), 4);
}

std::string Describe(const std::vector<StreamEvent>& events) {
  std::string out;
  for (const StreamEvent& e : events) {
    absl::StrAppend(&out, static_cast<int>(e.kind), ":", e.text, "|", e.tool_index, "|", e.tool_id,
                    "|", e.tool_name, "|", e.arguments_delta, "|", e.usage.total_tokens, ";");
  }
  return out;
}

TEST(ResponseCache, AStreamedHitReplaysTheStreamsEvents) {
  TestServer server(Answer);
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  std::vector<StreamEvent> live, replayed;
  absl::StatusOr<ChatResponse> first = model->Stream(Request(), [&](const StreamEvent& e) {
    live.push_back(e);
    return true;
  });
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ChatResponse> second = model->Stream(Request(), [&](const StreamEvent& e) {
    replayed.push_back(e);
    return true;
  });
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->text, first->text);
  ASSERT_EQ(live.size(), replayed.size());
  ASSERT_GE(live.size(), 5u);
  for (StreamEvent& e : live) e.usage.total_tokens = 0;  // A hit bills nothing.
  EXPECT_EQ(Describe(replayed), Describe(live));
  // The streamed entry answers Complete too, and a stopped replay is kCancelled.
  EXPECT_TRUE(model->Complete(Request())->cache_hit);
  int seen = 0;
  absl::StatusOr<ChatResponse> stopped =
      model->Stream(Request(), [&](const StreamEvent&) { return ++seen < 2; });
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 2);
  // An entry made by Complete streams as text, tool calls, usage, done.
  ChatRequest other = Request();
  other.max_tokens = 60;
  ASSERT_TRUE(model->Complete(other).ok());
  std::vector<StreamEvent> synthesized;
  ASSERT_TRUE(model
                  ->Stream(other,
                           [&](const StreamEvent& e) {
                             synthesized.push_back(e);
                             return true;
                           })
                  .ok());
  EXPECT_EQ(
      Describe(synthesized),
      "0:Checking.|0||||0;1:|0|call_1|get_weather|{\"city\":\"Paris\"}|0;2:|0||||0;3:|0||||0;");
  EXPECT_EQ(server.requests(), 2);
}

TEST(ResponseCache, IdenticalCallsInFlightMakeOneProviderCall) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest& request) {
    ++calls;
    Script script = {Sleep(300)};
    for (auto& step : Answer(request)) script.push_back(step);
    return script;
  });
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  std::vector<std::thread> threads;
  std::atomic<int> hits{0}, ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<ChatResponse> r = model->Complete(Request());
      if (r.ok()) ++ok;
      if (r.ok() && r->cache_hit) ++hits;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(hits.load(), 7);
  EXPECT_EQ(cache->stats().coalesced, 7);
  // A waiter keeps its own deadline and cancellation.
  ChatRequest slow = Request();
  slow.max_tokens = 7;
  std::thread leader([&] { EXPECT_TRUE(model->Complete(slow).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ChatResponse> late =
      model->Complete(slow, CallContext::WithTimeout(std::chrono::milliseconds(50)));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  CallContext cancelled;
  cancelled.cancellation = std::make_shared<Cancellation>();
  cancelled.cancellation->Cancel();
  EXPECT_EQ(model->Complete(slow, cancelled).status().code(), absl::StatusCode::kCancelled);
  leader.join();
  EXPECT_EQ(calls.load(), 2);
}

TEST(ResponseCache, FailuresAreNotCachedAndWaitersCallThemselves) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest& request) {
    if (++calls == 1) return Script{Sleep(200), Reply(500, R"({"error":{"message":"boom"}})")[0]};
    return Answer(request);
  });
  auto cache = NewCache();
  auto model = Cached(Client(server), cache);
  absl::StatusOr<ChatResponse> failed, waiter;
  std::thread first([&] { failed = model->Complete(Request()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread second([&] { waiter = model->Complete(Request()); });
  first.join();
  second.join();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  ASSERT_TRUE(waiter.ok()) << waiter.status();
  EXPECT_FALSE(waiter->cache_hit);  // It made its own call once the first failed.
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(model->Complete(Request())->cache_hit);
}

TEST(ResponseCache, EntriesExpireAndTheLeastRecentlyUsedAreEvicted) {
  TestServer server(Answer);
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  auto cache = NewCache(
      {.max_bytes = 20000, .max_entry_bytes = 5000, .ttl = std::chrono::seconds(10), .now = [now] {
         return *now;
       }});
  auto model = Cached(Client(server), cache);
  ASSERT_TRUE(model->Complete(Request()).ok());
  *now += std::chrono::seconds(9);
  absl::StatusOr<ChatResponse> hit = model->Complete(Request());
  EXPECT_TRUE(hit->cache_hit);
  EXPECT_EQ(hit->cache_age, std::chrono::seconds(9));
  *now += std::chrono::seconds(2);
  EXPECT_FALSE(model->Complete(Request())->cache_hit);  // Past its TTL: asked again.
  EXPECT_EQ(cache->stats().expirations, 1);
  // Fill past max_bytes: the least recently used go first.
  for (int i = 0; i < 40; ++i) {
    ChatRequest r = Request();
    r.max_tokens = 100 + i;
    ASSERT_TRUE(model->Complete(r).ok());
    if (i % 5 == 0) {
      EXPECT_TRUE(model->Complete(Request())->cache_hit) << i;  // Kept recent by its use.
    }
  }
  ResponseCacheStats stats = cache->stats();
  EXPECT_GT(stats.evictions, 0);
  EXPECT_LE(stats.bytes, 20000);
  EXPECT_TRUE(model->Complete(Request())->cache_hit);
  ChatRequest oldest = Request();
  oldest.max_tokens = 100;
  EXPECT_FALSE(model->Complete(oldest)->cache_hit);
  // A request larger than max_entry_bytes is answered, not stored.
  ChatRequest big = Request();
  big.messages[1].content = std::string(6000, 'x');
  ASSERT_TRUE(model->Complete(big).ok());
  EXPECT_FALSE(model->Complete(big)->cache_hit);
  EXPECT_EQ(cache->stats().too_large, 2);
  cache->Clear();
  EXPECT_EQ(cache->stats().entries, 0);
  EXPECT_FALSE(model->Complete(Request())->cache_hit);
}

TEST(ResponseCache, BadOptionsAreRefused) {
  EXPECT_THAT(ResponseCache::Create({.max_bytes = 0}).status().message(), HasSubstr("max_bytes"));
  EXPECT_THAT(ResponseCache::Create({.max_bytes = 10, .max_entry_bytes = 11}).status().message(),
              HasSubstr("max_entry_bytes"));
  EXPECT_TRUE(ResponseCache::Create({.max_bytes = 1000}).ok());  // Entries up to 1000 bytes.
  EXPECT_THAT(ResponseCache::Create({.ttl = std::chrono::seconds(-1)}).status().message(),
              HasSubstr("ttl"));
  EXPECT_EQ(WithCache(std::shared_ptr<ChatModel>(), NewCache()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithCache(std::shared_ptr<EmbeddingModel>(), NewCache()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The local embedder, counting the texts it is asked to embed.
class CountingEmbedder final : public EmbeddingModel {
 public:
  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    texts += static_cast<int>(inputs.size());
    ++calls;
    return local_->Embed(inputs, options, call);
  }
  std::atomic<int> texts{0}, calls{0};

 private:
  std::unique_ptr<EmbeddingModel> local_ = NewLocalEmbeddingModel().value();
};

void ExpectEmbeddingsCached(std::shared_ptr<ResponseCache> cache) {
  auto inner = std::make_shared<CountingEmbedder>();
  auto cached = WithCache(inner, cache).value();
  std::vector<std::string> first = {"alpha beta", "gamma", "delta epsilon"};
  absl::StatusOr<Embeddings> a = cached->Embed(first);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(inner->texts.load(), 3);
  // Two seen, one new: only the new one is sent, and the rows come back in input order.
  std::vector<std::string> second = {"gamma", "zeta", "alpha beta"};
  absl::StatusOr<Embeddings> b = cached->Embed(second);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(inner->texts.load(), 4);
  EXPECT_EQ(inner->calls.load(), 2);
  absl::StatusOr<Embeddings> direct = NewLocalEmbeddingModel().value()->Embed(second);
  EXPECT_EQ(b->dimensions, direct->dimensions);
  EXPECT_EQ(b->values, direct->values);
  // All seen: no call.
  absl::StatusOr<Embeddings> c = cached->Embed(first);
  EXPECT_EQ(inner->calls.load(), 2);
  EXPECT_EQ(c->values, a->values);
  EXPECT_EQ(c->requests, 0);
  // Other dimensions or another tenant: other keys.
  CallContext other;
  other.tags = {{"tenant", "globex"}};
  ASSERT_TRUE(cached->Embed(first, {}, other).ok());
  EXPECT_EQ(inner->texts.load(), 7);
}

TEST(ResponseCache, EmbeddingsAreCachedPerText) {
  auto cache = NewCache();
  ExpectEmbeddingsCached(cache);
  ResponseCacheStats stats = cache->stats();
  EXPECT_EQ(stats.hits, 5);
  EXPECT_EQ(stats.misses, 7);
  // An entry count limit.
  auto small = NewCache({.max_entries = 2});
  auto cached = WithCache(std::make_shared<CountingEmbedder>(), small).value();
  std::vector<std::string> texts = {"a", "b", "c"};
  ASSERT_TRUE(cached->Embed(texts).ok());
  EXPECT_EQ(small->stats().entries, 2);
}

TEST(ResponseCache, ADirectoryKeepsEntriesAcrossRestarts) {
  TestServer server(Answer);
  const std::string dir = ::testing::TempDir() + "/llmkit_cache_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  {
    auto cache = NewCache({.path = dir});
    auto model = Cached(Client(server), cache);
    ASSERT_TRUE(model->Complete(Request()).ok());
    ChatRequest other = Request();
    other.max_tokens = 9;
    ASSERT_TRUE(model->Stream(other, nullptr).ok());
  }
  EXPECT_EQ(server.requests(), 2);
  // Files that are not entries (a torn write, another program's) are skipped or deleted.
  {
    std::ofstream(dir + "/" + std::string(64, 'a') + ".json") << "{\"v\": 1, \"key\": \"no\"";
    std::ofstream(dir + "/notes.txt") << "keep me";
  }
  // A new process (a new cache on the same directory) answers both from the files.
  auto cache = NewCache({.path = dir});
  auto model = Cached(Client(server), cache);
  absl::StatusOr<ChatResponse> again = model->Complete(Request());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->message.tool_calls.size(), 1u);
  ChatRequest other = Request();
  other.max_tokens = 9;
  std::string streamed;
  ASSERT_TRUE(model
                  ->Stream(other,
                           [&](const StreamEvent& e) {
                             streamed += e.text;
                             return true;
                           })
                  ->cache_hit);
  EXPECT_EQ(streamed, "Checking.");
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(cache->stats().entries, 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/" + std::string(64, 'a') + ".json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/notes.txt"));
  // Clear deletes the files; entries past their TTL are not read back.
  cache->Clear();
  size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    files += f.path().extension() == ".json";
  EXPECT_EQ(files, 0u);
  {
    auto short_lived = NewCache({.ttl = std::chrono::milliseconds(300), .path = dir});
    ASSERT_TRUE(Cached(Client(server), short_lived)->Complete(Request()).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto later = NewCache({.ttl = std::chrono::milliseconds(300), .path = dir});
  EXPECT_EQ(later->stats().entries, 0);
  EXPECT_EQ(
      ResponseCache::Create({.path = dir, .redis_url = "redis://127.0.0.1:1"}).status().code(),
      absl::StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

// --- Redis -------------------------------------------------------------------------------------

// Two caches on one redis-server stand for two processes: what one stores the other serves,
// identical calls from both make one provider call, entries expire with their TTL, and a dead
// server leaves the calls working, uncached.
TEST(RedisResponseCache, ProcessesShareEntriesAndCoalesce) {
  if (!::llmkit::testing::RedisServer::Installed()) {
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no redis-server";
    GTEST_SKIP() << "Debian's redis-server is not installed (make deps installs it)";
  }
  ::llmkit::testing::RedisServer redis;
  ASSERT_TRUE(redis.ok());
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest& request) {
    ++calls;
    Script script = {Sleep(300)};
    for (auto& step : Answer(request)) script.push_back(step);
    return script;
  });
  ResponseCacheOptions options;
  options.redis_url = redis.url();
  options.ttl = std::chrono::seconds(2);
  auto first = NewCache(options);
  auto second = NewCache(options);
  auto a = Cached(Client(server), first);
  auto b = Cached(Client(server), second);
  // At once, from both "processes" and several threads each: one provider call.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, hits{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<ChatResponse> r = (i % 2 == 0 ? a : b)->Complete(Request());
      ok += r.ok();
      hits += r.ok() && r->cache_hit;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(hits.load(), 5);
  // Stored once, served to both, streamed too (the replay of an entry made by Complete).
  absl::StatusOr<ChatResponse> again = b->Complete(Request());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->saved_usage.total_tokens, 29);
  EXPECT_EQ(again->message.tool_calls.size(), 1u);
  std::string text;
  ASSERT_TRUE(a->Stream(Request(), [&](const StreamEvent& e) {
                 text += e.text;
                 return true;
               }).ok());
  EXPECT_EQ(text, "Checking.");
  EXPECT_EQ(calls.load(), 1);
  // Another tenant is another key in Redis too.
  CallContext other;
  other.tags = {{"tenant", "globex"}};
  EXPECT_FALSE(a->Complete(Request(), other)->cache_hit);
  // The TTL is the key's expiry.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_FALSE(b->Complete(Request())->cache_hit);
  EXPECT_EQ(calls.load(), 3);
  // Clear drops the prefix's keys.
  first->Clear();
  EXPECT_FALSE(a->Complete(Request())->cache_hit);
  // Embeddings through Redis too.
  first->Clear();
  ExpectEmbeddingsCached(first);
  // A dead server: calls still answered, counted as backend errors.
  redis.Stop();
  absl::StatusOr<ChatResponse> without = a->Complete(Request());
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_FALSE(without->cache_hit);
  EXPECT_GE(first->stats().backend_errors, 1);
}

}  // namespace
}  // namespace llmkit
