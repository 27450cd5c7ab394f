// Agent: the tool-calling loop with its ceilings (agent.h).

#include "llmkit/agent.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/run_store_impl.h"
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
    case AgentStopReason::kAwaitingApproval:
      return "awaiting_approval";
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

// One tool call of a turn on its way to a result.
struct Slot {
  enum class Kind { kDone, kRun, kAwait };
  Kind kind = Kind::kDone;
  ToolCall call;
  size_t tool = 0;      // kRun, kAwait: index into State::tools.
  Json arguments;       // kRun, kAwait: parsed and valid.
  ToolOutcome outcome;  // kDone.
};

int64_t IntAt(const Json& j, std::string_view key) {
  const Json* v = j.Find(key);
  return v != nullptr && v->is_int() ? v->as_int() : 0;
}

double DoubleAt(const Json& j, std::string_view key) {
  const Json* v = j.Find(key);
  return v != nullptr && v->is_number() ? v->as_double() : 0;
}

Json CostJson(const Cost& c) {
  Json j = Json::MakeObject();
  j.Set("priced", c.priced);
  j.Set("unpriced_model", c.unpriced_model);
  j.Set("input", c.input);
  j.Set("cached_input", c.cached_input);
  j.Set("cache_write", c.cache_write);
  j.Set("output", c.output);
  j.Set("reasoning", c.reasoning);
  j.Set("total", c.total);
  return j;
}

Cost CostOf(const Json& j) {
  Cost c;
  const Json* priced = j.Find("priced");
  c.priced = priced == nullptr || !priced->is_bool() || priced->as_bool();
  if (const Json* m = j.Find("unpriced_model"); m != nullptr && m->is_string()) {
    c.unpriced_model = m->as_string();
  }
  c.input = DoubleAt(j, "input");
  c.cached_input = DoubleAt(j, "cached_input");
  c.cache_write = DoubleAt(j, "cache_write");
  c.output = DoubleAt(j, "output");
  c.reasoning = DoubleAt(j, "reasoning");
  c.total = DoubleAt(j, "total");
  return c;
}

std::string NewRunId() {
  std::random_device random;
  std::string id = "run_";
  for (int i = 0; i < 4; ++i) absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  return id;
}

// One run of the loop.
class Run {
 public:
  Run(const std::shared_ptr<const Agent::State>& agent, const CallContext& call,
      std::shared_ptr<Ceilings> ceilings, const AgentEventCallback& on_event)
      : agent_(agent),
        state_(*agent),
        span_(agent->options.tracer != nullptr
                  ? agent->options.tracer->StartSpan(
                        absl::StrCat("invoke_agent ", agent->options.name), call.trace,
                        SpanKind::kInternal)
                  : Span()),
        call_(span_.active() ? span_.ChildContext(call) : call),
        ceilings_(std::move(ceilings)),
        on_event_(on_event) {}

  // From `transcript`; with `resumed`, first finishes the calls of its last message.
  absl::StatusOr<AgentResult> Go(std::vector<Message> transcript,
                                 std::optional<std::vector<Slot>> resumed = std::nullopt,
                                 std::optional<AgentStopReason> resumed_stop = std::nullopt);
  // A saved run's counters, before Go.
  void Restore(const Json& state, std::string run_id) {
    turns_ = static_cast<int>(IntAt(state, "turns"));
    tool_calls_ = IntAt(state, "tool_calls");
    tool_errors_ = IntAt(state, "tool_errors");
    if (const Json* u = state.Find("usage")) ceilings_->usage = UsageFromJson(*u);
    if (const Json* c = state.Find("cost")) ceilings_->cost = CostOf(*c);
    ceilings_->tool_calls = IntAt(state, "ceiling_tool_calls");
    run_id_ = std::move(run_id);
  }
  // The slots a resumed run finishes: its saved calls with the reviewers' decisions.
  absl::StatusOr<std::vector<Slot>> ResumedSlots(const Json& state,
                                                 const std::vector<ApprovalDecision>& decisions);

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
  // The calls of `message` as slots: refused past a ceiling, bad arguments, unknown tools, to
  // run, or awaiting approval. *stop: the ceiling that refused some.
  std::vector<Slot> Prepare(const Message& message, std::optional<AgentStopReason>* stop);
  // Validates `arguments` for tools[index]; an error outcome when they do not fit.
  std::optional<ToolOutcome> Check(const ToolCall& call, size_t index, const Json& arguments);
  // Runs the kRun slots (they become kDone). kDeadline / kCancelled when the run ended first.
  internal::agent::BatchEnd Execute(std::vector<Slot>& slots);
  // Appends every slot's result to *transcript, in the model's order.
  void Append(std::vector<Slot>& slots, std::vector<Message>* transcript);
  // Saves the run (the turn's slots with it) for approval; the pending calls.
  absl::StatusOr<std::vector<PendingApproval>> Pause(const std::vector<Message>& transcript,
                                                     const std::vector<Slot>& slots,
                                                     std::optional<AgentStopReason> stop);
  Json SavedState(const std::vector<Message>& transcript) const;

