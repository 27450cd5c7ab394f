// Agent: the tool-calling loop with its ceilings (agent.h).

#include "llmkit/agent.h"

#include <mutex>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/tool_batch.h"
#include "common/absl_compat.h"
#include "llmkit/schema.h"
#include "llmkit/status.h"
#include "llmkit/template.h"

namespace llmkit {

namespace internal::agent {

// The counters a run and the runs nested in it (Agent::AsTool) share. Each level keeps its own
// counts (for its AgentResult) and checks its own limits; one mutex serves the whole tree.
struct Ceilings {
  std::shared_ptr<std::mutex> mu;
  std::shared_ptr<Ceilings> parent;
  AgentLimits limits;
  int64_t tool_calls = 0;  // Guarded by *mu, as the two below.
  Usage usage;
  Cost cost;

  // How many of `wanted` tool calls every level still allows; they are counted as made.
  int64_t ReserveToolCalls(int64_t wanted) {
    std::lock_guard<std::mutex> lock(*mu);
    int64_t allowed = wanted;
    for (const Ceilings* c = this; c != nullptr; c = c->parent.get()) {
      if (c->limits.max_tool_calls > 0) {
        allowed = std::min(allowed, std::max<int64_t>(0, c->limits.max_tool_calls - c->tool_calls));
      }
    }
    for (Ceilings* c = this; c != nullptr; c = c->parent.get()) c->tool_calls += allowed;
    return allowed;
  }
  void Add(const Usage& used, const Cost& spent) {
    std::lock_guard<std::mutex> lock(*mu);
    for (Ceilings* c = this; c != nullptr; c = c->parent.get()) {
      AddUsage(&c->usage, used);
      c->cost += spent;
    }
  }
  // The token or cost ceiling some level has reached.
  std::optional<AgentStopReason> Reached() {
    std::lock_guard<std::mutex> lock(*mu);
    for (const Ceilings* c = this; c != nullptr; c = c->parent.get()) {
      if (c->limits.max_tokens > 0 && c->usage.total_tokens >= c->limits.max_tokens) {
        return AgentStopReason::kMaxTokens;
      }
      if (c->limits.max_cost > 0 && c->cost.total >= c->limits.max_cost) {
        return AgentStopReason::kMaxCost;
      }
    }
    return std::nullopt;
  }
};

}  // namespace internal::agent

using internal::agent::Ceilings;
using internal::agent::ToolJob;
using internal::agent::ToolOutcome;

struct Agent::State {
  std::shared_ptr<ChatModel> model;
  AgentOptions options;
  std::optional<Template> instructions;
  std::vector<std::shared_ptr<const AgentTool>> tools;
  std::vector<JsonSchema> schemas;  // tools[i]'s arguments.
  absl::flat_hash_map<std::string, size_t> by_name;
  ChatRequest request;  // options.request with the tools: each turn moves the messages in.
  std::shared_ptr<const PriceTable> prices;
};

std::string_view AgentStopReasonName(AgentStopReason reason) {
  switch (reason) {
    case AgentStopReason::kCompleted:
      return "completed";
    case AgentStopReason::kMaxTurns:
      return "max_turns";
    case AgentStopReason::kMaxToolCalls:
      return "max_tool_calls";
    case AgentStopReason::kMaxTokens:
      return "max_tokens";
    case AgentStopReason::kMaxCost:
      return "max_cost";
    case AgentStopReason::kDeadline:
      return "deadline";
    case AgentStopReason::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

bool ValidToolName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// One run of the loop.
class Run {
 public:
  Run(const std::shared_ptr<const Agent::State>& agent, const CallContext& call,
      std::shared_ptr<Ceilings> ceilings, const AgentEventCallback& on_event)
      : agent_(agent),
        state_(*agent),
        call_(call),
        ceilings_(std::move(ceilings)),
        on_event_(on_event) {}

  absl::StatusOr<AgentResult> Go(std::vector<Message> transcript);

 private:
  void Emit(AgentEvent event) {
    if (on_event_) on_event_(event);
  }
  // The stop a failed model call means: the run's deadline or cancellation, else none.
  std::optional<AgentStopReason> StopOf(const absl::Status& status) const {
    if (call_.cancelled()) return AgentStopReason::kCancelled;
    if (call_.has_deadline() && call_.Remaining().count() == 0) return AgentStopReason::kDeadline;
    if (status.code() == absl::StatusCode::kCancelled && call_.cancelled()) {
      return AgentStopReason::kCancelled;
    }
    return std::nullopt;
  }
  std::optional<AgentStopReason> CheckBeforeTurn() {
    if (call_.cancelled()) return AgentStopReason::kCancelled;
    if (call_.has_deadline() && call_.Remaining().count() == 0) return AgentStopReason::kDeadline;
    if (turns_ >= state_.options.limits.max_turns) return AgentStopReason::kMaxTurns;
    return ceilings_->Reached();
  }
  absl::StatusOr<ChatResponse> Call(ChatRequest& request) {
    if (!on_event_) return state_.model->Complete(request, call_);
    return state_.model->Stream(
        request,
        [this](const StreamEvent& e) {
          if (e.kind == StreamEvent::Kind::kTextDelta && !e.text.empty()) {
            AgentEvent event;
            event.kind = AgentEvent::Kind::kTextDelta;
            event.turn = turns_;
            event.text = e.text;
            Emit(std::move(event));
          }
          return true;
        },
        call_);
  }
  void Account(const ChatResponse& response) {
    Cost cost = response.cost ? *response.cost : state_.prices->Price(response);
    ceilings_->Add(response.usage, cost);
  }
  // Runs the calls of `message` and appends their results; the stop they led to, if any.
  std::optional<AgentStopReason> RunCalls(const Message& message, std::vector<Message>* transcript);

  std::shared_ptr<const Agent::State> agent_;
  const Agent::State& state_;
  const CallContext& call_;
  std::shared_ptr<Ceilings> ceilings_;
  const AgentEventCallback& on_event_;
  int turns_ = 0;
  int64_t tool_calls_ = 0;
  int64_t tool_errors_ = 0;
};

std::optional<AgentStopReason> Run::RunCalls(const Message& message,
                                             std::vector<Message>* transcript) {
  // A copy: the results appended to *transcript may move `message`.
  const std::vector<ToolCall> calls = message.tool_calls;
  const size_t n = calls.size();
  std::vector<ToolOutcome> outcomes(n);
  std::vector<bool> ready(n, false);  // Outcome known without running the tool.
  std::vector<ToolJob> jobs;
  std::vector<size_t> job_of;  // jobs[j] is calls[job_of[j]].

  std::optional<AgentStopReason> stop = ceilings_->Reached();
  const int64_t allowed = stop ? 0 : ceilings_->ReserveToolCalls(static_cast<int64_t>(n));
  if (!stop && allowed < static_cast<int64_t>(n)) stop = AgentStopReason::kMaxToolCalls;
  for (size_t i = 0; i < n; ++i) {
    const ToolCall& call = calls[i];
    if (static_cast<int64_t>(i) >= allowed) {
      outcomes[i] = {absl::StrCat("Error: not run: the run reached its ",
                                  internal::ToAbsl(AgentStopReasonName(*stop)), " ceiling"),
                     true};
      ready[i] = true;
      continue;
    }
    ++tool_calls_;
    auto it = state_.by_name.find(call.name);
    if (it == state_.by_name.end()) {
      std::vector<std::string> names;
      for (const auto& tool : state_.tools) names.push_back(tool->name);
      outcomes[i] = {absl::StrCat("Error: there is no tool named '", call.name,
                                  "'; the tools are: ", absl::StrJoin(names, ", ")),
                     true};
      ready[i] = true;
      continue;
    }
    absl::StatusOr<Json> arguments =
        call.arguments.empty() ? Json::MakeObject() : Json::Parse(call.arguments);
    if (!arguments.ok()) {
      outcomes[i] = {absl::StrCat("Error: the arguments of ", call.name,
                                  " are not JSON: ", arguments.status().message()),
                     true};
      ready[i] = true;
      continue;
    }
    std::vector<SchemaError> errors = state_.schemas[it->second].Validate(*arguments);
    if (!errors.empty()) {
      std::string text = absl::StrCat("Error: invalid arguments for ", call.name, ":");
      for (const SchemaError& e : errors) {
        absl::StrAppend(&text, "\n- at '", e.instance_path, "' (", e.keyword_location,
                        "): ", e.message);
      }
      outcomes[i] = {std::move(text), true};
      ready[i] = true;
      continue;
    }
    jobs.push_back({state_.tools[it->second], *std::move(arguments), call});
    job_of.push_back(i);
  }

  auto started = [&](size_t i) {
    AgentEvent event;
    event.kind = AgentEvent::Kind::kToolCallStarted;
    event.turn = turns_;
    event.call = calls[i];
    Emit(std::move(event));
  };
  auto finished = [&](size_t i, const ToolOutcome& outcome) {
    AgentEvent event;
    event.kind = AgentEvent::Kind::kToolCallFinished;
    event.turn = turns_;
    event.call = calls[i];
    event.text = outcome.text;
    event.is_error = outcome.is_error;
    event.duration = outcome.duration;
    Emit(std::move(event));
  };
  // Calls refused before running still show as started and finished, in the model's order.
  for (size_t i = 0; i < n; ++i) {
    if (!ready[i]) continue;
    started(i);
    finished(i, outcomes[i]);
  }
  std::vector<ToolOutcome> ran;
  internal::agent::BatchEnd end = internal::agent::RunTools(
      jobs, call_, ceilings_, state_.options.max_parallel_tools, &ran,
      [&](size_t j) { started(job_of[j]); }, [&](size_t j) { finished(job_of[j], ran[j]); });
  for (size_t j = 0; j < jobs.size(); ++j) outcomes[job_of[j]] = std::move(ran[j]);
  for (size_t i = 0; i < n; ++i) {
    if (outcomes[i].is_error) ++tool_errors_;
    Message result;
    result.role = "tool";
    result.tool_call_id = calls[i].id;
    result.content = std::move(outcomes[i].text);
    transcript->push_back(std::move(result));
  }
  if (end == internal::agent::BatchEnd::kDeadline) return AgentStopReason::kDeadline;
  if (end == internal::agent::BatchEnd::kCancelled) return AgentStopReason::kCancelled;
  return stop;
}

absl::StatusOr<AgentResult> Run::Go(std::vector<Message> transcript) {
  ChatRequest request = state_.request;
  AgentResult result;
  std::optional<AgentStopReason> stop;
  while (true) {
    stop = CheckBeforeTurn();
    if (stop) break;
    ++turns_;
    AgentEvent turn;
    turn.kind = AgentEvent::Kind::kTurnStarted;
    turn.turn = turns_;
    Emit(std::move(turn));
    request.messages = std::move(transcript);
    absl::StatusOr<ChatResponse> response = Call(request);
    transcript = std::move(request.messages);
    if (!response.ok()) {
      stop = StopOf(response.status());
      if (!stop) return response.status();
      break;
    }
    Account(*response);
    Message message = std::move(response->message);
    message.role = "assistant";
    result.text = message.content;
    transcript.push_back(std::move(message));
    if (transcript.back().tool_calls.empty()) break;
    stop = RunCalls(transcript.back(), &transcript);
    if (stop) break;
  }
  const bool limit =
      stop && *stop != AgentStopReason::kDeadline && *stop != AgentStopReason::kCancelled;
  if (stop) {
    AgentEvent hit;
    hit.kind = AgentEvent::Kind::kLimitHit;
    hit.turn = turns_;
    hit.stop_reason = *stop;
    Emit(std::move(hit));
  }
  if (limit && state_.options.limits.final_answer_on_limit) {
    // One more call, tools offered but not allowed (some providers refuse a conversation with
    // tool calls and no tools), for an answer from what the run found so far.
    request.tool_choice = "none";
    request.messages = std::move(transcript);
    absl::StatusOr<ChatResponse> response = Call(request);
    transcript = std::move(request.messages);
    if (response.ok()) {
      ++turns_;
      Account(*response);
      Message message = std::move(response->message);
      message.role = "assistant";
      message.tool_calls.clear();  // Not run: the run is over.
      result.text = message.content;
      transcript.push_back(std::move(message));
    } else if (!StopOf(response.status())) {
      return response.status();
    }
  }
  result.stop_reason = stop.value_or(AgentStopReason::kCompleted);
  result.transcript = std::move(transcript);
  {
    std::lock_guard<std::mutex> lock(*ceilings_->mu);
    result.usage = ceilings_->usage;
    result.cost = ceilings_->cost;
  }
  result.turns = turns_;
  result.tool_calls = tool_calls_;
  result.tool_errors = tool_errors_;
  AgentEvent done;
  done.kind = AgentEvent::Kind::kFinished;
  done.turn = turns_;
  done.stop_reason = result.stop_reason;
  done.text = result.text;
  Emit(std::move(done));
  return result;
}

absl::StatusOr<AgentResult> RunAgent(const std::shared_ptr<const Agent::State>& state,
                                     std::vector<Message> input, const CallContext& call,
                                     const AgentRunOptions& options,
                                     std::shared_ptr<Ceilings> parent) {
  std::vector<Message> transcript;
  if (state->instructions) {
    absl::StatusOr<std::string> system = state->instructions->Render(options.variables, call);
    if (!system.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent instructions: ", system.status().message()));
    }
    transcript.push_back({.role = "system", .content = *std::move(system)});
    if (!input.empty() && input.front().role == "system") input.erase(input.begin());
  }
  for (Message& m : input) transcript.push_back(std::move(m));
  auto ceilings = std::make_shared<Ceilings>();
  ceilings->mu = parent != nullptr ? parent->mu : std::make_shared<std::mutex>();
  ceilings->parent = std::move(parent);
  ceilings->limits = state->options.limits;
  return Run(state, call, std::move(ceilings), options.on_event).Go(std::move(transcript));
}

}  // namespace

Agent::Agent(std::shared_ptr<const State> state) : state_(std::move(state)) {}
Agent::~Agent() = default;

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(std::shared_ptr<ChatModel> model,
                                                     AgentOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("Agent needs a model");
  const AgentLimits& limits = options.limits;
  if (limits.max_turns < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_turns must be at least 1, got ", limits.max_turns));
  }
  if (limits.max_tool_calls < 0 || limits.max_tokens < 0 || !(limits.max_cost >= 0)) {
    return absl::InvalidArgumentError(
        "max_tool_calls, max_tokens and max_cost must be >= 0 (0: no ceiling)");
  }
  if (options.max_parallel_tools < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_parallel_tools must be at least 1, got ", options.max_parallel_tools));
  }
  auto state = std::make_shared<State>();
  state->model = std::move(model);
  state->prices = options.prices != nullptr ? options.prices : PriceTable::Default();
  if (!options.instructions.empty()) {
    absl::StatusOr<Template> t = Template::Compile(options.instructions);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("agent instructions: ", t.status().message()));
    }
    state->instructions = *std::move(t);
  }
  state->request = options.request;
  state->request.messages.clear();
  state->request.tools.clear();
  for (AgentTool& tool : options.tools) {
    if (!ValidToolName(tool.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tool name '", tool.name, "' must be 1 to 64 of the characters A-Z a-z 0-9 _ -"));
    }
    if (!tool.run) {
      return absl::InvalidArgumentError(absl::StrCat("tool '", tool.name, "' has no function"));
    }
    if (tool.timeout.count() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("tool '", tool.name, "': negative timeout"));
    }
    if (tool.parameters.is_null()) {
      tool.parameters = Json::MakeObject();
      tool.parameters.Set("type", "object");
    }
    absl::StatusOr<JsonSchema> schema = JsonSchema::Compile(tool.parameters);
    if (!schema.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tool '", tool.name, "': its parameters: ", schema.status().message()));
    }
    if (!state->by_name.emplace(tool.name, state->tools.size()).second) {
      return absl::InvalidArgumentError(absl::StrCat("two tools are named '", tool.name, "'"));
    }
    state->request.tools.push_back({tool.name, tool.description, tool.parameters});
    state->schemas.push_back(*std::move(schema));
    state->tools.push_back(std::make_shared<const AgentTool>(std::move(tool)));
  }
  options.tools.clear();
  options.request = {};
  state->options = std::move(options);
  return std::unique_ptr<Agent>(new Agent(std::move(state)));
}

