// Fuzz target: what the response cache reads from outside — an entry's JSON from Redis or a
// cache file (DecodeEntry), replayed as a stream — and the questions the false-hit guard
// compares. Decoding returns an entry or null, the replay and the guard return, never crash or
// hang; a decoded entry encodes and decodes to the same answer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/cache_impl.h"
#include "llmkit/cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<llmkit::internal::Entry> entry = llmkit::internal::DecodeEntry(text);
  if (entry != nullptr) {
    std::shared_ptr<llmkit::internal::Entry> again =
        llmkit::internal::DecodeEntry(llmkit::internal::EncodeEntry(*entry));
    if (again == nullptr || again->key != entry->key ||
        again->response.text != entry->response.text ||
        again->events.size() != entry->events.size() || again->vector != entry->vector) {
      __builtin_trap();
    }
  }
  // The bytes split in two as two questions, and each against itself.
  const size_t half = size / 2;
  const std::string_view a(text.data(), half), b(text.data() + half, size - half);
  (void)llmkit::FalseHitReason(a, b);
  if (!llmkit::FalseHitReason(a, a).empty()) __builtin_trap();
  return 0;
}