  std::shared_ptr<const Agent::State> agent_;
  const Agent::State& state_;
  Span span_;         // invoke_agent, when traced.
  CallContext call_;  // The caller's, with the run's span as the trace parent.
  std::shared_ptr<Ceilings> ceilings_;
  const AgentEventCallback& on_event_;
  int turns_ = 0;
  int64_t tool_calls_ = 0;
  int64_t tool_errors_ = 0;
  std::string run_id_;  // Once saved in the run store.
};

std::optional<ToolOutcome> Run::Check(const ToolCall& call, size_t index, const Json& arguments) {
  if (state_.schemas[index].IsValid(arguments)) return std::nullopt;  // No error paths built.
  std::vector<SchemaError> errors = state_.schemas[index].Validate(arguments);
  std::string text = absl::StrCat("Error: invalid arguments for ", call.name, ":");
  for (const SchemaError& e : errors) {
    absl::StrAppend(&text, "\n- at '", e.instance_path, "' (", e.keyword_location,
                    "): ", e.message);
  }
  return ToolOutcome{std::move(text), true};
}

std::vector<Slot> Run::Prepare(const Message& message, std::optional<AgentStopReason>* stop) {
  const std::vector<ToolCall>& calls = message.tool_calls;
  const size_t n = calls.size();
  std::vector<Slot> slots(n);
  *stop = ceilings_->Reached();
  const int64_t allowed = *stop ? 0 : ceilings_->ReserveToolCalls(static_cast<int64_t>(n));
  if (!*stop && allowed < static_cast<int64_t>(n)) *stop = AgentStopReason::kMaxToolCalls;
  for (size_t i = 0; i < n; ++i) {
    Slot& slot = slots[i];
    slot.call = calls[i];
    if (static_cast<int64_t>(i) >= allowed) {
      slot.outcome = {absl::StrCat("Error: not run: the run reached its ",
                                   internal::ToAbsl(AgentStopReasonName(**stop)), " ceiling"),
                      true};
      continue;
    }
    ++tool_calls_;
    auto it = state_.by_name.find(slot.call.name);
    if (it == state_.by_name.end()) {
      std::vector<std::string> names;
      for (const auto& tool : state_.tools) names.push_back(tool->name);
      slot.outcome = {absl::StrCat("Error: there is no tool named '", slot.call.name,
                                   "'; the tools are: ", absl::StrJoin(names, ", ")),
                      true};
      continue;
    }
    absl::StatusOr<Json> arguments =
        slot.call.arguments.empty() ? Json::MakeObject() : Json::Parse(slot.call.arguments);
    if (!arguments.ok()) {
      slot.outcome = {absl::StrCat("Error: the arguments of ", slot.call.name,
                                   " are not JSON: ", arguments.status().message()),
                      true};
      continue;
    }
    if (std::optional<ToolOutcome> bad = Check(slot.call, it->second, *arguments)) {
      slot.outcome = *std::move(bad);
      continue;
    }
    const AgentTool& tool = *state_.tools[it->second];
    const bool needs_approval =
        tool.needs_approval || (tool.needs_approval_if && tool.needs_approval_if(*arguments));
    slot.kind = needs_approval ? Slot::Kind::kAwait : Slot::Kind::kRun;
    slot.tool = it->second;
    slot.arguments = *std::move(arguments);
  }
  return slots;
}

