// Evaluation throughput (issue 27's goal): 1,000 cases × 3 repeats at concurrency 32 against an
// OpenAI-compatible server on 127.0.0.1 that answers each call after 20 ms must finish within
// 1.3x of the ideal time (3,000 calls × 20 ms / 32 = 1.875 s). Counters: seconds, ideal_seconds
// and ratio (seconds / ideal; the goal is <= 1.3).
//
//   build/release/benchmarks/eval_benchmark

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "http/scripted_chat_server.h"
#include "http/test_server.h"
#include "llmkit/eval.h"

namespace {

using llmkit::testing::OpenAIText;
using llmkit::testing::Reply;
using llmkit::testing::Script;
using llmkit::testing::ServerRequest;
using llmkit::testing::Sleep;
using llmkit::testing::TestServer;

constexpr int kCases = 1000;
constexpr int kRepeat = 3;
constexpr int kDelayMs = 20;

void BM_EvalSuiteAtConcurrency(benchmark::State& state) {
  const int concurrency = static_cast<int>(state.range(0));
  TestServer server([](const ServerRequest&) {
    Script script = Reply(200, OpenAIText("The capital of France is Paris."));
    script.insert(script.begin(), Sleep(kDelayMs));
    return script;
  });
  std::string yaml = absl::StrCat(
      "prompts: ['Case {{ i }}: what is the capital of France?']\nproviders:\n"
      "  - id: openai:chat:gpt-4o-mini\n    config: {apiBaseUrl: ",
      server.Url("/v1"), ", apiKey: k}\ntests:\n");
  for (int i = 0; i < kCases; ++i) {
    absl::StrAppend(&yaml, "  - {vars: {i: ", i,
                    "}, assert: [{type: contains, value: Paris}, {type: latency, threshold: "
                    "5000}]}\n");
  }
  absl::StatusOr<llmkit::EvalSuite> suite = llmkit::ParseEvalSuite(yaml, "");
  if (!suite.ok()) {
    state.SkipWithError(std::string(suite.status().message()).c_str());
    return;
  }
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<llmkit::EvalReport> report =
        llmkit::RunEval(*suite, {.repeat = kRepeat, .concurrency = concurrency});
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!report.ok() || !report->AllPassed()) {
      state.SkipWithError("the suite did not pass");
      return;
    }
  }
  const double ideal = kCases * kRepeat * kDelayMs / 1000.0 / concurrency;
  state.counters["seconds"] = seconds;
  state.counters["ideal_seconds"] = ideal;
  state.counters["ratio"] = seconds / ideal;
  state.counters["max_in_flight"] = server.max_in_flight();
}
BENCHMARK(BM_EvalSuiteAtConcurrency)
    ->Arg(32)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
