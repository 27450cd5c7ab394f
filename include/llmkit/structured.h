// Structured output: ask a chat model for a value that matches a JSON Schema, validate it, and
// re-ask with the validation errors until it does.
//
//   absl::StatusOr<llmkit::ExtractResult> r = llmkit::Extract(*model, request, schema);
//   // r->value: the validated value; r->attempts; r->usage: tokens of every attempt together.
//
// Modes (ExtractOptions::mode):
// - kTool (default): the schema becomes the parameters of a tool the model is made to call
//   (tool_choice naming it). Works with OpenAI-compatible servers and Anthropic alike.
// - kResponseFormat: OpenAI's response_format {type: json_schema, json_schema: {name, schema,
//   strict}}; the reply's text is the value. Anthropic refuses it (kInvalidArgument).
// - kPrompt: the schema goes into a system message and the reply's text is parsed (a Markdown
//   ```json fence around it is accepted), for models with neither.
//
// A re-ask sends the original messages, the last attempt's reply, and the errors (JSON Pointer
// and message of each, or the parse error with its offset) as the tool's result or a user
// message: never the whole history of attempts. The call context's deadline and cancellation
// hold across attempts (one deadline for all of them).
//
// Errors: the model call's own error, returned at once (not re-asked); kFailedPrecondition when
// no attempt matched the schema, naming the last errors; kInvalidArgument for a schema that does
// not compile or max_attempts < 1. Both failures carry the attempts and the summed usage as
// payloads (kPayloadAttempts, kPayloadUsage: {"input_tokens": ..., ...}).
// Threads: Extract is re-entrant; it calls the model from the calling thread.

#ifndef LLMKIT_STRUCTURED_H_
#define LLMKIT_STRUCTURED_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/json.h"
#include "llmkit/schema.h"
#include "llmkit/status.h"

namespace llmkit {

enum class StructuredMode { kTool, kResponseFormat, kPrompt };

struct ExtractOptions {
  StructuredMode mode = StructuredMode::kTool;
  std::string name = "output";  // The tool's or the json_schema's name.
  std::string description = "Record the answer in the required structure.";
  int max_attempts = 3;  // Calls in all, the first included.
  bool strict = true;    // kResponseFormat: json_schema.strict.
  SchemaOptions schema;  // How the schema is compiled and checked.
};

struct ExtractResult {
  Json value;             // Valid against the schema.
  int attempts = 0;       // Model calls made.
  Usage usage;            // Summed over every attempt.
  ChatResponse response;  // The reply that was accepted.
};

// The summed usage of a failed Extract, as JSON (status.h's kPayloadAttempts has the attempts).
inline constexpr std::string_view kPayloadUsage = "llmkit/usage";

// Reads a JSON text as it streams in (a tool call's arguments, a reply's text) and keeps the
// best-effort value so far, as Instructor's Partial and the Vercel AI SDK's streamObject do: the
// object and array containers opened so far, with every member and item whose value is complete
// (strings closed, numbers and literals ended); a cut string, number or key is left out until it
// is whole. Each value() is therefore a "prefix" of the final one: the same members (some
// missing), the same items (the last ones missing), equal scalars. Errors: kInvalidArgument with
// the byte offset once the text cannot be JSON (it stays in that state). Cost: each Feed re-reads
// the text so far (a few microseconds per KB). Not thread-safe; one per stream.
class PartialJsonParser {
 public:
  absl::Status Feed(std::string_view delta);
  // The text has ended: a number at its end is complete; a value still open is an error
  // ("the text ends early").
  absl::Status Finish();
  const Json& value() const { return value_; }  // Null before anything can be shown.
  bool complete() const { return complete_; }   // A whole value (then only white space).
  const std::string& text() const { return text_; }

 private:
  absl::Status Read(bool whole);

  std::string text_;
  Json value_;
  bool complete_ = false;
  absl::Status status_;
};

absl::StatusOr<ExtractResult> Extract(ChatModel& model, const ChatRequest& request,
                                      const Json& schema, const ExtractOptions& options = {},
                                      const CallContext& call = {});

// Called with the output's partial value each time it grows (PartialJsonParser), and which
// attempt it belongs to (1-based; a re-ask starts again from nothing). Runs on the transport's
// thread. Returning false stops the call (kCancelled).
using PartialCallback = std::function<bool(const Json& partial, int attempt)>;

// As Extract, with each attempt streamed (ChatModel::Stream) and its partial values shown. In
// kPrompt mode a reply with text around a code fence shows no partial values (the final value
// is still read). The result and the errors are Extract's.
absl::StatusOr<ExtractResult> StreamExtract(ChatModel& model, const ChatRequest& request,
                                            const Json& schema, const PartialCallback& on_partial,
                                            const ExtractOptions& options = {},
                                            const CallContext& call = {});

}  // namespace llmkit

#endif  // LLMKIT_STRUCTURED_H_