internal::agent::BatchEnd Run::Execute(std::vector<Slot>& slots) {
  auto started = [&](size_t i) {
    AgentEvent event;
    event.kind = AgentEvent::Kind::kToolCallStarted;
    event.turn = turns_;
    event.call = slots[i].call;
    Emit(std::move(event));
  };
  auto finished = [&](size_t i, const ToolOutcome& outcome) {
    AgentEvent event;
    event.kind = AgentEvent::Kind::kToolCallFinished;
    event.turn = turns_;
    event.call = slots[i].call;
    event.text = outcome.text;
    event.is_error = outcome.is_error;
    event.duration = outcome.duration;
    Emit(std::move(event));
  };
  std::vector<ToolJob> jobs;
  std::vector<size_t> slot_of;  // jobs[j] is slots[slot_of[j]].
  std::vector<Span> spans;      // spans[j]: jobs[j]'s execute_tool span, when traced.
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].kind != Slot::Kind::kRun) continue;
    jobs.push_back({state_.tools[slots[i].tool], std::move(slots[i].arguments), slots[i].call, {}});
    slot_of.push_back(i);
    if (span_.active()) {
      Span span = state_.options.tracer->StartSpan(
          absl::StrCat("execute_tool ", slots[i].call.name), call_.trace, SpanKind::kInternal);
      span.SetStringAttribute("gen_ai.operation.name", "execute_tool");
      span.SetStringAttribute("gen_ai.tool.name", slots[i].call.name);
      span.SetStringAttribute("gen_ai.tool.call.id", slots[i].call.id);
      span.SetStringAttribute("gen_ai.tool.type", "function");
      jobs.back().trace.traceparent = span.traceparent();
      spans.push_back(std::move(span));
    }
  }
  auto end_span = [&](size_t j, const ToolOutcome& outcome) {
    if (j >= spans.size()) return;
    if (outcome.is_error) spans[j].SetError("tool_error", outcome.text);
    spans[j].End();
  };
  std::vector<ToolOutcome> ran;
  internal::agent::BatchEnd end = internal::agent::RunTools(
      jobs, call_, ceilings_, state_.options.max_parallel_tools, &ran,
      [&](size_t j) { started(slot_of[j]); },
      [&](size_t j) {
        end_span(j, ran[j]);
        finished(slot_of[j], ran[j]);
      },
      static_cast<bool>(on_event_));
  for (size_t j = 0; j < jobs.size(); ++j) {
    Slot& slot = slots[slot_of[j]];
    slot.kind = Slot::Kind::kDone;
    slot.outcome = std::move(ran[j]);
  }
  return end;
}

void Run::Append(std::vector<Slot>& slots, std::vector<Message>* transcript) {
  for (Slot& slot : slots) {
    if (slot.outcome.is_error) ++tool_errors_;
    Message result;
    result.role = "tool";
    result.tool_call_id = slot.call.id;
    result.content = std::move(slot.outcome.text);
    transcript->push_back(std::move(result));
  }
}

Json Run::SavedState(const std::vector<Message>& transcript) const {
  Json state = Json::MakeObject();
  state.Set("version", 1);
  state.Set("transcript", internal::agent::MessagesToJson(transcript));
  state.Set("turns", turns_);
  state.Set("tool_calls", tool_calls_);
  state.Set("tool_errors", tool_errors_);
  std::lock_guard<std::mutex> lock(*ceilings_->mu);
  state.Set("usage", UsageToJson(ceilings_->usage));
  state.Set("cost", CostJson(ceilings_->cost));
  state.Set("ceiling_tool_calls", ceilings_->tool_calls);
  return state;
}

