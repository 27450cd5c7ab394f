// The three tiktoken pre-split patterns as scanners. Each function below names the regex
// alternative it implements; alternatives are tried in the pattern's order and the first that
// matches wins, as in the backtracking engine (fancy-regex) tiktoken uses.

#include "tokenizer/pre_split.h"

#include <array>
#include <cstdint>

#include "unicode/unicode_classes.h"

namespace llmkit::internal {
namespace {

constexpr size_t kFail = static_cast<size_t>(-1);
constexpr uint32_t kInvalid = 0xFFFFFFFF;

// Classes of ASCII characters (same flags as CodePointClass).
constexpr std::array<uint8_t, 128> MakeAsciiClasses() {
  std::array<uint8_t, 128> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = kLetter | kLower;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = kLetter | kUpper;
  for (int c = '0'; c <= '9'; ++c) table[c] = kNumber;
  for (int c : {'\t', '\n', '\v', '\f', '\r', ' '}) table[c] = kSpace;
  return table;
}
constexpr std::array<uint8_t, 128> kAscii = MakeAsciiClasses();

struct Char {
  uint32_t cp;
  uint8_t cls;
  uint8_t len;
};

// Reads the character at `pos`. REQUIRES: pos < text.size().
inline Char At(std::string_view text, size_t pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  unsigned char b0 = p[0];
  if (b0 < 0x80) return {b0, kAscii[b0], 1};
  size_t left = text.size() - pos;
  uint32_t cp;
  uint8_t len;
  if (b0 >= 0xC2 && b0 < 0xE0) {
    if (left < 2 || (p[1] & 0xC0) != 0x80) return {kInvalid, 0, 1};
    cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    len = 2;
  } else if (b0 >= 0xE0 && b0 < 0xF0) {
    if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return {kInvalid, 0, 1};
    cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000)) return {kInvalid, 0, 1};
    len = 3;
  } else if (b0 >= 0xF0 && b0 < 0xF5) {
    if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
      return {kInvalid, 0, 1};
    }
    cp = ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return {kInvalid, 0, 1};
    len = 4;
  } else {
    return {kInvalid, 0, 1};
  }
  return {cp, CodePointClass(cp), len};
}

inline bool IsNewline(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// [^\s\p{L}\p{N}]
inline bool IsOther(uint8_t cls) { return (cls & (kLetter | kNumber | kSpace)) == 0; }

// End of the run of characters whose class has a bit of `mask`, from `pos`.
inline size_t RunOf(std::string_view text, size_t pos, uint8_t mask) {
  while (pos < text.size()) {
    Char c = At(text, pos);
    if ((c.cls & mask) == 0) break;
    pos += c.len;
  }
  return pos;
}

// End of the run of [^\s\p{L}\p{N}] from `pos`.
inline size_t OtherRun(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    Char c = At(text, pos);
    if (!IsOther(c.cls)) break;
    pos += c.len;
  }
  return pos;
}

// End of the run of characters in `set` (ASCII) from `pos`.
inline size_t AsciiRun(std::string_view text, size_t pos, std::string_view set) {
  while (pos < text.size() && set.find(text[pos]) != std::string_view::npos) ++pos;
  return pos;
}

inline bool Is(std::string_view text, size_t pos, char lower, bool ignore_case) {
  if (pos >= text.size()) return false;
  char c = text[pos];
  return c == lower || (ignore_case && c == lower - 'a' + 'A');
}

