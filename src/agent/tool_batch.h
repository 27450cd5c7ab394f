// One turn's tool calls run concurrently: at most `max_parallel` at a time, each on a thread of
// its own, each with its own deadline; the run's thread waits, reports events in order and gives
// up on a tool past its timeout or on the whole batch once the run is cancelled or out of time.

#ifndef LLMKIT_SRC_AGENT_TOOL_BATCH_H_
#define LLMKIT_SRC_AGENT_TOOL_BATCH_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/agent.h"

namespace llmkit::internal::agent {

// A call ready to run: its tool and parsed, validated arguments.
struct ToolJob {
  std::shared_ptr<const AgentTool> tool;
  Json arguments;
  ToolCall call;
  TraceContext trace;  // The tool call's span, when traced: the tool's context carries it.
};

// What became of a job.
struct ToolOutcome {
  std::string text;  // What the model gets.
  bool is_error = false;
  std::chrono::nanoseconds duration{0};
};

// The text a tool's value or error becomes.
ToolOutcome OutcomeOf(const absl::StatusOr<Json>& value);

enum class BatchEnd { kDone, kDeadline, kCancelled };

// Runs `jobs`, filling `outcomes` (same order). `started(i)` and `finished(i)` are called on
// this thread as job i starts and ends (with `live_events`; else finished() may come when the
// last running job ends). Returns kDeadline or kCancelled when the run's call
// ended first: jobs not finished then get an error outcome and are left to end on their own.
BatchEnd RunTools(const std::vector<ToolJob>& jobs, const CallContext& run_call,
                  const std::shared_ptr<Ceilings>& ceilings, int max_parallel,
                  std::vector<ToolOutcome>* outcomes, const std::function<void(size_t)>& started,
                  const std::function<void(size_t)>& finished, bool live_events);

}  // namespace llmkit::internal::agent

#endif  // LLMKIT_SRC_AGENT_TOOL_BATCH_H_
