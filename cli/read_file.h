// Reading and writing a whole file for the command line (which uses only the library's public
// headers).

#ifndef LLMKIT_CLI_READ_FILE_H_
#define LLMKIT_CLI_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace llmkit::cli {

// The file's bytes. Errors: kNotFound (no such file), kPermissionDenied (cannot open),
// kDataLoss (a read failed), each naming the path.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// Writes `data` to `path` atomically: a temporary file beside it, fsync, rename, so a reader
// sees the old file or the new one, never half of one. Errors name the path.
absl::Status WriteWholeFile(const std::string& path, const std::string& data);

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_READ_FILE_H_
