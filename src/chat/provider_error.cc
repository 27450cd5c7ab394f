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
  if (status == 400 &&
      (code == "context_length_exceeded" || Contains(message, "context length") ||
       Contains(message, "context window") || Contains(message, "prompt is too long") ||
       Contains(message, "too many tokens"))) {
    status_code = absl::StatusCode::kOutOfRange;
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