absl::StatusOr<std::vector<PendingApproval>> Run::Pause(const std::vector<Message>& transcript,
                                                        const std::vector<Slot>& slots,
                                                        std::optional<AgentStopReason> stop) {
  Json state = SavedState(transcript);
  Json calls = Json::MakeArray();
  std::vector<PendingApproval> pending;
  for (const Slot& slot : slots) {
    Json c = Json::MakeObject();
    c.Set("call_id", slot.call.id);
    if (slot.kind == Slot::Kind::kAwait) {
      c.Set("await", true);
      c.Set("arguments", slot.arguments);
      pending.push_back({run_id_, slot.call.id, slot.call.name, slot.arguments, {}});
    } else {
      c.Set("text", slot.outcome.text);
      c.Set("is_error", slot.outcome.is_error);
    }
    calls.push_back(std::move(c));
  }
  state.Set("calls", std::move(calls));
  if (stop) state.Set("stop", std::string(AgentStopReasonName(*stop)));
  RunStore::Impl& store = internal::agent::RunStoreAccess::Of(*state_.options.run_store);
  LLMKIT_RETURN_IF_ERROR(store.SavePaused(run_id_, state, pending));
  const auto now = std::chrono::system_clock::now();
  for (PendingApproval& p : pending) p.requested = now;
  return pending;
}

absl::StatusOr<std::vector<Slot>> Run::ResumedSlots(
    const Json& state, const std::vector<ApprovalDecision>& decisions) {
  const Json* transcript = state.Find("transcript");
  const Json* calls = state.Find("calls");
  if (transcript == nullptr || calls == nullptr || !calls->is_array()) {
    return absl::DataLossError(absl::StrCat("run '", run_id_, "': saved state without its calls"));
  }
  std::vector<Slot> slots;
  for (const Json& c : calls->as_array()) {
    Slot slot;
    const Json* id = c.Find("call_id");
    if (id == nullptr || !id->is_string()) return absl::DataLossError("saved call without an id");
    slot.call.id = id->as_string();
    const Json* await = c.Find("await");
    if (await == nullptr) {
      const Json* text = c.Find("text");
      const Json* is_error = c.Find("is_error");
      slot.outcome.text = text != nullptr && text->is_string() ? text->as_string() : "";
      slot.outcome.is_error = is_error != nullptr && is_error->is_bool() && is_error->as_bool();
      slots.push_back(std::move(slot));
      continue;
    }
    auto decision = std::find_if(decisions.begin(), decisions.end(),
                                 [&](const auto& d) { return d.call_id == slot.call.id; });
    if (decision == decisions.end() || !decision->decided) {
      return absl::DataLossError(
          absl::StrCat("run '", run_id_, "': no decision on call '", slot.call.id, "'"));
    }
    if (!decision->approved) {
      // The reviewer's reason is what the model reads; without one, the OpenAI Agents SDK's text.
      slot.outcome = {decision->reason.empty() ? std::string("Tool execution was not approved.")
                                               : decision->reason,
                      true};
      slots.push_back(std::move(slot));
      continue;
    }
    const Json* arguments = c.Find("arguments");
    slot.arguments = decision->edited_arguments ? *decision->edited_arguments
                     : arguments != nullptr     ? *arguments
                                                : Json::MakeObject();
    slots.push_back(std::move(slot));
  }
  // Names from the assistant message the calls answer (the last one of the transcript).
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Message> messages,
                          internal::agent::MessagesFromJson(*transcript));
  if (messages.empty() || messages.back().tool_calls.size() != slots.size()) {
    return absl::DataLossError(
        absl::StrCat("run '", run_id_, "': calls do not match the transcript"));
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& slot = slots[i];
    slot.call = messages.back().tool_calls[i];
    if (slot.outcome.text.empty() && !slot.outcome.is_error) {
      auto it = state_.by_name.find(slot.call.name);
      if (it == state_.by_name.end()) {
        slot.outcome = {absl::StrCat("Error: there is no tool named '", slot.call.name, "'"), true};
        continue;
      }
      if (std::optional<ToolOutcome> bad = Check(slot.call, it->second, slot.arguments)) {
        slot.outcome = *std::move(bad);  // Edited arguments that do not fit.
        continue;
      }
      slot.kind = Slot::Kind::kRun;
      slot.tool = it->second;
    }
  }
  return slots;
}