absl::StatusOr<AgentResult> Agent::Run(std::string_view input, const CallContext& call,
                                       const AgentRunOptions& run) const {
  std::vector<Message> messages;
  messages.push_back({.role = "user", .content = std::string(input)});
  return Run(std::move(messages), call, run);
}

absl::StatusOr<AgentResult> Agent::Run(std::vector<Message> input, const CallContext& call,
                                       const AgentRunOptions& run) const {
  return RunAgent(state_, std::move(input), call, run, nullptr);
}

AgentTool Agent::AsTool(std::string name, std::string description) const {
  AgentTool tool;
  tool.name = std::move(name);
  tool.description = std::move(description);
  tool.parameters = *Json::Parse(
      R"({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})");
  std::shared_ptr<const State> state = state_;
  tool.run = [state](const Json& arguments, const ToolContext& context) -> absl::StatusOr<Json> {
    std::vector<Message> input;
    input.push_back({.role = "user", .content = arguments.Find("input")->as_string()});
    LLMKIT_ASSIGN_OR_RETURN(AgentResult r,
                            RunAgent(state, std::move(input), context.call, {}, context.ceilings));
    if (r.stop_reason != AgentStopReason::kCompleted) {
      return absl::FailedPreconditionError(
          absl::StrCat("the agent stopped (", internal::ToAbsl(AgentStopReasonName(r.stop_reason)),
                       ") before answering"));
    }
    return Json(std::move(r.text));
  };
  return tool;
}

}  // namespace llmkit
