// File helpers shared by the parts that persist data: mkdir -p, atomic writes, whole-file reads.

#ifndef LLMKIT_SRC_COMMON_FILES_H_
#define LLMKIT_SRC_COMMON_FILES_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmkit::internal {

// mkdir -p. False (errno set) when a component cannot be created.
bool MakeDirs(const std::string& dir);

// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename,
// then fsync of the directory, so a crash leaves either the old file or the new one.
// Errors: kPermissionDenied (directory not writable), kDataLoss (write/rename failed).
absl::Status WriteAtomically(const std::string& path, std::string_view data);

// The whole file. Errors: kNotFound, kPermissionDenied, kDataLoss (read failed).
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_FILES_H_
