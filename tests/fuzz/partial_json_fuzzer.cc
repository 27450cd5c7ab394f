// Fuzz target: PartialJsonParser fed arbitrary bytes in pieces (the first byte picks the piece
// size). It must never crash; when the whole text is JSON, the parser must end complete with
// Json::Parse's value, and each value on the way must be shown without error.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llmkit/json.h"
#include "llmkit/structured.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 16;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  llmkit::PartialJsonParser parser;
  bool failed = false;
  for (size_t at = 0; at < text.size(); at += piece) {
    if (!parser.Feed(text.substr(at, piece)).ok()) failed = true;
  }
  if (!failed && !parser.Finish().ok()) failed = true;
  absl::StatusOr<llmkit::Json> whole = llmkit::Json::Parse(text);
  if (whole.ok()) {
    // Valid JSON must read the same.
    if (failed || !parser.complete() || parser.value().Dump() != whole->Dump()) __builtin_trap();
  }
  return 0;
}
