// Fuzz target: the latent model's term table (LatentTerms::FromBytes, the reader Open uses) on
// arbitrary bytes. With the first byte odd the head's checksum (the last eight bytes) is
// recomputed over the head the header describes, so mutations reach the checks past it.
// Opening must return a table or an error, never crash; an opened table must answer lookups
// (a vector, "unknown", or kDataLoss for a damaged row) without reading out of bounds.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/crc32c.h"
#include "rag/latent_terms.h"

namespace {

// The head's size as the header gives it (see latent_terms.h), or 0 when it does not fit.
size_t HeadSize(std::string_view file) {
  if (file.size() < 32) return 0;
  uint64_t n, text;
  std::memcpy(&n, file.data() + 16, 8);
  if (n > file.size() / 8) return 0;
  const size_t last = 24 + 8 * n;
  if (last + 8 > file.size()) return 0;
  std::memcpy(&text, file.data() + last, 8);
  if (text > file.size()) return 0;
  const size_t head = 24 + 8 * (n + 1) + (text + 7) / 8 * 8 + (4 * n + 7) / 8 * 8;
  return head + 8 <= file.size() ? head : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    if (const size_t head = HeadSize(bytes); head != 0) {
      bytes.replace(bytes.size() - 8, 8,
                    llmkit::internal::Crc32cHex(std::string_view(bytes).substr(0, head)));
    }
  }
  auto table = llmkit::internal::LatentTerms::FromBytes(std::move(bytes));
  if (!table.ok()) return 0;
  std::vector<double> sum(static_cast<size_t>((*table)->dim()), 0.0);
  for (std::string_view term : {"", "a", "file", "line", "read", "\xc3\xa9t\xc3\xa9", "zzzz"}) {
    (void)(*table)->AddTo(term, 1.0, sum.data());
  }
  return 0;
}