absl::StatusOr<AgentResult> Run::Go(std::vector<Message> transcript,
                                    std::optional<std::vector<Slot>> resumed,
                                    std::optional<AgentStopReason> resumed_stop) {
  ChatRequest request = state_.request;
  AgentResult result;
  std::optional<AgentStopReason> stop;
  bool paused = false;
  if (span_.active()) {
    span_.SetStringAttribute("gen_ai.operation.name", "invoke_agent");
    span_.SetStringAttribute("gen_ai.agent.name", state_.options.name);
    if (!run_id_.empty()) span_.SetStringAttribute("llmkit.agent.run_id", run_id_);
  }
  auto finish_calls = [&](std::vector<Slot>& slots) -> std::optional<AgentStopReason> {
    internal::agent::BatchEnd end = Execute(slots);
    if (end == internal::agent::BatchEnd::kDeadline) return AgentStopReason::kDeadline;
    if (end == internal::agent::BatchEnd::kCancelled) return AgentStopReason::kCancelled;
    return std::nullopt;
  };
  if (resumed) {
    stop = finish_calls(*resumed);
    Append(*resumed, &transcript);
    if (!stop) stop = resumed_stop;
  }
  while (!stop) {
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
      if (!stop) {
        span_.SetError(ErrorType(response.status()), std::string(response.status().message()));
        return response.status();
      }
      break;
    }
    Account(*response);
    Message message = std::move(response->message);
    message.role = "assistant";
    result.text = message.content;
    transcript.push_back(std::move(message));
    if (transcript.back().tool_calls.empty()) break;
    std::optional<AgentStopReason> ceiling;
    std::vector<Slot> slots = Prepare(transcript.back(), &ceiling);
    // Calls refused before running (bad arguments, unknown tool, past a ceiling) still show as
    // started and finished, in the model's order.
    for (const Slot& slot : slots) {
      if (slot.kind != Slot::Kind::kDone) continue;
      AgentEvent event;
      event.kind = AgentEvent::Kind::kToolCallStarted;
      event.turn = turns_;
      event.call = slot.call;
      Emit(event);
      event.kind = AgentEvent::Kind::kToolCallFinished;
      event.text = slot.outcome.text;
      event.is_error = slot.outcome.is_error;
      Emit(std::move(event));
    }
    stop = finish_calls(slots);
    if (stop) {
      for (Slot& slot : slots) {
        if (slot.kind == Slot::Kind::kAwait) slot.outcome = {"Error: not run", true};
      }
      Append(slots, &transcript);
      break;
    }
    if (std::any_of(slots.begin(), slots.end(),
                    [](const Slot& s) { return s.kind == Slot::Kind::kAwait; })) {
      if (run_id_.empty()) run_id_ = NewRunId();
      LLMKIT_ASSIGN_OR_RETURN(result.pending, Pause(transcript, slots, ceiling));
      for (const PendingApproval& p : result.pending) {
        AgentEvent event;
        event.kind = AgentEvent::Kind::kApprovalRequested;
        event.turn = turns_;
        for (const Slot& s : slots) {
          if (s.call.id == p.call_id) event.call = s.call;
        }
        Emit(std::move(event));
      }
      stop = AgentStopReason::kAwaitingApproval;
      paused = true;
      break;
    }
    Append(slots, &transcript);
    stop = ceiling;
  }
  const bool limit = stop && *stop != AgentStopReason::kDeadline &&
                     *stop != AgentStopReason::kCancelled &&
                     *stop != AgentStopReason::kAwaitingApproval;
  if (stop && !paused) {
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
  if (!run_id_.empty() && !paused) {
    // A run that was paused before: its end is recorded too (the review queue shows it).
    RunStore::Impl& store = internal::agent::RunStoreAccess::Of(*state_.options.run_store);
    LLMKIT_RETURN_IF_ERROR(
        store.Finish(run_id_, AgentStopReasonName(result.stop_reason), SavedState(transcript)));
  }
  result.run_id = run_id_;
  result.transcript = std::move(transcript);
  {
    std::lock_guard<std::mutex> lock(*ceilings_->mu);
    result.usage = ceilings_->usage;
    result.cost = ceilings_->cost;
  }
  result.turns = turns_;
  result.tool_calls = tool_calls_;
  result.tool_errors = tool_errors_;
  if (span_.active()) {
    span_.SetAttribute("gen_ai.usage.input_tokens", result.usage.input_tokens);
    span_.SetAttribute("gen_ai.usage.output_tokens", result.usage.output_tokens);
    span_.SetStringAttribute("llmkit.agent.stop_reason", AgentStopReasonName(result.stop_reason));
    span_.SetAttribute("llmkit.agent.turns", static_cast<int64_t>(turns_));
    span_.SetAttribute("llmkit.agent.tool_calls", tool_calls_);
    if (!run_id_.empty()) span_.SetStringAttribute("llmkit.agent.run_id", run_id_);
    span_.End();
  }
  AgentEvent done;
  done.kind = AgentEvent::Kind::kFinished;
  done.turn = turns_;
  done.stop_reason = result.stop_reason;
  done.text = result.text;
  Emit(std::move(done));
  return result;
}

