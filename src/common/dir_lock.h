// One writer at a time for a directory that holds a persisted index: an exclusive advisory lock
// (flock) on <dir>/LOCK, which the kernel releases when the holding process dies.

#ifndef LLMKIT_SRC_COMMON_DIR_LOCK_H_
#define LLMKIT_SRC_COMMON_DIR_LOCK_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace llmkit::internal {

// Held while alive; movable. Re-entrant within the thread that holds it (a save inside an
// update that already holds the lock); another thread of the process, or another process,
// waits for it. Readers never take it.
class DirLock {
 public:
  // Waits until `deadline` (steady clock) for the lock. Errors: kFailedPrecondition naming the
  // process that holds it (the pid it wrote into LOCK) once the deadline passes;
  // kPermissionDenied when LOCK cannot be created.
  static absl::StatusOr<DirLock> Acquire(const std::string& dir,
                                         std::chrono::steady_clock::time_point deadline);

  DirLock(DirLock&& other) noexcept : key_(std::move(other.key_)) { other.key_.clear(); }
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

 private:
  explicit DirLock(std::string key) : key_(std::move(key)) {}
  void Release();
  std::string key_;  // The canonical directory; empty once moved from.
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_DIR_LOCK_H_
