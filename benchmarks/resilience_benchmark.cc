// Resilience: the full-size load run (10,000 calls at concurrency 64, 30% of requests failing,
// over HTTP to the scripted server) and the CPU cost of the decorators themselves around an
// in-process model.

#include <benchmark/benchmark.h>

#include "common/must.h"
#include "resilience/load.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

void BM_LoadWithRetryBudget(benchmark::State& state) {
  testing::LoadOptions options;
  options.calls = static_cast<int>(state.range(0));
  options.budget_ratio = static_cast<double>(state.range(1)) / 100.0;
  options.budget_burst = options.budget_ratio >= 0.5 ? 100 : 10;
  testing::LoadResult r;
  for (auto _ : state) r = testing::RunLoad(options);
  state.counters["calls_per_s"] = options.calls / r.seconds;
  state.counters["extra_load"] = r.extra_load;
  state.counters["succeeded"] = r.succeeded;
  state.counters["refused_by_budget"] = r.refused_by_budget;
  state.counters["slowest_call_s"] = r.slowest_call_seconds;
  state.counters["leaked_threads"] = r.threads_after - r.threads_before;
  state.counters["leaked_fds"] = r.fds_after - r.fds_before;
}
BENCHMARK(BM_LoadWithRetryBudget)
    ->Args({10'000, 50})
    ->Args({10'000, 10})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

class InstantModel final : public ChatModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest&, const CallContext&) override {
    return ChatResponse{};
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& r, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(r, call);
  }
};

// Retry(Fallback(Breaker(RateLimit(model)))) per call, against the bare model.
void BM_DecoratorStack(benchmark::State& state) {
  std::shared_ptr<ChatModel> model = std::make_shared<InstantModel>();
  if (state.range(0) == 1) {
    model =
        Must(WithRateLimit(model, Must(RateLimiter::Create(RateLimitPolicy{
                                      .requests_per_minute = 1e12, .tokens_per_minute = 1e15}))));
    model = Must(WithCircuitBreaker(model, Must(CircuitBreaker::Create())));
    model = Must(WithFallback({{model}, {std::make_shared<InstantModel>()}}));
    model = Must(WithRetry(model, {.budget = Must(RetryBudget::Create())}));
  }
  ChatRequest request;
  request.messages = {{.role = "user", .content = std::string(2000, 'x')}};
  for (auto _ : state) benchmark::DoNotOptimize(model->Complete(request));
  state.SetLabel(state.range(0) == 1 ? "retry+fallback+breaker+rate limit" : "bare model");
}
BENCHMARK(BM_DecoratorStack)->Arg(0)->Arg(1);

}  // namespace
}  // namespace llmkit

BENCHMARK_MAIN();
