#include "chat/provider_error.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/json.h"
#include "llmkit/status.h"

namespace llmkit::internal {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != haystack.end();
}

absl::StatusCode CodeFor(int status) {
  switch (status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 409:
      return absl::StatusCode::kAborted;
    case 413:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    default:
      return status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

// What servers say when the prompt (plus max_tokens) does not fit the model's context window.
// Gathered from the servers' own messages:
//   OpenAI, Azure OpenAI: code "context_length_exceeded", "This model's maximum context length is
//     8192 tokens. However, your messages resulted in ... Please reduce the length of the
//     messages." / "Your input exceeds the context window of this model."
//   Anthropic: "prompt is too long: 208310 tokens > 200000 maximum", "input length and
//     `max_tokens` exceed context limit: 199759 + 8192 > 200000, decrease input length or
//     `max_tokens` and try again"
//   llama.cpp llama-server: type "exceed_context_size_error", "request (4476 tokens) exceeds the
//     available context size (4096 tokens), try increasing it"; older builds "the request
//     exceeds the available context size, try increasing the context size or enable context
//     shift"
//   vLLM: "This model's maximum context length is 4096 tokens. However, you requested 5000
//     tokens ...", "'max_tokens' or 'max_completion_tokens' is too large: 1000. This model's
//     maximum context length is 4096 tokens and your request has 3500 input tokens"
//   Ollama: "the input length exceeds the context length", "input exceeds context length"
//   Mistral: "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768
//     maximum context length"
//   Gemini's OpenAI endpoint: "The input token count (1200000) exceeds the maximum number of
//     tokens allowed (1048576)."
bool IsContextOverflow(int status, std::string_view type, std::string_view code,
                       std::string_view message) {
  if (status != 400 && status != 413 && status != 422 && status != 500) return false;
  if (code == "context_length_exceeded" || type == "exceed_context_size_error") return true;
  static constexpr std::string_view kPhrases[] = {
      "context_length_exceeded",
      "maximum context length",
      "context length",  // "exceeds the context length", "input exceeds context length"
      "context window",
      "available context size",
      "exceed context limit",
      "prompt is too long",
      "too many tokens",
      "exceeds the maximum number of tokens",
      "reduce the length of the messages",
  };
  for (std::string_view phrase : kPhrases) {
    if (Contains(message, phrase)) return true;
  }
  return false;
}

// A server error that will not fix itself on retry: the server does not implement what the
// request asks for (llama.cpp's "Cannot use tools with stream", "... is not supported").
bool IsPermanentRefusal(int status, std::string_view message) {
  if (status == 501) return true;
  if (status != 500) return false;
  static constexpr std::string_view kPhrases[] = {
      "not supported",    "unsupported", "not implemented", "cannot use tools with stream",
      "does not support",
  };
  for (std::string_view phrase : kPhrases) {
    if (Contains(message, phrase)) return true;
  }
  return false;
}

}  // namespace

absl::Status ProviderError(std::string_view provider, int status, const HttpHeaders& headers,
                           std::string_view body) {
  std::string message, type, code;
  if (absl::StatusOr<Json> parsed = Json::Parse(body); parsed.ok()) {
    const Json* error = parsed->Find("error");
    if (error != nullptr && error->is_string()) message = error->as_string();
    if (error != nullptr && error->is_object()) {
      if (const Json* m = error->Find("message"); m != nullptr && m->is_string())
        message = m->as_string();
      if (const Json* t = error->Find("type"); t != nullptr && t->is_string())
        type = t->as_string();
      if (const Json* c = error->Find("code"); c != nullptr && c->is_string())
        code = c->as_string();
    }
  }
  if (message.empty()) message = std::string(body.substr(0, 500));
  absl::StatusCode status_code = CodeFor(status);
  if (IsContextOverflow(status, type, code, message)) {
    status_code = absl::StatusCode::kOutOfRange;
  } else if (IsPermanentRefusal(status, message)) {
    status_code = absl::StatusCode::kUnimplemented;
  }
  // OpenAI's content_policy_violation, Azure's content_filter, and their messages.
  const bool content_policy =
      status == 400 && (code == "content_policy_violation" || code == "content_filter" ||
                        Contains(message, "content management policy") ||
                        Contains(message, "content policy") || Contains(message, "safety system"));
  std::string text = absl::StrCat(ToAbsl(provider), " returned HTTP ", status);
  if (!type.empty()) absl::StrAppend(&text, " (", type, ")");
  absl::StrAppend(&text, ": ", message);
  absl::Status result =
      WithPayload(absl::Status(status_code, text), kPayloadHttpStatus, absl::StrCat(status));
  if (content_policy) result = WithPayload(result, kPayloadContentPolicy, "true");
  if (auto v = FindHeader(headers, "retry-after"))
    result = WithPayload(result, kPayloadRetryAfter, *v);
  if (auto v = FindHeader(headers, "retry-after-ms"))
    result = WithPayload(result, kPayloadRetryAfterMs, *v);
  if (auto v = FindHeader(headers, "x-should-retry"))
    result = WithPayload(result, kPayloadShouldRetry, *v);
  return WithPayload(result, kPayloadProviderError, body.substr(0, 64 << 10));
}

}  // namespace llmkit::internal
