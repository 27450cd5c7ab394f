// What the response cache costs and saves: an exact hit for a 10-message request (canonical key,
// lookup, copying the answer out), the canonical key alone, and a request that is not cacheable
// (sampled) passing through to an in-process model.
// Goal (issue 25): an in-process exact hit under 5 µs, key included.
//
//   build/release/benchmarks/cache_benchmark

#include <memory>
#include <string>

#include "benchmark/benchmark.h"
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

}  // namespace

BENCHMARK_MAIN();