// 's|'t|'re|'ve|'m|'ll|'d (optionally case-insensitive: with Unicode simple case folding 's'
// also matches U+017F LATIN SMALL LETTER LONG S). `pos` is at the apostrophe. Returns the end of
// the match or kFail.
size_t Contraction(std::string_view text, size_t pos, bool ignore_case) {
  if (pos >= text.size() || text[pos] != '\'') return kFail;
  size_t p = pos + 1;
  if (Is(text, p, 's', ignore_case) || Is(text, p, 't', ignore_case) ||
      Is(text, p, 'm', ignore_case) || Is(text, p, 'd', ignore_case)) {
    return p + 1;
  }
  if (ignore_case && text.substr(p, 2) == "\xC5\xBF") return p + 2;  // U+017F
  if ((Is(text, p, 'r', ignore_case) || Is(text, p, 'v', ignore_case)) &&
      Is(text, p + 1, 'e', ignore_case)) {
    return p + 2;
  }
  if (Is(text, p, 'l', ignore_case) && Is(text, p + 1, 'l', ignore_case)) return p + 2;
  return kFail;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at a whitespace character.
size_t Whitespace(std::string_view text, size_t pos, bool newline_rule) {
  size_t end = pos;
  size_t last_start = pos;     // Start of the last whitespace character of the run.
  size_t newline_end = kFail;  // End of the last \r or \n of the run.
  while (end < text.size()) {
    Char c = At(text, end);
    if ((c.cls & kSpace) == 0) break;
    last_start = end;
    end += c.len;
    if (IsNewline(c.cp)) newline_end = end;
  }
  if (newline_rule && newline_end != kFail) return newline_end;  // \s*[\r\n]+
  if (end == text.size()) return end;                            // \s+(?!\S) to the end
  if (last_start > pos) return last_start;  // \s+(?!\S): give the last one back
  return end;                               // \s+
}

// 'r50k_base'/'p50k_base':
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t NextGpt2(std::string_view text, size_t pos) {
  size_t end = Contraction(text, pos, /*ignore_case=*/false);
  if (end != kFail) return end;
  Char c0 = At(text, pos);
  size_t start = pos;
  Char c = c0;
  if (c0.cp == ' ' && pos + 1 < text.size()) {
    Char c1 = At(text, pos + 1);
    if ((c1.cls & (kLetter | kNumber)) || IsOther(c1.cls)) {
      start = pos + 1;
      c = c1;
    }
  }
  if (c.cls & kLetter) return RunOf(text, start, kLetter);
  if (c.cls & kNumber) return RunOf(text, start, kNumber);
  if (IsOther(c.cls)) return OtherRun(text, start);
  return Whitespace(text, pos, /*newline_rule=*/false);
}

// The alternatives cl100k_base and o200k_base end with, once no letter alternative matched at
// `pos` (c0 is the character there):
// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[<trailing>]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t NumberOtherOrSpace(std::string_view text, size_t pos, Char c0, std::string_view trailing) {
  size_t next = pos + c0.len;
  if (c0.cls & kNumber) {
    size_t end = next;
    for (int i = 1; i < 3 && end < text.size(); ++i) {
      Char c = At(text, end);
      if ((c.cls & kNumber) == 0) break;
      end += c.len;
    }
    return end;
  }
  size_t start = kFail;
  if (c0.cp == ' ' && next < text.size() && IsOther(At(text, next).cls)) start = next;
  if (IsOther(c0.cls)) start = pos;
  if (start != kFail) return AsciiRun(text, OtherRun(text, start), trailing);
  return Whitespace(text, pos, /*newline_rule=*/true);
}

// 'cl100k_base':
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+
size_t NextCl100k(std::string_view text, size_t pos) {
  size_t end = Contraction(text, pos, /*ignore_case=*/true);
  if (end != kFail) return end;
  Char c0 = At(text, pos);
  if (c0.cls & kLetter) return RunOf(text, pos, kLetter);
  size_t next = pos + c0.len;
  if (!IsNewline(c0.cp) && (c0.cls & kNumber) == 0 && next < text.size() &&
      (At(text, next).cls & kLetter)) {
    return RunOf(text, next, kLetter);
  }
  return NumberOtherOrSpace(text, pos, c0, "\r\n");
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from `pos`: the end, or kFail.
size_t UpperThenLower(std::string_view text, size_t pos) {
  size_t end = pos;
  size_t last_lower_end = kFail;  // End of the last character of the upper run also in kLower.
  while (end < text.size()) {
    Char c = At(text, end);
    if ((c.cls & kUpper) == 0) {
      // The upper run takes everything; the lower run starts here if it can.
      if (c.cls & kLower) return RunOf(text, end, kLower);
      break;
    }
    end += c.len;
    if (c.cls & kLower) last_lower_end = end;
  }
  // Backtrack: the upper run gives back characters until one can start the lower run; that
  // one is followed by a character outside kLower, so the lower run is one character long.
  return last_lower_end;
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* from `pos`: the end, or kFail.
size_t UpperRunThenLower(std::string_view text, size_t pos) {
  size_t end = RunOf(text, pos, kUpper);
  if (end == pos) return kFail;
  return RunOf(text, end, kLower);
}

// 'o200k_base':
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?|
// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?|
// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t NextO200k(std::string_view text, size_t pos) {
  Char c0 = At(text, pos);
  size_t next = pos + c0.len;
  bool prefix = !IsNewline(c0.cp) && (c0.cls & (kLetter | kNumber)) == 0 && next < text.size();
  for (auto body : {&UpperThenLower, &UpperRunThenLower}) {
    size_t end = prefix ? body(text, next) : kFail;
    if (end == kFail) end = body(text, pos);
    if (end != kFail) {
      size_t contraction = Contraction(text, end, /*ignore_case=*/true);
      return contraction != kFail ? contraction : end;
    }
  }
  return NumberOtherOrSpace(text, pos, c0, "\r\n/");
}

}  // namespace

size_t NextPiece(PreSplit kind, std::string_view text, size_t pos) {
  switch (kind) {
    case PreSplit::kGpt2:
      return NextGpt2(text, pos);
    case PreSplit::kCl100k:
      return NextCl100k(text, pos);
    case PreSplit::kO200k:
      return NextO200k(text, pos);
  }
  return text.size();
}

}  // namespace llmkit::internal
