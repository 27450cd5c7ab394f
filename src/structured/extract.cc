// Extract: a schema-constrained request, validation of the reply, and re-asking with the errors.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "llmkit/structured.h"

namespace llmkit {
namespace {

constexpr size_t kMaxReportedErrors = 20;

void Add(Usage* total, const Usage& u) {
  total->input_tokens += u.input_tokens;
  total->output_tokens += u.output_tokens;
  total->total_tokens += u.total_tokens;
  total->cached_input_tokens += u.cached_input_tokens;
  total->cache_creation_input_tokens += u.cache_creation_input_tokens;
  total->reasoning_tokens += u.reasoning_tokens;
}

absl::Status WithAccounting(absl::Status status, int attempts, const Usage& usage) {
  Json u = Json::MakeObject();
  u.Set("input_tokens", usage.input_tokens);
  u.Set("output_tokens", usage.output_tokens);
  u.Set("total_tokens", usage.total_tokens);
  u.Set("cached_input_tokens", usage.cached_input_tokens);
  u.Set("cache_creation_input_tokens", usage.cache_creation_input_tokens);
  u.Set("reasoning_tokens", usage.reasoning_tokens);
  status.SetPayload(internal::ToAbsl(kPayloadAttempts), absl::Cord(std::to_string(attempts)));
  status.SetPayload(internal::ToAbsl(kPayloadUsage), absl::Cord(u.Dump()));
  return status;
}

// The JSON of a reply in kPrompt mode: the first Markdown code fence's content when the reply
// has one (models often add a sentence around it), else the whole text.
std::string_view Unfenced(std::string_view text) {
  const size_t open = text.find("```");
  if (open == std::string_view::npos) return text;
  const size_t newline = text.find('\n', open);
  if (newline == std::string_view::npos) return text;
  const size_t close = text.find("```", newline + 1);
  if (close == std::string_view::npos) return text;
  return text.substr(newline + 1, close - newline - 1);
}

// One attempt's outcome: the value, or what to tell the model.
struct Reading {
  bool ok = false;
  Json value;
  std::string feedback;
  const ToolCall* call = nullptr;  // kTool: the call to answer with the feedback.
};

Reading Read(const ChatResponse& response, const JsonSchema& schema,
             const ExtractOptions& options) {
  Reading r;
  std::string_view text;
  if (options.mode == StructuredMode::kTool) {
    for (const ToolCall& call : response.message.tool_calls) {
      if (call.name == options.name) {
        r.call = &call;
        break;
      }
    }
    if (r.call == nullptr) {
      r.feedback =
          absl::StrCat("Call the function `", options.name, "` with the answer as its arguments.");
      return r;
    }
    text = r.call->arguments;
  } else {
    text = response.text;
    if (options.mode == StructuredMode::kPrompt) text = Unfenced(text);
  }
  absl::StatusOr<Json> value = Json::Parse(text);
  if (!value.ok()) {
    r.feedback = absl::StrCat("The output is not valid JSON: ", value.status().message(),
                              ". Reply again with valid JSON only.");
    return r;
  }
  std::vector<SchemaError> errors = schema.Validate(*value);
  if (errors.empty()) {
    r.ok = true;
    r.value = *std::move(value);
    return r;
  }
  r.feedback = "The output does not match the JSON Schema:";
  for (size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) {
    absl::StrAppend(&r.feedback, "\n- at '", errors[i].instance_path, "' (",
                    errors[i].keyword_location, "): ", errors[i].message);
  }
  if (errors.size() > kMaxReportedErrors) {
    absl::StrAppend(&r.feedback, "\n- and ", errors.size() - kMaxReportedErrors, " more");
  }
  absl::StrAppend(&r.feedback, "\nReply again with the corrected output.");
  return r;
}

// Streams one attempt, showing the partial value of the output as it grows.
absl::StatusOr<ChatResponse> StreamAttempt(ChatModel& model, const ChatRequest& request,
                                           const ExtractOptions& options, int attempt,
                                           const PartialCallback& on_partial,
                                           const CallContext& call) {
  PartialJsonParser parser;
  bool parsing = true;  // False once the text cannot be JSON (prose around a fence, ...).
  int tool_index = -1;
  Json shown;
  bool stopped = false;
  absl::StatusOr<ChatResponse> response = model.Stream(
      request,
      [&](const StreamEvent& event) {
        std::string_view piece;
        if (options.mode == StructuredMode::kTool) {
          if (event.kind != StreamEvent::Kind::kToolCallDelta) return true;
          if (!event.tool_name.empty()) {
            if (event.tool_name == options.name && tool_index < 0) tool_index = event.tool_index;
          }
          if (event.tool_index != tool_index) return true;
          piece = event.arguments_delta;
        } else {
          if (event.kind != StreamEvent::Kind::kTextDelta) return true;
          piece = event.text;
        }
        if (!parsing || piece.empty()) return true;
        if (!parser.Feed(piece).ok()) {
          parsing = false;
          return true;
        }
        if (parser.value().is_null() || parser.value() == shown) return true;
        shown = parser.value();
        if (!on_partial(shown, attempt)) {
          stopped = true;
          return false;
        }
        return true;
      },
      call);
  if (stopped && !response.ok()) {
    return absl::CancelledError("stream_extract stopped by the partial-value callback");
  }
  return response;
}

}  // namespace

absl::StatusOr<ExtractResult> Extract(ChatModel& model, const ChatRequest& request,
                                      const Json& schema, const ExtractOptions& options,
                                      const CallContext& call) {
  return StreamExtract(model, request, schema, nullptr, options, call);
}

absl::StatusOr<ExtractResult> StreamExtract(ChatModel& model, const ChatRequest& request,
                                            const Json& schema, const PartialCallback& on_partial,
                                            const ExtractOptions& options,
                                            const CallContext& call) {
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts must be >= 1, got ", options.max_attempts));
  }
  absl::StatusOr<JsonSchema> compiled = JsonSchema::Compile(schema, options.schema);
  if (!compiled.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("schema: ", compiled.status().message()));
  }
  ChatRequest first = request;
  switch (options.mode) {
    case StructuredMode::kTool: {
      first.tools.push_back({options.name, options.description, schema});
      Json function = Json::MakeObject();
      function.Set("name", options.name);
      Json choice = Json::MakeObject();
      choice.Set("type", "function");
      choice.Set("function", std::move(function));
      first.tool_choice = std::move(choice);
      break;
    }
    case StructuredMode::kResponseFormat: {
      Json spec = Json::MakeObject();
      spec.Set("name", options.name);
      spec.Set("schema", schema);
      spec.Set("strict", options.strict);
      Json format = Json::MakeObject();
      format.Set("type", "json_schema");
      format.Set("json_schema", std::move(spec));
      first.response_format = std::move(format);
      break;
    }
    case StructuredMode::kPrompt:
      first.messages.insert(
          first.messages.begin(),
          Message{.role = "system",
                  .content = absl::StrCat("Reply with only a JSON value, no other text, that "
                                          "conforms to this JSON Schema:\n",
                                          schema.Dump())});
      break;
  }
  ExtractResult result;
  ChatRequest attempt = first;
  std::string last_feedback;
  while (result.attempts < options.max_attempts) {
    absl::StatusOr<ChatResponse> response =
        on_partial ? StreamAttempt(model, attempt, options, result.attempts + 1, on_partial, call)
                   : model.Complete(attempt, call);
    ++result.attempts;
    if (!response.ok()) {
      return WithAccounting(response.status(), result.attempts, result.usage);
    }
    Add(&result.usage, response->usage);
    Reading reading = Read(*response, *compiled, options);
    if (reading.ok) {
      result.value = std::move(reading.value);
      result.response = *std::move(response);
      return result;
    }
    last_feedback = reading.feedback;
    // The next attempt: the original messages, this reply, and what was wrong with it.
    attempt = first;
    attempt.messages.push_back(response->message);
    attempt.messages.back().role = "assistant";
    if (!response->message.tool_calls.empty()) {
      // Every call of the reply gets a result, as the providers require.
      for (const ToolCall& tc : response->message.tool_calls) {
        attempt.messages.push_back(
            Message{.role = "tool",
                    .content = &tc == reading.call ? reading.feedback
                                                   : "Not used: call `" + options.name + "`.",
                    .tool_call_id = tc.id});
      }
      if (reading.call == nullptr) {
        attempt.messages.push_back(Message{.role = "user", .content = reading.feedback});
      }
    } else {
      attempt.messages.push_back(Message{.role = "user", .content = reading.feedback});
    }
  }
  return WithAccounting(absl::FailedPreconditionError(absl::StrCat(
                            "the model's output did not match the schema in ", result.attempts,
                            " attempt", result.attempts == 1 ? "" : "s", ". ", last_feedback)),
                        result.attempts, result.usage);
}

}  // namespace llmkit
