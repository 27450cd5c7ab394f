// The pre-split step of byte-pair encoding: cuts text into the pieces that tiktoken's `pat_str`
// regular expressions match, with a hand-written scanner per pattern (leftmost-first alternation
// and greedy backtracking reproduced exactly, the `\s+(?!\S)` look-ahead included).

#ifndef LLMKIT_SRC_TOKENIZER_PRE_SPLIT_H_
#define LLMKIT_SRC_TOKENIZER_PRE_SPLIT_H_

#include <cstddef>
#include <string_view>

#include "llmkit/tokenizer.h"

namespace llmkit::internal {

// Returns the end of the piece that starts at byte `pos` of `text`. Pieces tile the text: the
// next one starts where this one ends. Bytes that are not valid UTF-8 count as one character
// each of no class (callers validate first; the scanner only has to stay in bounds).
// REQUIRES: pos < text.size() and pos is a character boundary.
size_t NextPiece(PreSplit kind, std::string_view text, size_t pos);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_TOKENIZER_PRE_SPLIT_H_
