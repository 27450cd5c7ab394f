// Parsing of an /embeddings answer straight into float32 (JSON numbers or base64), with simdjson
// and no intermediate Json tree.

#ifndef LLMKIT_SRC_EMBEDDINGS_EMBEDDING_RESPONSE_H_
#define LLMKIT_SRC_EMBEDDINGS_EMBEDDING_RESPONSE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace llmkit::internal {

struct EmbeddingBatch {
  size_t dimensions = 0;
  std::vector<float> values;  // rows x dimensions, ordered by each item's `index`.
  std::string model;
  int64_t prompt_tokens = 0;
  int64_t total_tokens = 0;
};

// `rows`: how many inputs the request sent. `padded`: at least kBodyPadding readable bytes
// follow `body` (then it is parsed in place, without a copy). Threads: each thread reuses its
// own parser. Errors: kUnavailable naming what is wrong (not JSON, wrong row count, an index out
// of range or repeated, rows of different lengths, bad base64).
absl::StatusOr<EmbeddingBatch> ParseEmbeddingResponse(std::string_view body, size_t rows,
                                                      bool padded = false);

// Decodes standard base64 (with or without padding) into `out`; returns the bytes written or
// -1 for a character outside the alphabet, misplaced padding, or more than `capacity` bytes.
int64_t DecodeBase64(std::string_view text, uint8_t* out, size_t capacity);
// The exact decoded size of valid base64 `text`.
size_t Base64DecodedSize(std::string_view text);
// Standard base64 with padding (for tests, benchmarks and fakes that play the server).
std::string EncodeBase64(const void* data, size_t size);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_EMBEDDINGS_EMBEDDING_RESPONSE_H_
