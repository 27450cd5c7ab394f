// Small helpers on instance values shared by the full validator (validate.cc) and IsValid's
// checks (check.cc): type bits, key and string equality, code point counts.

#ifndef LLMKIT_SRC_SCHEMA_VALUES_H_
#define LLMKIT_SRC_SCHEMA_VALUES_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
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

// The index in `properties` (a few compared, many through `index`) of the property named `key`,
// or properties.size(). Instances mostly list their members in the schema's order, so the one
// at `next` (after the last found) is tried first. `name(p)` is a property's name.
template <typename Properties, typename Name>
[[gnu::always_inline]] inline size_t FindProperty(
    const Properties& properties, size_t next, std::string_view key,
    const absl::flat_hash_map<std::string, size_t>& index, Name name) {
  const size_t count = properties.size();
  if (next < count && SameKey(name(properties[next]), key)) return next;
  if (count <= 8) {
    for (size_t p = 0; p < count; ++p) {
      if (SameKey(name(properties[p]), key)) return p;
    }
    return count;
  }
  auto it = index.find(absl::string_view(key.data(), key.size()));  // Not std::string_view here.
  return it == index.end() ? count : it->second;
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

// UTF-8 code points: the bytes that are not continuation bytes (10xxxxxx), eight at a time.
inline size_t CodePoints(std::string_view s) {
  constexpr uint64_t kHigh = 0x8080808080808080;
  // Bit 7 set and bit 6 (moved up to bit 7 by the shift) clear, in each byte of w.
  auto continuation_bytes = [](uint64_t w) {
    return static_cast<size_t>(__builtin_popcountll(w & ~(w << 1) & kHigh));
  };
  const char* p = s.data();
  const size_t n = s.size();
  if (n < 8) {
    if (n >= 4 && ((LoadWord<uint32_t>(p) | LoadWord<uint32_t>(p + n - 4)) & 0x80808080) == 0) {
      return n;  // ASCII.
    }
    size_t continuation = 0;
    for (size_t i = 0; i < n; ++i)
      continuation += (static_cast<unsigned char>(p[i]) & 0xC0) == 0x80;
    return n - continuation;
  }
  size_t continuation = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) continuation += continuation_bytes(LoadWord<uint64_t>(p + i));
  if (i < n) {
    // The last eight bytes, without the ones counted already (the first, in memory order).
    uint64_t w = LoadWord<uint64_t>(p + n - 8);
    const size_t counted = 8 - (n - i);
    if constexpr (std::endian::native == std::endian::little) {
      w &= ~uint64_t{0} << (8 * counted);
    } else {
      w &= ~uint64_t{0} >> (8 * counted);
    }
    continuation += continuation_bytes(w);
  }
  return n - continuation;
}

// minLength <= code points <= maxLength. A string of b bytes has between ceil(b / 4) and b code
// points: counted only when that range does not settle both bounds.
inline bool LengthWithin(std::string_view s, int64_t min_length, int64_t max_length) {
  if (max_length < 0) return false;
  const uint64_t bytes = s.size();
  const auto min = static_cast<uint64_t>(std::max<int64_t>(min_length, 0));
  const auto max = static_cast<uint64_t>(max_length);
  if (bytes < min) return false;
  if (bytes <= max && bytes / 4 >= min) return true;  // b / 4 <= ceil(b / 4).
  const uint64_t length = CodePoints(s);
  return length >= min && length <= max;
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
