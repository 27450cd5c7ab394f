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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/cost.h"
#include "llmkit/http.h"
#include "llmkit/json.h"
#include "llmkit/observe.h"

namespace llmkit {

namespace internal::agent {
struct Ceilings;
struct RunStoreAccess;
}  // namespace internal::agent

class RunStore;

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
  // A call waits for a person's decision (RunStore::Approve / Reject) before it runs: every
  // call, or those whose (valid) arguments make needs_approval_if return true. Needs
  // AgentOptions::run_store.
  bool needs_approval = false;
  std::function<bool(const Json& arguments)> needs_approval_if;
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
  // Where a run waiting for approvals is saved (null: no tool may need approval).
  std::shared_ptr<RunStore> run_store;
  // Spans of the OpenTelemetry GenAI conventions: "invoke_agent {name}" for each run (the parent
  // of a traced model's chat spans) and "execute_tool {tool}" for each tool call (null: none).
  std::shared_ptr<Tracer> tracer;
  std::string name = "agent";  // gen_ai.agent.name.
};

enum class AgentStopReason {
  kCompleted,         // The model answered without tool calls.
  kMaxTurns,          // max_turns model calls were made and the model still asked for tools.
  kMaxToolCalls,      // A call would have passed max_tool_calls.
  kMaxTokens,         // The tokens used reached max_tokens.
  kMaxCost,           // The cost reached max_cost.
  kDeadline,          // The call context's deadline passed.
  kCancelled,         // The call context was cancelled.
  kAwaitingApproval,  // Saved in the run store until every pending call is decided.
};

// "completed", "max_turns", "max_tool_calls", "max_tokens", "max_cost", "deadline", "cancelled",
// "awaiting_approval".
std::string_view AgentStopReasonName(AgentStopReason reason);

struct AgentEvent {
  enum class Kind {
    kTurnStarted,        // turn
    kTextDelta,          // text: a piece of the model's reply as it streams
    kToolCallStarted,    // turn, call (id, name, arguments)
    kToolCallFinished,   // turn, call, text (the result the model gets), is_error, duration
    kApprovalRequested,  // turn, call: saved for a person's decision
    kLimitHit,           // stop_reason
    kFinished,           // stop_reason, text (the final answer)
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

// A tool call waiting for a person's decision.
struct PendingApproval {
  std::string run_id;
  std::string call_id;
  std::string tool;
  Json arguments;
  std::chrono::system_clock::time_point requested;
};

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
  // kAwaitingApproval: the run's id in the run store and the calls waiting for a decision.
  std::string run_id;
  std::vector<PendingApproval> pending;
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

