// Fuzz target: a ledger file's reader (Ledger::ReadOnly) on arbitrary bytes. With the first byte
// odd each line's CRC-32C is recomputed, so mutations reach the JSON records past the checksum.
// Reading must return a ledger or an error, never crash; a ledger must answer totals and reports.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/crc32c.h"
#include "llmkit/cost.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    std::string fixed;
    size_t start = 0;
    while (start < bytes.size()) {
      size_t end = bytes.find('\n', start);
      if (end == std::string::npos) end = bytes.size();
      std::string_view line(bytes.data() + start, end - start);
      std::string_view json = line.size() > 9 ? line.substr(9) : line;
      fixed += llmkit::internal::Crc32cHex(json) + " " + std::string(json);
      if (end < bytes.size()) fixed += "\n";
      start = end + 1;
    }
    bytes = std::move(fixed);
  }
  static const std::string path = "/tmp/llmkit_ledger_fuzz_" + std::to_string(getpid());
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  std::fwrite(bytes.data(), 1, bytes.size(), file);
  std::fclose(file);
  absl::StatusOr<std::shared_ptr<llmkit::Ledger>> ledger = llmkit::Ledger::ReadOnly(path);
  if (ledger.ok()) {
    (void)(*ledger)->Spent({{"user", "alice"}}, llmkit::BudgetWindow::kMonth);
    (void)(*ledger)->Report({"user", "model"}, llmkit::BudgetWindow::kAllTime);
  }
  unlink(path.c_str());
  return 0;
}
