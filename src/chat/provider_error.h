// Maps a provider's non-2xx HTTP response to the status codes of chat.h, with payloads.

#ifndef LLMKIT_SRC_CHAT_PROVIDER_ERROR_H_
#define LLMKIT_SRC_CHAT_PROVIDER_ERROR_H_

#include <string_view>

#include "absl/status/status.h"
#include "llmkit/http.h"

namespace llmkit::internal {

// `provider` names the service in the message ("OpenAI-compatible server", "Anthropic").
// `body` is the error body (for streams the transport delivered it to the handler).
absl::Status ProviderError(std::string_view provider, int status, const HttpHeaders& headers,
                           std::string_view body);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CHAT_PROVIDER_ERROR_H_
