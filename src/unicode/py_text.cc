// Python string semantics over UTF-8 (see text.h); tables in py_unicode.inc.

#include "unicode/py_text.h"

#include <algorithm>
#include <cstring>

namespace llmkit::internal {
namespace {

struct CaseEntry {
  uint32_t cp;
  const char* upper;
  const char* lower;
  const char* title;
};
struct CodeRange {
  uint32_t first, last;
};

#include "unicode/py_unicode.inc"

template <size_t N>
bool InRanges(const CodeRange (&table)[N], uint32_t cp) {
  const CodeRange* end = table + N;
  const CodeRange* it =
      std::upper_bound(table, end, cp, [](uint32_t c, const CodeRange& r) { return c < r.first; });
  return it != table && cp <= (it - 1)->last;
}

const CaseEntry* FindCase(uint32_t cp) {
  const CaseEntry* end = kCaseTable + sizeof(kCaseTable) / sizeof(kCaseTable[0]);
  const CaseEntry* it = std::lower_bound(kCaseTable, end, cp,
                                         [](const CaseEntry& e, uint32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

enum class Mapping { kUpper, kLower, kTitle };

void AppendMapped(uint32_t cp, Mapping m, std::string* out) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (m == Mapping::kLower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    } else if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
    out->push_back(c);
    return;
  }
  const CaseEntry* e = FindCase(cp);
  if (e == nullptr) {
    AppendUtf8(cp, out);
    return;
  }
  out->append(m == Mapping::kUpper ? e->upper : m == Mapping::kLower ? e->lower : e->title);
}

// Whether the UTF-8 text `mapped` is exactly code point `cp`.
bool SameCodePoint(const char* mapped, uint32_t cp) {
  std::string_view m(mapped);
  size_t i = 0;
  return !m.empty() && DecodeAt(m, &i) == cp && i == m.size();
}

std::string MapAll(std::string_view s, Mapping m) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) AppendMapped(DecodeAt(s, &i), m, &out);
  return out;
}

}  // namespace

uint32_t DecodeAt(std::string_view s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (n == 1 || *i + n > s.size()) {
    ++*i;
    return c;
  }
  uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n; ++k) {
    unsigned char d = static_cast<unsigned char>(s[*i + k]);
    if ((d & 0xC0) != 0x80) {
      ++*i;
      return c;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  *i += n;
  return cp;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsPySpace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t PySpaceLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return IsPySpace(c) ? 1 : 0;
  size_t j = i;
  uint32_t cp = DecodeAt(s, &j);
  return IsPySpace(cp) ? j - i : 0;
}

size_t RstripLength(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (PySpaceLength(s, start) != end - start) break;
    end = start;
  }
  return end;
}

size_t FindSubstring(std::string_view haystack, std::string_view needle, size_t from) {
  if (from > haystack.size()) return std::string_view::npos;
  if (needle.empty()) return from;
  // Also keeps a null data() of an empty view away from memmem (declared nonnull).
  if (haystack.size() - from < needle.size()) return std::string_view::npos;
  // glibc's memmem is linear (the two-way algorithm for long needles).
  const void* found =
      memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  return found == nullptr ? std::string_view::npos
                          : static_cast<size_t>(static_cast<const char*>(found) - haystack.data());
}

size_t RFindSubstring(std::string_view haystack, std::string_view needle, size_t before) {
  if (needle.size() > haystack.size()) return std::string_view::npos;
  const size_t last_start = std::min(before, haystack.size() - needle.size());
  // Short needles: the library's backward scan costs at most needle.size() per position.
  if (needle.size() <= 16) return haystack.rfind(needle, last_start);
  // Long ones: Knuth-Morris-Pratt over the text read backwards, from the end of the window to
  // the match, so repeated calls (rsplit) stay linear overall. r[k] is needle[m - 1 - k].
  const size_t m = needle.size();
  auto r = [&](size_t k) { return needle[m - 1 - k]; };
  std::vector<size_t> fail(m, 0);
  for (size_t k = 1, len = 0; k < m;) {
    if (r(k) == r(len)) {
      fail[k++] = ++len;
    } else if (len > 0) {
      len = fail[len - 1];
    } else {
      fail[k++] = 0;
    }
  }
  const size_t window = last_start + m;  // Text positions [0, window), read from the end.
  for (size_t k = 0, matched = 0; k < window;) {
    if (haystack[window - 1 - k] == r(matched)) {
      ++k;
      if (++matched == m) return window - k;
    } else if (matched > 0) {
      matched = fail[matched - 1];
    } else {
      ++k;
    }
  }
  return std::string_view::npos;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

size_t PyLength(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    DecodeAt(s, &i);
    ++n;
  }
  return n;
}

std::vector<size_t> CodePointOffsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    DecodeAt(s, &i);
  }
  offsets.push_back(s.size());
  return offsets;
}

std::string ToUpper(std::string_view s) { return MapAll(s, Mapping::kUpper); }
std::string ToLower(std::string_view s) { return MapAll(s, Mapping::kLower); }

bool IsCased(uint32_t cp) { return InRanges(kCasedRanges, cp); }
bool IsAlphaCp(uint32_t cp) { return InRanges(kAlphaRanges, cp); }
bool IsDigitCp(uint32_t cp) { return InRanges(kDigitRanges, cp); }
bool IsUpperCp(uint32_t cp) {
  if (!IsCased(cp)) return false;
  const CaseEntry* e = FindCase(cp);
  return e != nullptr && !SameCodePoint(e->lower, cp);
}
bool IsLowerCp(uint32_t cp) {
  if (!IsCased(cp)) return false;
  const CaseEntry* e = FindCase(cp);
  return e == nullptr || (!SameCodePoint(e->upper, cp) && SameCodePoint(e->lower, cp));
}

std::string PyTitle(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool previous_cased = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = DecodeAt(s, &i);
    AppendMapped(cp, previous_cased ? Mapping::kLower : Mapping::kTitle, &out);
    previous_cased = IsCased(cp);
  }
  return out;
}

std::string PyCapitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = DecodeAt(s, &i);
    AppendMapped(cp, first ? Mapping::kTitle : Mapping::kLower, &out);
    first = false;
  }
  return out;
}

void AppendPyRepr(std::string_view s, std::string* out) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  out->push_back(quote);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    uint32_t cp = DecodeAt(s, &i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out->append("\\n");
    } else if (cp == '\r') {
      out->append("\\r");
    } else if (cp == '\t') {
      out->append("\\t");
    } else if (cp < 0x20 || cp == 0x7F) {
      out->append("\\x");
      out->push_back(kHex[cp >> 4]);
      out->push_back(kHex[cp & 15]);
    } else if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (InRanges(kNonPrintableRanges, cp)) {
      if (cp <= 0xFF) {
        out->append("\\x");
      } else if (cp <= 0xFFFF) {
        out->append("\\u");
      } else {
        out->append("\\U");
      }
      int digits = cp <= 0xFF ? 2 : cp <= 0xFFFF ? 4 : 8;
      for (int d = digits - 1; d >= 0; --d) out->push_back(kHex[(cp >> (4 * d)) & 15]);
    } else {
      out->append(s.substr(start, i - start));
    }
  }
  out->push_back(quote);
}

std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    uint32_t cp = DecodeAt(s, &i);
    bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
               cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!brk) continue;
    lines.push_back(s.substr(start, at - start));
    if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
    start = i;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

}  // namespace llmkit::internal
