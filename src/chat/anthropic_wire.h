// Parsing of Anthropic Messages answers, plain and streamed (kept apart from the client so the
// fuzz targets reach them).

#ifndef LLMKIT_SRC_CHAT_ANTHROPIC_WIRE_H_
#define LLMKIT_SRC_CHAT_ANTHROPIC_WIRE_H_

#include <cstdint>
#include <map>
#include <string_view>

#include "absl/status/statusor.h"
#include "chat/stream_decoder.h"
#include "llmkit/chat.h"

namespace llmkit::internal {

inline constexpr char kAnthropicProvider[] = "Anthropic";

// A /v1/messages JSON body. Errors: kUnavailable (not JSON, no content).
absl::StatusOr<ChatResponse> ParseAnthropicResponse(std::string_view body);

// The streamed form: message_start, content_block_start/delta/stop, message_delta,
// message_stop; ping is skipped; `event: error` is a provider error (e.g. overloaded_error).
class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  explicit AnthropicStreamDecoder(const StreamCallback& on_event)
      : StreamDecoder(kAnthropicProvider, on_event) {}

 private:
  bool OnEvent(const SseEvent& event) override;
  bool Complete() const override { return done_; }
  bool UpdateUsage(const Json& usage);

  struct RawUsage {
    int64_t input = 0, output = 0, cache_read = 0, cache_creation = 0;
  } raw_;
  std::map<int64_t, int> tool_of_block_;  // Content block index -> tool call ordinal.
  bool done_ = false;                     // message_stop seen.
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CHAT_ANTHROPIC_WIRE_H_
