// OpenAI-compatible chat client (OpenAI, vLLM, llama.cpp server, Ollama's /v1, and others):
// POST {base_url}/chat/completions, plain or streamed (server-sent events).
//
// Errors and threads: as chat.h. The API key comes from the options or $OPENAI_API_KEY; it is
// sent as a bearer token and never appears in errors.

#ifndef LLMKIT_OPENAI_H_
#define LLMKIT_OPENAI_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "llmkit/chat.h"
#include "llmkit/http.h"

namespace llmkit {

struct OpenAIOptions {
  // Empty: $OPENAI_BASE_URL, else https://api.openai.com/v1 (as the official SDKs do).
  std::string base_url;
  std::string api_key;  // Empty: $OPENAI_API_KEY (may be unset for local servers).
  std::string model;    // Used when a request names none.
  std::string organization;
  std::string project;
  HttpHeaders extra_headers;
  // Use max_completion_tokens instead of max_tokens (OpenAI's reasoning models need it).
  bool max_completion_tokens = false;
  // Longest non-streamed call when the call context sets no deadline (the official SDKs' 600 s).
  // Zero: no limit.
  std::chrono::milliseconds request_timeout{600'000};
  // Shared transport; null creates a curl transport for this client.
  std::shared_ptr<HttpTransport> transport;
};

// Errors: kInvalidArgument for a negative request_timeout; kInternal if the transport cannot
// start.
absl::StatusOr<std::unique_ptr<ChatModel>> NewOpenAIClient(OpenAIOptions options = {});

}  // namespace llmkit

#endif  // LLMKIT_OPENAI_H_
