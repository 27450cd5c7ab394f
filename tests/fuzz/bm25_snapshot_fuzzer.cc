// Fuzz target: Bm25Index snapshots (Bm25Index::Open's reader) on arbitrary bytes. With the first
// byte odd the trailing CRC-32C is recomputed over the rest, so mutations reach the layout and
// posting checks past the checksum. Opening must return an index or an error, never crash; an
// opened index must answer searches and take a write (copying the snapshot into memory), or
// fail them with an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/crc32c.h"
#include "llmkit/bm25.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) && bytes.size() >= 8) {
    bytes.resize(bytes.size() - 8);
    bytes += llmkit::internal::Crc32cHex(bytes);
  }
  absl::StatusOr<std::unique_ptr<llmkit::Bm25Index>> opened =
      llmkit::internal::OpenBm25Snapshot(std::move(bytes));
  if (!opened.ok()) return 0;
  llmkit::Bm25Index& index = **opened;
  for (std::string_view query : {"file line", "read", "über naïve"}) {
    (void)index.Search(query, {.k = 5, .filter = [](std::string_view id) { return !id.empty(); }});
  }
  (void)index.Contains("doc-1");
  (void)index.Upsert({"doc-1", "fuzz"}, {"read a file line by line", "sorted list"});
  index.Delete(std::vector<std::string>{"doc-2"});
  (void)index.Search("file", {.k = 5});
  return 0;
}
