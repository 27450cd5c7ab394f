// Fuzz target: the /embeddings answer parser and the base64 decoder. The first byte is the
// number of rows the request sent. A parsed answer must hold exactly rows x dimensions floats;
// nothing may crash or read out of bounds.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "embeddings/embedding_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t rows = data[0] % 16;
  auto parsed = llmkit::internal::ParseEmbeddingResponse(text, rows);
  if (parsed.ok() && parsed->values.size() != rows * parsed->dimensions) __builtin_trap();
  size_t capacity = llmkit::internal::Base64DecodedSize(text);
  std::vector<uint8_t> out(capacity);
  int64_t n = llmkit::internal::DecodeBase64(text, out.data(), capacity);
  if (n > static_cast<int64_t>(capacity)) __builtin_trap();
  return 0;
}
