// UTF-8 helpers shared by the chunkers: validation with the offset of the first bad byte,
// length counting in code points / UTF-16 units, code point stepping and JavaScript's
// whitespace set for trimming.

#ifndef LLMKIT_SRC_UNICODE_UTF8_H_
#define LLMKIT_SRC_UNICODE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace llmkit::internal {

// Returns the offset of the first byte that does not start a valid UTF-8 sequence (overlong
// forms, surrogates and values past U+10FFFF are invalid), or npos if `text` is valid.
size_t FindInvalidUtf8(std::string_view text);

// OK, or kInvalidArgument naming the byte offset (and value) of the first bad byte, with the
// offset in the kPayloadByteOffset payload. The check behind every part's UTF-8 errors.
absl::Status CheckUtf8(std::string_view text);

// `bytes` with each maximal invalid subpart replaced by U+FFFD, as Python's
// bytes.decode("utf-8", "replace") does.
std::string ReplaceInvalidUtf8(std::string_view bytes);

// Number of code points. REQUIRES: valid UTF-8.
size_t CountCodePoints(std::string_view text);

// Number of UTF-16 code units. REQUIRES: valid UTF-8.
size_t CountUtf16Units(std::string_view text);

// Byte length of the UTF-8 sequence that starts with `lead`. REQUIRES: a valid lead byte.
inline size_t SequenceLength(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// The start of the character that holds byte `at` (`at` itself when a character starts there
// or it is at or past the end): where a cut at `at` keeps whole characters.
inline size_t CharacterStart(std::string_view text, size_t at) {
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  return at;
}

// Number of bytes of JavaScript whitespace (String.prototype.trim's set: WhiteSpace and
// LineTerminator, Zs included) at the start / end of `text`. REQUIRES: valid UTF-8.
size_t LeadingJsWhitespace(std::string_view text);
size_t TrailingJsWhitespace(std::string_view text);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_UNICODE_UTF8_H_
