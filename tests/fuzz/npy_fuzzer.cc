// Fuzz target: the .npy reader (`llmkit eval --vectors`) on arbitrary bytes. A parsed matrix
// must hold exactly rows x cols values; anything else must be an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<llmkit::cli::NpyMatrix> m =
      llmkit::cli::ParseNpy(std::string_view(reinterpret_cast<const char*>(data), size));
  if (m.ok() && m->values.size() != m->rows * m->cols) std::abort();
  if (!m.ok() && m.status().message().find("npy: ") != 0) std::abort();
  return 0;
}
