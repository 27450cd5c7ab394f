// Small helpers on instance values shared by the full validator (validate.cc) and IsValid's
// checks (check.cc): type bits, key and string equality, code point counts.

#ifndef LLMKIT_SRC_SCHEMA_VALUES_H_
#define LLMKIT_SRC_SCHEMA_VALUES_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "llmkit/json.h"
#include "schema/program.h"

namespace llmkit::internal::schema {

inline uint8_t TypeBits(const Json& j) {
  switch (j.type()) {
    case Json::Type::kNull:
      return kNullType;
    case Json::Type::kBool:
      return kBooleanType;
    case Json::Type::kInt:
      return kIntegerType | kNumberType;
    case Json::Type::kDouble: {
      const double d = j.as_double();
      return std::isfinite(d) && std::floor(d) == d ? kIntegerType | kNumberType : kNumberType;
    }
    case Json::Type::kString:
      return kStringType;
    case Json::Type::kArray:
      return kArrayType;
    case Json::Type::kObject:
      return kObjectType;
  }
  return 0;
}

template <typename Word>
Word LoadWord(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// Equal keys: the lengths first, then (up to 16 bytes, most keys) two overlapping word loads
// from each end rather than a call to memcmp.
[[gnu::always_inline]] inline bool SameKey(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return LoadWord<uint64_t>(x) == LoadWord<uint64_t>(y) &&
           LoadWord<uint64_t>(x + n - 8) == LoadWord<uint64_t>(y + n - 8);
  }
  if (n >= 4) {
    return LoadWord<uint32_t>(x) == LoadWord<uint32_t>(y) &&
           LoadWord<uint32_t>(x + n - 4) == LoadWord<uint32_t>(y + n - 4);
  }
  if (n >= 2) {
    return LoadWord<uint16_t>(x) == LoadWord<uint16_t>(y) &&
           LoadWord<uint16_t>(x + n - 2) == LoadWord<uint16_t>(y + n - 2);
  }
  return n == 0 || x[0] == y[0];
}

// JSON Schema equality (Json's ==), without its work list for two strings.
inline bool SameValue(const Json& a, const Json& b) {
  if (a.is_string() && b.is_string()) return SameKey(a.as_string(), b.as_string());
  return a == b;
}

// `instance` is one of `values` (an array); `only_strings`: every value is a string.
inline bool InValues(const Json& values, bool only_strings, const Json& instance) {
  if (only_strings) {
    if (!instance.is_string()) return false;
    const std::string& s = instance.as_string();
    for (const Json& v : values.as_array()) {
      if (SameKey(v.as_string(), s)) return true;
    }
    return false;
  }
  for (const Json& v : values.as_array()) {
    if (v == instance) return true;
  }
  return false;
}

inline size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A string of b bytes has between ceil(b / 4) and b code points: counted only when that range
// does not settle both bounds.
inline bool LengthWithin(std::string_view s, int64_t min_length, int64_t max_length) {
  const auto bytes = static_cast<int64_t>(s.size());
  if (bytes <= max_length && (bytes + 3) / 4 >= min_length) return true;
  const auto length = static_cast<int64_t>(CodePoints(s));
  return length <= max_length && length >= min_length;
}

// Array items pairwise distinct under JSON Schema equality.
inline bool ItemsUnique(const Json::Array& items) {
  for (size_t i = 1; i < items.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (SameValue(items[i], items[j])) return false;
    }
  }
  return true;
}

}  // namespace llmkit::internal::schema

#endif  // LLMKIT_SRC_SCHEMA_VALUES_H_
