// Chat model interface shared by the providers and the resilience decorators: messages, tools,
// requests, responses, usage and stream events.
//
// Errors (every provider): kInvalidArgument (400/422, bad request), kUnauthenticated (401),
// kPermissionDenied (403), kNotFound (404), kDeadlineExceeded (408, timeouts), kAborted (409),
// kResourceExhausted (429), kUnavailable (5xx, 529, connection failures), kOutOfRange (the
// request does not fit the model's context window: recognised from the messages of OpenAI, Azure,
// Anthropic, llama.cpp, vLLM, Ollama, Mistral and Gemini, whatever the HTTP status they use),
// kUnimplemented (501, or a 500 saying the server does not support what was asked, such as
// llama.cpp's "Cannot use tools with stream": permanent, never retried), kCancelled and
// kDeadlineExceeded (the call context's deadline or stream idle timeout). Payloads carry the HTTP
// status, Retry-After, retry-after-ms, x-should-retry and the provider's error body (status.h
// keys). API keys never appear in messages or payloads.
//
// Threads: a ChatModel is safe to share; Complete and Stream may run on many threads at once.

#ifndef LLMKIT_CHAT_H_
#define LLMKIT_CHAT_H_

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
#include "llmkit/http.h"
#include "llmkit/json.h"

namespace llmkit {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the model wrote it.
};

// One part of a multi-part message: text, or an image by URL (data: URLs included).
struct ContentPart {
  std::string type = "text";  // "text" or "image_url"
  std::string text;
  std::string image_url;
};

struct Message {
  std::string role;  // "system", "user", "assistant", "tool"
  std::string content;
  std::vector<ContentPart> parts;    // When set, sent instead of `content`.
  std::vector<ToolCall> tool_calls;  // An assistant message's calls.
  std::string tool_call_id;          // A "tool" message answers this call.
};

struct ToolSpec {
  std::string name;
  std::string description;
  Json parameters;  // JSON Schema of the arguments.
};

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_input_tokens = 0;  // Served from the provider's prompt cache.
  int64_t cache_creation_input_tokens = 0;
  int64_t reasoning_tokens = 0;
};

// What a call cost in US dollars, priced by a PriceTable (cost.h) from the Usage. The parts add
// up to `total`: input is the uncached input, cached_input the prompt-cache reads, cache_write
// the prompt-cache writes, output the output other than reasoning, reasoning the reasoning
// tokens where the model prices them apart (else they are in output). Doubles: exact to about
// 1e-15 relative, far below a cent for any realistic spend.
struct Cost {
  // False: some tokens were used by a model the price table does not list; its tokens count
  // zero in the amounts below, which then say less than was spent. `unpriced_model` names it.
  bool priced = true;
  std::string unpriced_model;
  double input = 0;
  double cached_input = 0;
  double cache_write = 0;
  double output = 0;
  double reasoning = 0;
  double total = 0;

  Cost& operator+=(const Cost& other);
};

// One provider call, made for a call, whose answer was not the call's answer, and the tokens it
// used: an answer a guard refused and re-asked, or a call that failed after the provider had
// counted tokens (a stream cut or stopped, an error event mid-stream). Providers bill these.
struct SpentAttempt {
  std::string model;
  Usage usage;
  // Empty for an answer that was dropped; else the failure's status code, lower case
  // ("unavailable", "cancelled", "deadline_exceeded", ...).
  std::string failure;
  // The provider had not reported the counts yet (an OpenAI stream cut before its usage chunk):
  // input is estimated from the request's text (4 bytes a token, 4 tokens a message), output is
  // one token per streamed chunk.
  bool estimated = false;
};

// The spent attempts a failed call's status carries (payload kPayloadSpent, status.h), in the
// order they were made; empty when none used tokens or the payload is malformed. Decorators
// pass them on: WithRetry and WithFallback add the failed attempts before an answer to its
// spent_attempts (and its usage); WithBudget prices and records them.
std::vector<SpentAttempt> SpentOf(const absl::Status& status);
// `status` with its kPayloadSpent set to `spent` (removed when `spent` is empty).
absl::Status WithSpent(absl::Status status, const std::vector<SpentAttempt>& spent);

