// Keeps credentials out of errors: a server may echo the request's key in its error body (some
// proxies print the Authorization header), which would then reach logs and terminals.

#ifndef LLMKIT_SRC_HTTP_REDACT_H_
#define LLMKIT_SRC_HTTP_REDACT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "llmkit/http.h"

namespace llmkit::internal {

// The credentials a request carries: the values of Authorization (and the token after
// "Bearer "/"Basic "), Proxy-Authorization, x-api-key and api-key headers, 8 characters or longer.
std::vector<std::string> SecretsOf(const HttpHeaders& headers);

// `status` with every occurrence of each secret replaced by "[redacted]" in its message and its
// payloads. OK stays OK.
absl::Status Redact(absl::Status status, const std::vector<std::string>& secrets);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_HTTP_REDACT_H_
