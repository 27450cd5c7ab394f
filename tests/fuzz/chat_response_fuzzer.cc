// Fuzz target: the chat answer parsers of both providers, plain and streamed. The first byte
// picks the parser (and, for streams, where to cut the rest into fragments). A streamed answer
// must decode the same whole or in fragments; nothing may crash.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chat/anthropic_wire.h"
#include "chat/openai_wire.h"

namespace {

using llmkit::internal::StreamDecoder;

// A summary of the outcome that must not depend on how the bytes were cut.
template <typename Decoder>
std::string Decode(std::string_view text, size_t step) {
  std::string events;
  llmkit::StreamCallback callback = [&](const llmkit::StreamEvent& e) {
    events += std::to_string(static_cast<int>(e.kind)) + e.text + e.arguments_delta + '\0';
    return events.size() < (1 << 16);
  };
  Decoder decoder(callback);
  absl::Status fed;
  for (size_t i = 0; i < text.size() && fed.ok(); i += step) {
    fed = decoder.Feed(text.substr(i, step));
  }
  absl::StatusOr<llmkit::ChatResponse> r = decoder.Finish();
  if (!r.ok()) return events + "error " + std::to_string(static_cast<int>(r.status().code()));
  std::string out = events + r->id + '\0' + r->model + '\0' + r->text + '\0' + r->finish_reason;
  for (const llmkit::ToolCall& call : r->message.tool_calls) {
    out += '\0' + call.id + '\0' + call.name + '\0' + call.arguments;
  }
  return out + std::to_string(r->usage.total_tokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t step = 1 + (data[0] >> 2) % 13;
  switch (data[0] % 4) {
    case 0:
      (void)llmkit::internal::ParseOpenAIResponse(text);
      break;
    case 1:
      (void)llmkit::internal::ParseAnthropicResponse(text);
      break;
    case 2:
      if (Decode<llmkit::internal::OpenAIStreamDecoder>(text, text.size() + 1) !=
          Decode<llmkit::internal::OpenAIStreamDecoder>(text, step)) {
        __builtin_trap();
      }
      break;
    case 3:
      if (Decode<llmkit::internal::AnthropicStreamDecoder>(text, text.size() + 1) !=
          Decode<llmkit::internal::AnthropicStreamDecoder>(text, step)) {
        __builtin_trap();
      }
      break;
  }
  return 0;
}
