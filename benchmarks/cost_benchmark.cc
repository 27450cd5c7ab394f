// What pricing and budgets add to a model call: the same chat call through an in-process model,
// plain and through WithBudget (price the response, check one hard budget and reserve before
// the call, settle after) with the ledger in memory, in a file (one write per call) and in Redis
// (a redis-server this program starts on a free port of 127.0.0.1: one round trip to admit and
// one to settle), and from 8 threads sharing one budget. BM_Price: the price lookup and formula
// alone.
// Goal (issue 24): under 1 µs per call added, in memory. LiteLLM's proxy adds about 3-4 ms per
// request for its bookkeeping (its docs; PEERS.md).
//
//   build/release/benchmarks/cost_benchmark

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "common/redis.h"
#include "cost/redis_server.h"
#include "llmkit/cost.h"

namespace {

class FixedModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse r;
    r.id = "chatcmpl-1";
    r.model = request.model;
    r.text = "ok";
    r.finish_reason = "stop";
    r.usage = {
        .input_tokens = 120, .output_tokens = 8, .total_tokens = 128, .cached_input_tokens = 64};
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

// A redis-server for the Redis case, started once and stopped at exit; "" when it is not
// installed.
std::string RedisUrl() {
  static const std::unique_ptr<llmkit::testing::RedisServer> server =
      llmkit::testing::RedisServer::Installed() ? std::make_unique<llmkit::testing::RedisServer>()
                                                : nullptr;
  return server != nullptr && server->ok() ? server->url() : std::string();
}

llmkit::ChatRequest Request() {
  llmkit::ChatRequest request;
  request.model = "gpt-4o-mini";
  request.max_tokens = 256;
  request.messages = {{.role = "system", .content = "You answer briefly."},
                      {.role = "user", .content = "What is the capital of France?"}};
  return request;
}

llmkit::CallContext Call() {
  llmkit::CallContext call;
  call.tags = {{"user", "alice"}, {"feature", "chat"}, {"team", "search"}};
  return call;
}

void BM_Price(benchmark::State& state) {
  auto table = llmkit::PriceTable::Default();
  llmkit::Usage usage{.input_tokens = 120, .output_tokens = 8, .cached_input_tokens = 64};
  for (auto _ : state) {
    llmkit::Cost cost = table->Price("gpt-4o-mini-2024-07-18", usage, "openai");
    benchmark::DoNotOptimize(cost);
  }
}
BENCHMARK(BM_Price);

// Arg: 0 plain, 1 budgeted (ledger in memory), 2 budgeted (ledger file), 3 budgeted (Redis).
void BM_ChatCall(benchmark::State& state) {
  std::shared_ptr<llmkit::ChatModel> model = std::make_shared<FixedModel>();
  std::string path;
  if (state.range(0) > 0) {
    llmkit::LedgerOptions options;
    if (state.range(0) == 2) {
      path = "/tmp/llmkit_cost_benchmark_" + std::to_string(getpid()) + ".ledger";
      unlink(path.c_str());
      options.path = path;
    }
    if (state.range(0) == 3) {
      options.redis_url = RedisUrl();
      if (options.redis_url.empty()) {
        state.SkipWithError("redis-server is not installed");
        return;
      }
    }
    auto ledger = llmkit::Ledger::Open(options);
    if (!ledger.ok()) {
      state.SkipWithError(std::string(ledger.status().message()).c_str());
      return;
    }
    model = std::shared_ptr<llmkit::ChatModel>(
        llmkit::WithBudget(
            model, {.ledger = *ledger,
                    .budgets = {{.name = "alice", .limit_usd = 1e9, .tags = {{"user", "alice"}}}}})
            .value());
  }
  const llmkit::ChatRequest request = Request();
  const llmkit::CallContext call = Call();
  for (auto _ : state) {
    auto response = model->Complete(request, call);
    benchmark::DoNotOptimize(response);
  }
  if (!path.empty()) unlink(path.c_str());
}
BENCHMARK(BM_ChatCall)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

// The floor of the Redis case: one PING round trip through the same client.
void BM_RedisRoundTrip(benchmark::State& state) {
  const std::string url = RedisUrl();
  if (url.empty()) {
    state.SkipWithError("redis-server is not installed");
    return;
  }
  auto client = llmkit::internal::RedisClient::Connect(url).value();
  for (auto _ : state) {
    auto reply = client->Command({"PING"});
    benchmark::DoNotOptimize(reply);
  }
}
BENCHMARK(BM_RedisRoundTrip);

// One budgeted model and budget shared by the benchmark's threads.
std::shared_ptr<llmkit::ChatModel> SharedBudgeted() {
  static std::shared_ptr<llmkit::ChatModel> model = std::shared_ptr<llmkit::ChatModel>(
      llmkit::WithBudget(std::make_shared<FixedModel>(),
                         {.budgets = {{.name = "everyone", .limit_usd = 1e12}}})
          .value());
  return model;
}

void BM_SharedBudget(benchmark::State& state) {
  std::shared_ptr<llmkit::ChatModel> model = SharedBudgeted();
  const llmkit::ChatRequest request = Request();
  const llmkit::CallContext call = Call();
  for (auto _ : state) {
    auto response = model->Complete(request, call);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_SharedBudget)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
