// Anthropic Messages API client: POST {base_url}/v1/messages, plain or streamed.
//
// Mapping from chat.h: "system" messages become the `system` prompt (joined with blank lines);
// an assistant message's tool calls become `tool_use` blocks (arguments must be JSON); "tool"
// messages become `tool_result` blocks of a user turn (consecutive ones share the turn); image
// parts become `image` blocks (data: URLs as base64). `stop` becomes `stop_sequences`,
// `tool_choice` "auto"/"required"/"none" or {"type":"function","function":{"name":N}} become
// Anthropic's forms (an object with another shape is sent as it is). `seed` is not sent (the API
// has none); `response_format` is kInvalidArgument (use tools or `extra`).
//
// Answers: `text` joins the text blocks; tool calls carry `input` as compact JSON text;
// `finish_reason` is Anthropic's stop_reason ("end_turn", "tool_use", "max_tokens", ...).
// Usage: input_tokens counts every input token (uncached + cache reads + cache writes, as
// OpenAI's prompt_tokens does); cached_input_tokens = cache reads; cache_creation_input_tokens =
// cache writes. request_id comes from the `request-id` header.
//
// Errors and threads: as chat.h (529 overloaded and an `event: error` inside a 200 stream map to
// kUnavailable, an error event's type to the status it stands for). The API key comes from the
// options or $ANTHROPIC_API_KEY and is sent as `x-api-key`; it never appears in errors.

#ifndef LLMKIT_ANTHROPIC_H_
#define LLMKIT_ANTHROPIC_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "llmkit/chat.h"
#include "llmkit/http.h"

namespace llmkit {

struct AnthropicOptions {
  // Empty: $ANTHROPIC_BASE_URL, else https://api.anthropic.com (as the official SDK does).
  std::string base_url;
  std::string api_key;  // Empty: $ANTHROPIC_API_KEY.
  std::string model;    // Used when a request names none.
  // The `anthropic-version` header; the default is what the official SDK (1.12) sends.
  std::string anthropic_version = "2026-10-21";
  // The API requires max_tokens; used when a request sets none.
  int64_t default_max_tokens = 4096;
  HttpHeaders extra_headers;  // e.g. {"anthropic-beta", "..."}
  // Longest non-streamed call when the call context sets no deadline (the official SDK's 600 s).
  // Zero: no limit.
  std::chrono::milliseconds request_timeout{600'000};
  // Shared transport; null creates a curl transport for this client.
  std::shared_ptr<HttpTransport> transport;
};

// Errors: kInvalidArgument for a default_max_tokens below 1 or a negative request_timeout;
// kInternal if the transport cannot start.
absl::StatusOr<std::unique_ptr<ChatModel>> NewAnthropicClient(AnthropicOptions options = {});

}  // namespace llmkit

#endif  // LLMKIT_ANTHROPIC_H_
