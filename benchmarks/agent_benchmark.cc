// The agent loop's own cost per turn, without a model or tools worth the name: an in-process
// model that asks for tool calls for a number of turns and then answers, and tools that return
// at once. BM_AgentTurn/1: one call a turn (run on the loop's thread); /3: three calls a turn
// (each on a thread of its own, as parallel tools run). BM_AgentTurnWithDeadline: one call a
// turn under a deadline (the call runs on its own thread so that the deadline can end it).
// Goal (issue 26): under 50 µs a turn.
//
//   build/release/benchmarks/agent_benchmark

#include <atomic>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "llmkit/agent.h"

namespace {

// Asks for `calls` get_weather calls a turn for `turns` turns, then answers.
class ScriptedModel : public llmkit::ChatModel {
 public:
  ScriptedModel(int turns, int calls) : turns_(turns), calls_(calls) {}
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse r;
    r.model = "gpt-4o-mini";
    r.usage = {.input_tokens = 100, .output_tokens = 10, .total_tokens = 110};
    r.message.role = "assistant";
    int assistant = 0;
    for (const llmkit::Message& m : request.messages) assistant += m.role == "assistant";
    if (assistant >= turns_) {
      r.text = r.message.content = "done";
      return r;
    }
    for (int i = 0; i < calls_; ++i) {
      r.message.tool_calls.push_back({"call_" + std::to_string(assistant) + "_" + std::to_string(i),
                                      "get_weather", R"({"city": "Paris"})"});
    }
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }

 private:
  int turns_;
  int calls_;
};

std::unique_ptr<llmkit::Agent> MakeAgent(int turns, int calls) {
  llmkit::AgentTool weather;
  weather.name = "get_weather";
  weather.parameters = *llmkit::Json::Parse(R"({"type": "object",
      "properties": {"city": {"type": "string"}}, "required": ["city"]})");
  weather.run = [](const llmkit::Json&,
                   const llmkit::ToolContext&) -> absl::StatusOr<llmkit::Json> {
    return llmkit::Json("18C");
  };
  auto agent = llmkit::Agent::Create(
      std::make_shared<ScriptedModel>(turns, calls),
      {.instructions = "Be brief.", .tools = {weather}, .limits = {.max_turns = turns + 1}});
  return std::move(*agent);
}

constexpr int kTurns = 8;

void Turns(benchmark::State& state, const llmkit::CallContext& call) {
  auto agent = MakeAgent(kTurns, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<llmkit::AgentResult> r = agent->Run("Weather in Paris?", call);
    if (!r.ok() || r->turns != kTurns + 1) state.SkipWithError("the run did not complete");
    benchmark::DoNotOptimize(r);
  }
  // Per turn: kTurns turns with tool calls and the answering one.
  state.SetItemsProcessed(state.iterations() * (kTurns + 1));
  state.counters["us_per_turn"] = benchmark::Counter(
      static_cast<double>(state.iterations() * (kTurns + 1)),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

void BM_AgentTurn(benchmark::State& state) { Turns(state, {}); }
BENCHMARK(BM_AgentTurn)->Arg(1)->Arg(3)->UseRealTime();

void BM_AgentTurnWithDeadline(benchmark::State& state) {
  Turns(state, llmkit::CallContext::WithTimeout(std::chrono::seconds(60)));
}
BENCHMARK(BM_AgentTurnWithDeadline)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
