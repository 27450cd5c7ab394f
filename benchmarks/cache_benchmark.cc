// What the response cache costs and saves: an exact hit for a 10-message request (canonical key,
// lookup, copying the answer out), the canonical key alone, and a request that is not cacheable
// (sampled) passing through to an in-process model; and a semantic hit among 10k and 100k entries
// (an embedder that returns prepared 384-dimension vectors, as MiniLM's, so that the figure is
// the cache's: search, guard, copy; the real embedding call comes on top).
// Goals (issue 25): an in-process exact hit under 5 µs, key included; a semantic hit over 100k
// entries under 1 ms plus the embedding call.
//
//   build/release/benchmarks/cache_benchmark

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "cache/prepared_embedder.h"
#include "cost/redis_server.h"
#include "llmkit/cache.h"

namespace {

class FixedModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse r;
    r.id = "chatcmpl-1";
    r.model = request.model;
    r.text = std::string(600, 'a');  // A few sentences.
    r.message.role = "assistant";
    r.message.content = r.text;
    r.finish_reason = "stop";
    r.usage = {.input_tokens = 420, .output_tokens = 150, .total_tokens = 570};
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

// A 10-message conversation of about 150 bytes a message, a tool, temperature 0.
llmkit::ChatRequest Request() {
  llmkit::ChatRequest request;
  request.model = "gpt-4o-mini";
  request.temperature = 0;
  request.max_tokens = 256;
  request.messages.push_back({.role = "system",
                              .content = "You are a helpful assistant who "
                                         "answers briefly and cites sources."});
  for (int i = 0; i < 9; ++i) {
    request.messages.push_back(
        {.role = i % 2 == 0 ? "user" : "assistant",
         .content = "Message " + std::to_string(i) +
                    ": what is the capital of the country we talked about, and how many people "
                    "live there today? Please answer in one sentence."});
  }
  request.tools = {
      {"get_weather", "Current weather for a city.",
       *llmkit::Json::Parse(R"({"type":"object","properties":{"city":{"type":"string"}},
                                             "required":["city"]})")}};
  return request;
}

void BM_ExactHit(benchmark::State& state) {
  auto cache = llmkit::ResponseCache::Create().value();
  auto model = llmkit::WithCache(std::make_shared<FixedModel>(), cache).value();
  const llmkit::ChatRequest request = Request();
  llmkit::CallContext call;
  call.tags = {{"tenant", "acme"}, {"user", "u-42"}};
  if (!model->Complete(request, call).ok()) state.SkipWithError("first call failed");
  for (auto _ : state) {
    absl::StatusOr<llmkit::ChatResponse> r = model->Complete(request, call);
    if (!r.ok() || !r->cache_hit) state.SkipWithError("not a hit");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ExactHit);

// The same through Redis (a redis-server this program starts on a free port of 127.0.0.1): one
// GET round trip, the JSON decoded. Skipped when redis-server is not installed.
void BM_RedisExactHit(benchmark::State& state) {
  static const std::unique_ptr<llmkit::testing::RedisServer> redis =
      llmkit::testing::RedisServer::Installed() ? std::make_unique<llmkit::testing::RedisServer>()
                                                : nullptr;
  if (redis == nullptr || !redis->ok()) {
    state.SkipWithError("redis-server not installed");
    return;
  }
  auto cache = llmkit::ResponseCache::Create({.redis_url = redis->url()}).value();
  auto model = llmkit::WithCache(std::make_shared<FixedModel>(), cache).value();
  const llmkit::ChatRequest request = Request();
  if (!model->Complete(request).ok()) state.SkipWithError("first call failed");
  for (auto _ : state) {
    absl::StatusOr<llmkit::ChatResponse> r = model->Complete(request);
    if (!r.ok() || !r->cache_hit) {
      state.SkipWithError("not a hit");
      break;
    }
  }
}
BENCHMARK(BM_RedisExactHit)->Unit(benchmark::kMicrosecond);

void BM_CanonicalKey(benchmark::State& state) {
  const llmkit::ChatRequest request = Request();
  for (auto _ : state) benchmark::DoNotOptimize(llmkit::CanonicalRequest(request));
}
BENCHMARK(BM_CanonicalKey);

void BM_SampledPassesThrough(benchmark::State& state) {
  auto cache = llmkit::ResponseCache::Create().value();
  auto inner = std::make_shared<FixedModel>();
  auto model = llmkit::WithCache(inner, cache).value();
  llmkit::ChatRequest request = Request();
  request.temperature = 0.7;
  for (auto _ : state) benchmark::DoNotOptimize(model->Complete(request));
}
BENCHMARK(BM_SampledPassesThrough);

void BM_NoCache(benchmark::State& state) {
  FixedModel model;
  llmkit::ChatRequest request = Request();
  for (auto _ : state) benchmark::DoNotOptimize(model.Complete(request, {}));
}
BENCHMARK(BM_NoCache);

llmkit::ChatRequest Question(int i, bool again) {
  llmkit::ChatRequest request;
  request.temperature = 0;
  request.messages = {
      {.role = "system", .content = "Be brief."},
      {.role = "user", .content = "question " + std::to_string(i) + (again ? ", again" : "")}};
  return request;
}

// The cache of `entries` questions, filled once per size (the benchmark function runs several
// times while Google Benchmark settles the iteration count).
std::shared_ptr<llmkit::ChatModel> FilledModel(int entries) {
  static std::map<int, std::shared_ptr<llmkit::ChatModel>> filled;
  std::shared_ptr<llmkit::ChatModel>& model = filled[entries];
  if (model != nullptr) return model;
  auto cache = llmkit::ResponseCache::Create({.max_bytes = size_t{4} << 30}).value();
  llmkit::WithCacheOptions options;
  options.semantic.embedder = std::make_shared<llmkit::testing::PreparedEmbedder>();
  options.semantic.threshold = 0.9;
  model = llmkit::WithCache(std::make_shared<FixedModel>(), cache, options).value();
  for (int i = 0; i < entries; ++i) {
    if (!model->Complete(Question(i, false)).ok()) return nullptr;
  }
  return model;
}

void BM_SemanticHit(benchmark::State& state) {
  const int entries = static_cast<int>(state.range(0));
  std::shared_ptr<llmkit::ChatModel> model = FilledModel(entries);
  if (model == nullptr) {
    state.SkipWithError("fill failed");
    return;
  }
  // A new wording each time (an exact entry would answer a repeat first), in letters (a number
  // would differ from the entry's, and the guard would refuse it).
  auto wording = [](int n) {
    std::string word;
    for (int k = 0; k < 4; ++k, n /= 26) word.push_back(static_cast<char>('a' + n % 26));
    return word;
  };
  int i = 0, hits = 0;
  for (auto _ : state) {
    llmkit::ChatRequest request = Question(i % entries, true);
    request.messages[1].content += " " + wording(i++);
    absl::StatusOr<llmkit::ChatResponse> r = model->Complete(request);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    // A miss (the approximate search did not reach the entry) goes to the model: counted.
    hits += r->cache_hit && r->cache_similarity < 1;
  }
  state.counters["hit_rate"] = i > 0 ? double(hits) / i : 0;
  state.counters["entries"] = entries;
}
BENCHMARK(BM_SemanticHit)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
