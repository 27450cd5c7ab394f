// Fuzz target: the SSE parser on arbitrary bytes. The first byte picks where to cut the rest
// into fragments; the events must be the same as from one Feed of everything, and nothing may
// crash or grow without bound.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/sse.h"

namespace {

std::vector<std::string> Parse(const std::vector<std::string_view>& pieces) {
  std::vector<std::string> events;
  llmkit::internal::SseParser parser([&](const llmkit::internal::SseEvent& e) {
    events.push_back(std::string(e.event) + '\0' + std::string(e.data) + '\0' + std::string(e.id));
    return true;
  });
  parser.set_max_event_bytes(1 << 16);
  for (std::string_view piece : pieces) {
    if (!parser.Feed(piece).ok()) return events;
  }
  (void)parser.Finish();
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t step = 1 + data[0] % 7;
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < text.size(); i += step) pieces.push_back(text.substr(i, step));
  if (Parse({text}) != Parse(pieces)) __builtin_trap();
  return 0;
}
