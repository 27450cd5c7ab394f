// The short patterns that JSON Schemas use most ("^[A-Z]{3}$", "^\d{4}-\d{2}-\d{2}$",
// "^[a-z0-9_-]+$"), matched without RE2: an optional ^, a sequence of ASCII characters or ASCII
// character classes each with an optional quantifier, an optional $. Such a pattern is a chain of
// positions, and a 64-bit word holds which positions the text so far can stand before (bit-parallel
// NFA), so a match costs a few operations per byte and no call into RE2's machinery: linear time,
// as RE2.
//
// Every class holds only ASCII bytes, so a byte >= 0x80 never matches a position and matching
// bytes is matching code points. Anything else (groups, alternation, ".", negated classes, \s,
// \p{...}, more than 63 positions) is not a SimplePattern and stays with RE2.

#ifndef LLMKIT_SRC_SCHEMA_SIMPLE_PATTERN_H_
#define LLMKIT_SRC_SCHEMA_SIMPLE_PATTERN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmkit::internal::schema {

class SimplePattern {
 public:
  // The pattern `ecma` (ECMA-262 syntax, no flags) when it has the shape above; nullopt
  // otherwise (also for a syntax error: the caller's RE2 compile reports those).
  static std::optional<SimplePattern> Parse(std::string_view ecma);

  // True when the pattern matches somewhere in `text` (ECMA-262 RegExp.prototype.test).
  bool Search(std::string_view text) const;

 private:
  SimplePattern() = default;
  uint64_t Closure(uint64_t states) const;

  std::array<uint64_t, 128> masks_{};  // masks_[c]: the positions whose class holds byte c.
  uint64_t repeat_ = 0;                // Positions that may match again (x* and the tail of x+).
  uint64_t skip_ = 0;                  // Positions that may match nothing (x?, x*).
  uint64_t accept_ = 0;                // The bit after the last position.
  uint64_t start_ = 0;                 // Closure of the first position.
  int fixed_length_ = -1;  // ^...$ with every position matched once: the length it matches.
  bool anchored_start_ = false;
  bool anchored_end_ = false;
};

}  // namespace llmkit::internal::schema

#endif  // LLMKIT_SRC_SCHEMA_SIMPLE_PATTERN_H_
