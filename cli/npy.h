// Reader of NumPy .npy arrays (format versions 1-3): little-endian float32 or float64,
// C order, one or two dimensions. Used by `llmkit eval --vectors`.

#ifndef LLMKIT_CLI_NPY_H_
#define LLMKIT_CLI_NPY_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace llmkit::cli {

struct NpyMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;  // rows x cols, row-major (float64 files are rounded to float32).
};

// Parses the bytes of a .npy file. Errors: kInvalidArgument naming what is wrong and the byte
// offset (bad magic, header, dtype other than <f4/<f8, Fortran order, more than 2 dimensions,
// data shorter or longer than the shape).
absl::StatusOr<NpyMatrix> ParseNpy(std::string_view bytes);

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_NPY_H_
