// SimplePattern: parsing the restricted ECMA-262 shape and the bit-parallel search.

#include "schema/simple_pattern.h"

#include <bitset>
#include <cstddef>

namespace llmkit::internal::schema {
namespace {

using ByteClass = std::bitset<128>;

// At most this many positions: one bit each, and the accept bit after them.
constexpr int kMaxPositions = 63;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void AddRange(ByteClass* cls, int lo, int hi) {
  for (int c = lo; c <= hi; ++c) cls->set(static_cast<size_t>(c));
}

// The class of the escape `e` (after a backslash): \d, \w, the control escapes, and a
// non-alphanumeric character standing for itself. False for anything else (\b, \s, \p, \u, ...).
bool EscapeClass(char e, ByteClass* cls) {
  switch (e) {
    case 'd':
      AddRange(cls, '0', '9');
      return true;
    case 'w':
      AddRange(cls, '0', '9');
      AddRange(cls, 'a', 'z');
      AddRange(cls, 'A', 'Z');
      cls->set('_');
      return true;
    case 't':
      cls->set('\t');
      return true;
    case 'n':
      cls->set('\n');
      return true;
    case 'r':
      cls->set('\r');
      return true;
    case 'f':
      cls->set('\f');
      return true;
    case 'v':
      cls->set('\v');
      return true;
    default:
      break;
  }
  const auto u = static_cast<unsigned char>(e);
  if (u < 0x20 || u >= 0x7F || IsAlnum(e)) return false;
  cls->set(u);
  return true;
}

// One class item at s[*i] inside [...]: a character, or an escape. `single` is the character
// when the item stands for exactly one (and may then start or end a range), -1 otherwise.
bool ClassItem(std::string_view s, size_t* i, ByteClass* cls, int* single) {
  *single = -1;
  const char c = s[*i];
  if (static_cast<unsigned char>(c) >= 0x80) return false;
  if (c != '\\') {
    *single = c;
    cls->set(static_cast<size_t>(c));
    ++*i;
    return true;
  }
  if (*i + 1 >= s.size()) return false;
  const char e = s[*i + 1];
  if (e == 'b' || e == '-') return false;  // Backspace, and \- inside a class: left to RE2.
  ByteClass one;
  if (!EscapeClass(e, &one)) return false;
  if (one.count() == 1) {
    for (size_t b = 0; b < 128; ++b) {
      if (one[b]) *single = static_cast<int>(b);
    }
  }
  *cls |= one;
  *i += 2;
  return true;
}

// A bracket class starting at s[*i] == '['.
bool BracketClass(std::string_view s, size_t* i, ByteClass* cls) {
  ++*i;
  if (*i >= s.size() || s[*i] == '^' || s[*i] == ']') return false;  // Negated or empty.
  while (*i < s.size() && s[*i] != ']') {
    ByteClass item;
    int lo = -1;
    if (!ClassItem(s, i, &item, &lo)) return false;
    if (*i + 1 < s.size() && s[*i] == '-' && s[*i + 1] != ']') {
      ++*i;
      ByteClass end;
      int hi = -1;
      if (lo < 0 || !ClassItem(s, i, &end, &hi) || hi < 0 || hi < lo) return false;
      AddRange(cls, lo, hi);
      continue;
    }
    *cls |= item;
  }
  if (*i >= s.size()) return false;  // Unterminated.
  ++*i;
  return true;
}

// One atom at s[*i]: a character, an escape, or a bracket class.
bool Atom(std::string_view s, size_t* i, ByteClass* cls) {
  const char c = s[*i];
  if (static_cast<unsigned char>(c) >= 0x80) return false;
  switch (c) {
    case '[':
      return BracketClass(s, i, cls);
    case '\\':
      if (*i + 1 >= s.size() || !EscapeClass(s[*i + 1], cls)) return false;
      *i += 2;
      return true;
    case '^':
    case '$':
    case '.':
    case '*':
    case '+':
    case '?':
    case '(':
    case ')':
    case '|':
    case '{':
    case '}':
    case ']':
      return false;
    default:
      cls->set(static_cast<size_t>(c));
      ++*i;
      return true;
  }
}

// A decimal count at s[*i]; false when there is none or it exceeds kMaxPositions.
bool Count(std::string_view s, size_t* i, int* out) {
  if (*i >= s.size() || !IsDigit(s[*i])) return false;
  int n = 0;
  while (*i < s.size() && IsDigit(s[*i])) {
    n = n * 10 + (s[*i] - '0');
    if (n > kMaxPositions) return false;
    ++*i;
  }
  *out = n;
  return true;
}

// The quantifier at s[*i], if any: {min, max} with max -1 for unbounded; {1, 1} when none.
bool Quantifier(std::string_view s, size_t* i, int* min, int* max) {
  *min = 1;
  *max = 1;
  if (*i >= s.size()) return true;
  switch (s[*i]) {
    case '*':
      *min = 0;
      *max = -1;
      ++*i;
      break;
    case '+':
      *max = -1;
      ++*i;
      break;
    case '?':
      *min = 0;
      ++*i;
      break;
    case '{': {
      ++*i;
      if (!Count(s, i, min)) return false;
      if (*i < s.size() && s[*i] == ',') {
        ++*i;
        *max = -1;
        if (*i < s.size() && s[*i] != '}' && (!Count(s, i, max) || *max < *min)) return false;
      } else {
        *max = *min;
      }
      if (*i >= s.size() || s[*i] != '}') return false;
      ++*i;
      break;
    }
    default:
      return true;
  }
  if (*i < s.size() && s[*i] == '?') ++*i;  // Lazy: the same yes or no.
  return true;
}

}  // namespace

std::optional<SimplePattern> SimplePattern::Parse(std::string_view s) {
  SimplePattern p;
  size_t i = 0;
  if (i < s.size() && s[i] == '^') {
    p.anchored_start_ = true;
    ++i;
  }
  int positions = 0;
  auto add = [&](const ByteClass& cls, bool repeat, bool skip) {
    if (positions >= kMaxPositions) return false;
    const uint64_t bit = uint64_t{1} << positions++;
    for (size_t c = 0; c < 128; ++c) {
      if (cls[c]) p.masks_[c] |= bit;
    }
    if (repeat) p.repeat_ |= bit;
    if (skip) p.skip_ |= bit;
    return true;
  };
  while (i < s.size()) {
    if (s[i] == '$' && i + 1 == s.size()) {
      p.anchored_end_ = true;
      break;
    }
    ByteClass cls;
    int min = 1, max = 1;
    if (!Atom(s, &i, &cls) || !Quantifier(s, &i, &min, &max)) return std::nullopt;
    for (int k = 0; k < min; ++k) {
      if (!add(cls, false, false)) return std::nullopt;
    }
    if (max == -1) {
      if (!add(cls, true, true)) return std::nullopt;
    } else {
      for (int k = min; k < max; ++k) {
        if (!add(cls, false, true)) return std::nullopt;
      }
    }
  }
  p.accept_ = uint64_t{1} << positions;
  p.start_ = p.Closure(1);
  if (p.anchored_start_ && p.anchored_end_ && p.skip_ == 0 && p.repeat_ == 0) {
    p.fixed_length_ = positions;
  }
  return p;
}

uint64_t SimplePattern::Closure(uint64_t states) const {
  if (skip_ == 0) return states;
  for (;;) {
    const uint64_t more = states | ((states & skip_) << 1);
    if (more == states) return states;
    states = more;
  }
}

bool SimplePattern::Search(std::string_view text) const {
  if (fixed_length_ >= 0) {  // "^[A-Z]{3}$": position i must hold text[i].
    if (text.size() != static_cast<size_t>(fixed_length_)) return false;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 128 || (masks_[c] >> i & 1) == 0) return false;
    }
    return true;
  }
  uint64_t states = start_;
  if (!anchored_end_ && (states & accept_) != 0) return true;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const uint64_t hit = c < 128 ? states & masks_[c] : 0;
    uint64_t next = Closure(((hit & ~repeat_) << 1) | (hit & repeat_));
    if (!anchored_start_) next |= start_;
    if (!anchored_end_ && (next & accept_) != 0) return true;
    if (next == 0) return false;
    states = next;
  }
  return (states & accept_) != 0;
}

}  // namespace llmkit::internal::schema
