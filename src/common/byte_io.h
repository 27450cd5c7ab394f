// Little-endian binary reading with bounds checks and writing, for the files llmkit persists
// (collections, their approximate indexes, BM25 snapshots).

#ifndef LLMKIT_SRC_COMMON_BYTE_IO_H_
#define LLMKIT_SRC_COMMON_BYTE_IO_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::internal {

// Reads fields off the front of a byte range; each call returns false (consuming nothing)
// when too few bytes remain.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes), total_(bytes.size()) {}
  bool U8(uint8_t* out) { return Fixed(out); }
  bool U32(uint32_t* out) { return Fixed(out); }
  bool U64(uint64_t* out) { return Fixed(out); }
  bool I32(int32_t* out) { return Fixed(out); }
  bool F64(double* out) { return Fixed(out); }
  bool Bytes(size_t n, std::string_view* out) {
    if (bytes_.size() < n) return false;
    *out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return true;
  }
  template <typename T>
  bool Array(std::vector<T>* out) {  // u64 count, then raw elements.
    uint64_t n;
    std::string_view raw;
    if (!U64(&n) || n > bytes_.size() / sizeof(T) || !Bytes(n * sizeof(T), &raw)) return false;
    out->resize(n);
    if (n != 0) std::memcpy(out->data(), raw.data(), raw.size());
    return true;
  }
  // Skips zero bytes up to the next multiple of `alignment` (a power of two) of the position.
  bool Align(size_t alignment) {
    const size_t skip = (alignment - position() % alignment) % alignment;
    if (bytes_.size() < skip) return false;
    for (size_t i = 0; i < skip; ++i) {
      if (bytes_[i] != 0) return false;
    }
    bytes_.remove_prefix(skip);
    return true;
  }
  bool done() const { return bytes_.empty(); }
  size_t remaining() const { return bytes_.size(); }
  size_t position() const { return total_ - bytes_.size(); }

 private:
  template <typename T>
  bool Fixed(T* out) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(out, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }

  std::string_view bytes_;
  size_t total_;
};

void PutU8(std::string* out, uint8_t v);
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
void PutF64(std::string* out, double v);
template <typename T>
void PutArray(std::string* out, const std::vector<T>& v) {
  PutU64(out, v.size());
  out->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
// Zero bytes up to the next multiple of `alignment` (a power of two) of out->size(), so that a
// section written next can be read in place from a mapping of the file.
void PadTo(std::string* out, size_t alignment);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_BYTE_IO_H_
