// StringSection: n strings stored as n + 1 offsets into a blob, read in place from a mapped
// file (the collection's documents and the BM25 snapshot's ids and terms).

#ifndef LLMKIT_SRC_COMMON_STRING_SECTION_H_
#define LLMKIT_SRC_COMMON_STRING_SECTION_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "common/byte_io.h"

namespace llmkit::internal {

// n strings as n + 1 little-endian u64 offsets into a blob, read in place.
class StringSection {
 public:
  StringSection() = default;
  // Reads a section of n strings off `reader` (offsets, then the blob, then zeros up to a
  // multiple of 8). Nullopt when it is malformed (offsets that decrease or pass the blob).
  static std::optional<StringSection> Read(Reader* reader, uint64_t n);
  // Appends a section (the inverse of Read) to `out`; `at(i)` gives string i.
  template <typename At>
  static void Write(size_t n, At&& at, std::string* out);

  size_t size() const { return n_; }
  // The index of `s` in a section whose strings are sorted and distinct, or nullopt.
  std::optional<size_t> Find(std::string_view s) const;
  std::string_view operator[](size_t i) const {
    uint64_t range[2];
    std::memcpy(range, offsets_ + 8 * i, 16);
    return {blob_ + range[0], static_cast<size_t>(range[1] - range[0])};
  }

 private:
  const char* offsets_ = nullptr;
  const char* blob_ = nullptr;
  size_t n_ = 0;
};

template <typename At>
void StringSection::Write(size_t n, At&& at, std::string* out) {
  uint64_t offset = 0;
  PutU64(out, 0);
  for (size_t i = 0; i < n; ++i) {
    offset += std::string_view(at(i)).size();
    PutU64(out, offset);
  }
  for (size_t i = 0; i < n; ++i) out->append(std::string_view(at(i)));
  PadTo(out, 8);
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_STRING_SECTION_H_
