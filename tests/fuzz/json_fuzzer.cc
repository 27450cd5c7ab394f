// Fuzz target: Json::Parse on arbitrary bytes; a parsed value must dump and re-parse equal.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llmkit/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto value = llmkit::Json::Parse(text);
  if (!value.ok()) {
    if (value.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  auto again = llmkit::Json::Parse(value->Dump());
  // NaN cannot come from parsing, so every parsed value must survive a round trip.
  if (!again.ok() || !(*again == *value)) __builtin_trap();
  return 0;
}
