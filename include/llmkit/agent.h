// Agents: a tool-calling loop around any ChatModel whose every limit is enforced in code. Run
// sends the conversation, runs the tool calls the model asks for (several at once on a bounded
// set of threads), sends their results back and repeats until the model answers without tool
// calls, a ceiling is hit, or the caller cancels.
//
//   llmkit::AgentTool weather{.name = "get_weather", .description = "Weather for a city",
//                             .parameters = *llmkit::Json::Parse(R"({"type": "object", ...})"),
//                             .run = [](const llmkit::Json& args, const llmkit::ToolContext&)
//                                 -> absl::StatusOr<llmkit::Json> { return llmkit::Json("18C"); }};
//   auto agent = llmkit::Agent::Create(model, {.instructions = "Be brief.", .tools = {weather}});
//   absl::StatusOr<llmkit::AgentResult> r = (*agent)->Run("Weather in Paris?");
//   // r->text, r->stop_reason (kCompleted, kMaxTurns, ...), r->transcript, r->usage
//
// The loop, turn by turn (a turn is one model call):
// - Before each turn the ceilings are checked: turns (max_turns model calls; the tools the last
//   one asked for still run, as the OpenAI Agents SDK does), tool calls, tokens, cost, the call
//   context's deadline, its cancellation. A hit ends the run with a result that says which
//   (stop_reason) and carries the transcript so far; with final_answer_on_limit one more call
//   without tools asks the model for an answer.
// - A tool call's arguments are parsed and validated against the tool's JSON Schema before the
//   tool runs; bad arguments, an unknown tool, an error status, a C++ exception and a tool's own
//   timeout all become a tool result the model sees ("Error: ..."), counted in tool_errors.
// - The calls of one turn run concurrently (at most max_parallel_tools at a time); their results
//   go back in the model's order. A call that would pass max_tool_calls is not run: it gets the
//   result "Error: not run: ..." so the transcript stays a valid conversation.
// - A deadline or a cancellation ends the run at once, even inside a model call or a tool that
//   does not return (the tool is told through its ToolContext and left to finish on its own).
//
// Errors: Create returns kInvalidArgument for a bad tool name (not 1-64 of [A-Za-z0-9_-]), two
// tools with one name, a schema that does not compile, a tool without `run`, a limit < 0 or
// max_turns / max_parallel_tools < 1, instructions that are not a valid template. Run returns
// the model's error (anything but a deadline or a cancellation, which end the run with a result)
// and kInvalidArgument for instructions that fail to render.
//
// Threads: an Agent is immutable after Create; Run may be called from many threads at once (each
// run has its own state). Tools of one run are called concurrently from several threads.

#ifndef LLMKIT_AGENT_H_
#define LLMKIT_AGENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/cost.h"
#include "llmkit/json.h"

