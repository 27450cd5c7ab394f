// StringSection::Read and Find (see string_section.h).

#include "common/string_section.h"

namespace llmkit::internal {

std::optional<StringSection> StringSection::Read(Reader* reader, uint64_t n) {
  std::string_view offsets;
  if (n >= reader->remaining() / 8 || !reader->Bytes((n + 1) * 8, &offsets)) return std::nullopt;
  uint64_t previous = 0;
  for (uint64_t i = 0; i <= n; ++i) {
    uint64_t offset;
    std::memcpy(&offset, offsets.data() + 8 * i, 8);
    if (offset < previous || (i == 0 && offset != 0)) return std::nullopt;
    previous = offset;
  }
  std::string_view blob;
  if (previous > reader->remaining() || !reader->Bytes(previous, &blob) || !reader->Align(8)) {
    return std::nullopt;
  }
  StringSection section;
  section.offsets_ = offsets.data();
  section.blob_ = blob.data();
  section.n_ = n;
  return section;
}

std::optional<size_t> StringSection::Find(std::string_view s) const {
  size_t low = 0, high = n_;
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    if ((*this)[mid] < s) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  if (low < n_ && (*this)[low] == s) return low;
  return std::nullopt;
}

}  // namespace llmkit::internal