std::shared_ptr<Ceilings> NewCeilings(const Agent::State& state, std::shared_ptr<Ceilings> parent) {
  auto ceilings = std::make_shared<Ceilings>();
  ceilings->mu = parent != nullptr ? parent->mu : std::make_shared<std::mutex>();
  ceilings->parent = std::move(parent);
  ceilings->limits = state.options.limits;
  return ceilings;
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
  return Run(state, call, NewCeilings(*state, std::move(parent)), options.on_event)
      .Go(std::move(transcript));
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
    if ((tool.needs_approval || tool.needs_approval_if) && options.run_store == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tool '", tool.name, "' needs approval: give the agent a run_store to save runs in"));
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

absl::StatusOr<AgentResult> Agent::Resume(std::string_view run_id, const CallContext& call,
                                          const AgentRunOptions& run) const {
  if (state_->options.run_store == nullptr) {
    return absl::InvalidArgumentError("Resume needs an agent with a run store");
  }
  RunStore::Impl& store = internal::agent::RunStoreAccess::Of(*state_->options.run_store);
  LLMKIT_ASSIGN_OR_RETURN(RunStore::Impl::Claimed claimed, store.Claim(run_id));
  const Json* saved = claimed.state.Find("transcript");
  if (saved == nullptr) return absl::DataLossError("saved run without a transcript");
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Message> transcript,
                          internal::agent::MessagesFromJson(*saved));
  class Run resumed(state_, call, NewCeilings(*state_, nullptr), run.on_event);
  resumed.Restore(claimed.state, std::string(run_id));
  if (!claimed.undecided.empty()) {
    // Not every call is decided: the run stays as it was saved.
    AgentResult result;
    result.stop_reason = AgentStopReason::kAwaitingApproval;
    result.run_id = std::string(run_id);
    result.pending = std::move(claimed.undecided);
    result.transcript = std::move(transcript);
    result.turns = static_cast<int>(IntAt(claimed.state, "turns"));
    result.tool_calls = IntAt(claimed.state, "tool_calls");
    result.tool_errors = IntAt(claimed.state, "tool_errors");
    if (const Json* u = claimed.state.Find("usage")) result.usage = UsageFromJson(*u);
    if (const Json* c = claimed.state.Find("cost")) result.cost = CostOf(*c);
    return result;
  }
  absl::StatusOr<std::vector<Slot>> slots = resumed.ResumedSlots(claimed.state, claimed.decisions);
  if (!slots.ok()) {
    (void)store.Finish(run_id, "failed", claimed.state);
    return slots.status();
  }
  std::optional<AgentStopReason> stop;
  if (const Json* s = claimed.state.Find("stop"); s != nullptr && s->is_string()) {
    for (AgentStopReason r :
         {AgentStopReason::kMaxToolCalls, AgentStopReason::kMaxTokens, AgentStopReason::kMaxCost}) {
      if (AgentStopReasonName(r) == s->as_string()) stop = r;
    }
  }
  return resumed.Go(std::move(transcript), *std::move(slots), stop);
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
