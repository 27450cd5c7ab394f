// Token-sized chunking: TokenLength and TokenSplitter (LangChain's TokenTextSplitter windows,
// with boundaries on characters and exact byte offsets).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "chunker/token_sizes.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"
#include "unicode/utf8.h"

namespace llmkit {

LengthFunction TokenLength(std::shared_ptr<const Tokenizer> tokenizer) {
  return [tokenizer = std::move(tokenizer)](std::string_view text) {
    return tokenizer->CountValidUtf8(text);
  };
}

using internal::CharacterStart;

absl::StatusOr<TokenSplitter> TokenSplitter::Create(std::shared_ptr<const Tokenizer> tokenizer,
                                                    TokenSplitterOptions options) {
  LLMKIT_RETURN_IF_ERROR(
      internal::CheckTokenChunkSizes(tokenizer.get(), options.chunk_size, options.chunk_overlap));
  return TokenSplitter(std::move(tokenizer), options);
}

absl::StatusOr<std::vector<Chunk>> TokenSplitter::Split(std::string_view text) const {
  std::vector<Token> tokens;
  std::vector<size_t> offsets;
  LLMKIT_RETURN_IF_ERROR(tokenizer_->EncodeOrdinaryWithOffsets(text, &tokens, &offsets));
  std::vector<Chunk> chunks;
  const size_t n = tokens.size();
  const size_t step = options_.chunk_size - options_.chunk_overlap;
  auto boundary = [&](size_t token) {
    return token >= n ? text.size() : CharacterStart(text, offsets[token]);
  };
  for (size_t start = 0; start < n; start += step) {
    size_t end = std::min(start + options_.chunk_size, n);
    size_t begin_byte = boundary(start);
    size_t end_byte = boundary(end);
    if (end_byte > begin_byte) {
      Chunk chunk;
      chunk.text = std::string(text.substr(begin_byte, end_byte - begin_byte));
      chunk.begin = begin_byte;
      chunk.end = end_byte;
      chunks.push_back(std::move(chunk));
    }
    if (end == n) break;
  }
  return chunks;
}

namespace internal {

absl::Status CheckTokenChunkSizes(const Tokenizer* tokenizer, size_t chunk_size,
                                  size_t chunk_overlap) {
  if (tokenizer == nullptr) return absl::InvalidArgumentError("tokenizer is null");
  if (chunk_size == 0) return absl::InvalidArgumentError("chunk_size must be > 0");
  if (chunk_overlap >= chunk_size) {
    return absl::InvalidArgumentError(absl::StrCat("chunk_overlap (", chunk_overlap,
                                                   ") must be < chunk_size (", chunk_size, ")"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace llmkit