namespace llmkit {

namespace internal::agent {
struct Ceilings;
}  // namespace internal::agent

// What a tool sees of the run calling it.
struct ToolContext {
  // The run's deadline (or the tool's timeout, if sooner) and a cancellation that fires when the
  // run is cancelled, passes its deadline, or gives up on this tool. Long tools should check it.
  CallContext call;
  std::string call_id;  // The model's id of this call.
  // The run's shared ceilings, for a nested agent (Agent::AsTool) to draw from.
  std::shared_ptr<internal::agent::Ceilings> ceilings;
};

// A tool's result: a string is sent to the model as its text, anything else as compact JSON.
using ToolFunction = std::function<absl::StatusOr<Json>(const Json& arguments, const ToolContext&)>;

struct AgentTool {
  std::string name;         // 1-64 of [A-Za-z0-9_-], as the providers require.
  std::string description;  // What the model reads to choose the tool.
  // JSON Schema of the arguments (an object schema); null means {"type": "object"}. Arguments
  // are validated against it (draft 2020-12 unless `$schema` says otherwise) before `run`.
  Json parameters;
  ToolFunction run;
  // Longest a call may take; past it the model gets a timeout error and the run goes on.
  // Zero: only the run's deadline.
  std::chrono::milliseconds timeout{0};
};

struct AgentLimits {
  int max_turns = 10;          // Model calls, as the OpenAI Agents SDK's default.
  int64_t max_tool_calls = 0;  // Tool calls in all (0: no ceiling).
  int64_t max_tokens = 0;      // Usage.total_tokens of every model call (0: no ceiling).
  double max_cost = 0;         // US dollars, priced by AgentOptions::prices (0: no ceiling).
  // When a ceiling ends the run: one more model call, without tools, for a final answer.
  bool final_answer_on_limit = false;
};

struct AgentOptions {
  // The system message: a template (template.h) rendered with the run's variables (plain text
  // renders as itself). Empty: no system message.
  std::string instructions;
  std::vector<AgentTool> tools;
  AgentLimits limits;
  int max_parallel_tools = 8;  // Tool calls of one turn running at the same time.
  // What every request carries besides messages and tools: model, temperature, max_tokens, ...
  // (its messages and tools are ignored).
  ChatRequest request;
  // Prices for max_cost and AgentResult::cost (null: PriceTable::Default()).
  std::shared_ptr<const PriceTable> prices;
};

enum class AgentStopReason {
  kCompleted,     // The model answered without tool calls.
  kMaxTurns,      // max_turns model calls were made and the model still asked for tools.
  kMaxToolCalls,  // A call would have passed max_tool_calls.
  kMaxTokens,     // The tokens used reached max_tokens.
  kMaxCost,       // The cost reached max_cost.
  kDeadline,      // The call context's deadline passed.
  kCancelled,     // The call context was cancelled.
};

// "completed", "max_turns", "max_tool_calls", "max_tokens", "max_cost", "deadline", "cancelled".
std::string_view AgentStopReasonName(AgentStopReason reason);

struct AgentEvent {
  enum class Kind {
    kTurnStarted,       // turn
    kTextDelta,         // text: a piece of the model's reply as it streams
    kToolCallStarted,   // turn, call (id, name, arguments)
    kToolCallFinished,  // turn, call, text (the result the model gets), is_error, duration
    kLimitHit,          // stop_reason
    kFinished,          // stop_reason, text (the final answer)
  };
  Kind kind = Kind::kTurnStarted;
  int turn = 0;  // 1 for the first model call.
  ToolCall call;
  std::string text;
  bool is_error = false;
  std::chrono::nanoseconds duration{0};
  AgentStopReason stop_reason = AgentStopReason::kCompleted;
};

// Called one event at a time (never concurrently), from the run's thread or a tool's thread.
// With a callback, the model is called through ChatModel::Stream (for kTextDelta events).
using AgentEventCallback = std::function<void(const AgentEvent&)>;

struct AgentResult {
  std::string text;  // The last assistant message's text (the answer when kCompleted).
  AgentStopReason stop_reason = AgentStopReason::kCompleted;
  // The whole conversation: the system message, the input, every assistant message and tool
  // result. Sent back as `input` (without the system message) it continues the run.
  std::vector<Message> transcript;
  Usage usage;              // Every model call of the run (nested agents' included).
  Cost cost;                // usage priced by AgentOptions::prices.
  int turns = 0;            // Model calls of this agent.
  int64_t tool_calls = 0;   // Tool calls run (or refused for bad arguments) by this agent.
  int64_t tool_errors = 0;  // Of which ended with an error result.
};

struct AgentRunOptions {
  Json variables;  // For the instructions template (an object, or null).
  AgentEventCallback on_event;
};

class Agent {
 public:
  static absl::StatusOr<std::unique_ptr<Agent>> Create(std::shared_ptr<ChatModel> model,
                                                       AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs the loop on `input` (a user message) or on a conversation (continued; a leading system
  // message is replaced by the instructions when they are set).
  absl::StatusOr<AgentResult> Run(std::string_view input, const CallContext& call = {},
                                  const AgentRunOptions& run = {}) const;
  absl::StatusOr<AgentResult> Run(std::vector<Message> input, const CallContext& call = {},
                                  const AgentRunOptions& run = {}) const;

  // This agent as a tool of another: arguments {"input": string}; the result is the nested run's
  // text. The nested run draws from the calling run's ceilings (tool calls, tokens, cost,
  // deadline, cancellation) as well as its own, and its usage counts in the caller's.
  AgentTool AsTool(std::string name, std::string description) const;

  struct State;  // Internal.

 private:
  explicit Agent(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

}  // namespace llmkit

#endif  // LLMKIT_AGENT_H_