  // Continues a run saved awaiting approval once its calls are decided (from any process):
  // approved calls run (with the reviewer's arguments when edited), rejected ones give the model
  // the reviewer's reason as their result, then the loop goes on. A run with calls still undecided
  // comes back kAwaitingApproval again, without calling the model. Errors: kNotFound (no such run),
  // kFailedPrecondition (the run is not awaiting approval: finished, or resumed elsewhere),
  // kInvalidArgument (this agent has no run store), kDataLoss (a corrupt saved state), and
  // Run's errors.
  absl::StatusOr<AgentResult> Resume(std::string_view run_id, const CallContext& call = {},
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

// The durable store of runs paused for approval: a SQLite database file that any number of
// processes open at once (WAL journal; every change one transaction, so a crash leaves either
// the old state or the new). A run is saved when it pauses and updated when it ends; a review
// queue lists the pending calls, and any process approves or rejects them, then resumes the run
// (Agent::Resume). Decisions never pass through the model. The first decision on a call wins.
//
// Errors: kUnavailable (the database is locked for longer than 5 s by another process),
// kDataLoss (not a run store, or corrupt), kInternal (another SQLite failure), with the path.
// Threads: safe to share; calls are serialized.
class RunStore {
 public:
  // Opens or creates the database at `path` (its directory must exist).
  static absl::StatusOr<std::shared_ptr<RunStore>> Open(const std::string& path);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // Calls waiting for a decision, oldest first; of one run when `run_id` is set.
  absl::StatusOr<std::vector<PendingApproval>> Pending(std::string_view run_id = {}) const;
  // Lets the call run, with `edited_arguments` instead of the model's when given (they are
  // validated against the tool's schema when the run resumes). Errors: kNotFound (no such run or
  // call), kFailedPrecondition (already decided, or the run is no longer awaiting approval).
  absl::Status Approve(std::string_view run_id, std::string_view call_id,
                       std::optional<Json> edited_arguments = std::nullopt);
  // The call does not run; the model gets `reason` as the call's result (empty: "Tool execution
  // was not approved.", the OpenAI Agents SDK's text). Errors: as Approve.
  absl::Status Reject(std::string_view run_id, std::string_view call_id,
                      std::string_view reason = {});

  struct SavedRun {
    std::string run_id;
    std::string status;  // "awaiting_approval", "running", or the stop reason it ended with.
    std::vector<Message> transcript;
    std::chrono::system_clock::time_point updated;
  };
  // A run as last saved. Errors: kNotFound, kDataLoss.
  absl::StatusOr<SavedRun> Get(std::string_view run_id) const;
  // Every run, most recently updated first.
  absl::StatusOr<std::vector<SavedRun>> List() const;

  class Impl;  // Internal.

 private:
  friend struct internal::agent::RunStoreAccess;
  explicit RunStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A client of an MCP server (Model Context Protocol, the standard for tool servers,
// https://modelcontextprotocol.io): over stdio (a process it starts: newline-delimited JSON-RPC
// on its stdin and stdout) or streamable HTTP (POSTs answered with JSON or an event stream, the
// session in Mcp-Session-Id). It initializes the session, lists the server's tools and calls
// them; Tools() makes them agent tools.
//
//   auto server = llmkit::McpClient::Stdio({"npx", "-y",
//   "@modelcontextprotocol/server-everything"}); auto tools = (*server)->Tools();   // AgentTools
//   calling the server
//
// Every request has a deadline (the call context's, else request_timeout); one that passes it
// or is cancelled is given up with notifications/cancelled sent to the server. Requests the
// server makes (ping) are answered; its notifications and log lines are ignored. A server that
// exits, closes its output or writes a line that is not JSON-RPC fails the requests waiting,
// with the last lines it wrote to stderr in the message.
//
// Errors: kUnavailable (the process could not start or exited; HTTP connection failures and
// 5xx), kDeadlineExceeded, kCancelled, kInvalidArgument (the server's JSON-RPC error for a bad
// request, with its code and message; an empty command or URL), kFailedPrecondition (the server
// speaks a protocol version this client does not), kNotFound (an HTTP session the server no
// longer knows), kDataLoss (a reply that is not JSON-RPC).
// Threads: safe to share; requests may be made from many threads at once.
struct McpOptions {
  std::chrono::milliseconds request_timeout{60'000};  // Per request without a deadline.
  // Stdio: variables added to the server's environment. It otherwise gets only HOME, LOGNAME,
  // PATH, SHELL, TERM and USER (as the reference SDK does), so no secret leaks to it.
  std::map<std::string, std::string> env;
  // HTTP: headers sent with every request (authorization).
  HttpHeaders headers;
  // HTTP: the transport (null: a curl transport of its own).
  std::shared_ptr<HttpTransport> transport;
};

struct McpTool {
  std::string name;
  std::string description;
  Json input_schema;
};

struct McpCallResult {
  std::string text;  // The text content items joined by newlines (others described).
  bool is_error = false;
  Json content;  // The result's `content` array as the server sent it.
  Json structured_content;
};

class McpClient {
 public:
  // Starts `command` (argv; the first looked up in PATH) and initializes the session.
  static absl::StatusOr<std::shared_ptr<McpClient>> Stdio(std::vector<std::string> command,
                                                          McpOptions options = {},
                                                          const CallContext& call = {});
  // Initializes a session with the streamable HTTP endpoint `url` (http://host:port/mcp).
  static absl::StatusOr<std::shared_ptr<McpClient>> Http(std::string url, McpOptions options = {},
                                                         const CallContext& call = {});
  // Ends the session: closes the server's stdin and waits up to 2 s, then SIGTERM, then SIGKILL;
  // over HTTP, DELETEs the session.
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  // Every tool of the server (all pages).
  absl::StatusOr<std::vector<McpTool>> ListTools(const CallContext& call = {});
  // Calls tool `name`. A tool's own failure is a result with is_error (not an error status).
  absl::StatusOr<McpCallResult> CallTool(std::string_view name, const Json& arguments,
                                         const CallContext& call = {});
  // The server's tools as agent tools named prefix + name: a result with is_error reaches the
  // model as an error; the run's deadline and cancellation reach the request.
  absl::StatusOr<std::vector<AgentTool>> Tools(std::string_view prefix = {},
                                               const CallContext& call = {});
  // The initialize result's serverInfo, and the protocol version agreed.
  const Json& server_info() const;
  const std::string& protocol_version() const;

  class Impl;  // Internal.

 private:
  explicit McpClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace llmkit

#endif  // LLMKIT_AGENT_H_