struct ChatRequest {
  std::string model;  // Empty: the client's default model.
  std::vector<Message> messages;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  std::vector<ToolSpec> tools;
  Json tool_choice;      // Null: provider default; "auto", "none", "required" or an object.
  Json response_format;  // Null, or e.g. {"type": "json_object"} / a json_schema object.
  // An object whose members are added to the request body as they are. "n" other than 1 is
  // refused (kInvalidArgument): a response carries one choice; make n calls instead.
  Json extra;
};

// An estimate of the prompt tokens of `request`: its messages' text and tool calls, its tools'
// names, descriptions and schemas, and the chat format's few tokens per message; an image counts
// 1,000. `count` counts one text's tokens (a tokenizer's); null: 4 bytes a token, rounded up.
int64_t EstimatePromptTokens(const ChatRequest& request,
                             const std::function<int64_t(std::string_view)>& count = nullptr);

struct ChatResponse {
  std::string id;
  std::string model;
  std::string text;  // The assistant message's text.
  Message message;   // The whole assistant message (text and tool calls).
  std::string finish_reason;
  Usage usage;
  std::string request_id;  // The provider's x-request-id / request-id header.
  // Filled in by the resilience decorators (resilience.h): provider calls made, time spent
  // waiting between them or for a rate limiter, and the fallback entry that answered.
  int attempts = 1;
  std::chrono::nanoseconds backoff{0};
  std::string served_by;
  // The provider calls before the answer whose answers were dropped (WithGuard's re-asks), so
  // that each is priced by its own model and size. `usage` counts them too: it is every call's.
  std::vector<SpentAttempt> spent_attempts;
  // Set by a priced client or WithBudget (cost.h): `usage` and `spent_attempts` priced.
  std::optional<Cost> cost;
  // Set by a response cache (cache.h) when the answer came from it and no provider was called:
  // `usage` is then all zero (nothing billed), `saved_usage` what the cached call had used, and
  // `cache_age` how long ago it was made.
  bool cache_hit = false;
  std::chrono::nanoseconds cache_age{0};
  Usage saved_usage;
  // 1 for an exact hit; for a semantic hit the cosine similarity of the two questions.
  double cache_similarity = 0;
};

// Adds every count of `other` to `*usage`.
void AddUsage(Usage* usage, const Usage& other);
// Usage as a JSON object whose members are named as its fields ({"input_tokens": 12, ...}), and
// back (a missing or non-integer member counts 0).
Json UsageToJson(const Usage& usage);
Usage UsageFromJson(const Json& json);
// The provider calls behind `response` as spent attempts, for when its answer is dropped: its
// spent_attempts, then its own call (its usage less theirs) marked with `failure`.
std::vector<SpentAttempt> CallsOf(const ChatResponse& response, std::string_view failure = {});

struct StreamEvent {
  enum class Kind { kTextDelta, kToolCallDelta, kUsage, kDone };
  Kind kind = Kind::kTextDelta;
  std::string text;             // kTextDelta
  int tool_index = 0;           // kToolCallDelta: which call of the message
  std::string tool_id;          // kToolCallDelta: set on the first delta of a call
  std::string tool_name;        // kToolCallDelta: set on the first delta of a call
  std::string arguments_delta;  // kToolCallDelta
  Usage usage;                  // kUsage
};

// Return false to stop the stream (Stream then returns kCancelled).
using StreamCallback = std::function<bool(const StreamEvent&)>;

// Every call takes the call context (call.h) beside the request: deadline, stream idle timeout,
// cancellation, tags and trace context. Implementations pass it on unchanged, or changed only by
// a sooner deadline or a linked cancellation; never by copying the request.
class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // Sends `request` and returns the model's reply.
  virtual absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                                const CallContext& call = {}) = 0;
  // Calls `on_event` as the answer arrives (on the transport's thread), then returns the same
  // ChatResponse Complete would have returned for that content.
  virtual absl::StatusOr<ChatResponse> Stream(const ChatRequest& request,
                                              const StreamCallback& on_event,
                                              const CallContext& call = {}) = 0;
};

}  // namespace llmkit

#endif  // LLMKIT_CHAT_H_
