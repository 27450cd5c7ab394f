// The OpenAI-compatible wire format shared by the chat and embedding clients: request headers,
// and parsing of chat answers, plain and streamed (kept apart from the client so the fuzz targets
// reach them).

#ifndef LLMKIT_SRC_CHAT_OPENAI_WIRE_H_
#define LLMKIT_SRC_CHAT_OPENAI_WIRE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "chat/stream_decoder.h"
#include "llmkit/chat.h"
#include "llmkit/openai.h"

namespace llmkit::internal {

inline constexpr char kOpenAIProvider[] = "OpenAI-compatible server";

// Content-Type, Accept, the bearer token and the organization/project/extra headers.
HttpHeaders OpenAIHeaders(const OpenAIOptions& options, const std::string& api_key,
                          std::string_view accept);

// Fills in the base URL (option, $OPENAI_BASE_URL, OpenAI's) without trailing slashes and moves
// the API key (option, else $OPENAI_API_KEY) out of `options`, so it is kept in one place.
std::string ResolveOpenAIOptions(OpenAIOptions& options);

// kInvalidArgument naming the first field of `options` out of range.
absl::Status CheckOpenAIOptions(const OpenAIOptions& options);

// A /chat/completions JSON body. Errors: kUnavailable (not JSON, no choice or message).
absl::StatusOr<ChatResponse> ParseOpenAIResponse(std::string_view body);

// The streamed form: `data:` chunks with deltas, tool-call deltas accumulated by index, a usage
// chunk, `data: [DONE]`. A chunk with an `error` member is a provider error.
class OpenAIStreamDecoder final : public StreamDecoder {
 public:
  explicit OpenAIStreamDecoder(const StreamCallback& on_event)
      : StreamDecoder(kOpenAIProvider, on_event) {}

 private:
  bool OnEvent(const SseEvent& event) override;
  bool Complete() const override { return done_ || !out_.finish_reason.empty(); }

  bool done_ = false;  // [DONE] seen.
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CHAT_OPENAI_WIRE_H_
