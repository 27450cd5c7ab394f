// The size rules TokenSplitter and SentenceSplitter share.

#ifndef LLMKIT_SRC_CHUNKER_TOKEN_SIZES_H_
#define LLMKIT_SRC_CHUNKER_TOKEN_SIZES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "llmkit/tokenizer.h"

namespace llmkit::internal {

// kInvalidArgument for a null tokenizer, chunk_size == 0 or chunk_overlap >= chunk_size.
absl::Status CheckTokenChunkSizes(const Tokenizer* tokenizer, size_t chunk_size,
                                  size_t chunk_overlap);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CHUNKER_TOKEN_SIZES_H_
