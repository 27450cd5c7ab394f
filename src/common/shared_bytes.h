// Read-only bytes that several objects view without copying — a memory-mapped file, or a string
// moved in — and a check that runs on its own thread while the caller goes on (the persisted
// indexes verify their checksums that way, so that opening them costs no full read).

#ifndef LLMKIT_SRC_COMMON_SHARED_BYTES_H_
#define LLMKIT_SRC_COMMON_SHARED_BYTES_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmkit::internal {

// Immutable once made; views stay valid while a shared_ptr to it lives. A mapped file must not
// be truncated in place while mapped (llmkit never does: its writers replace files by rename).
class SharedBytes {
 public:
  // How a mapped file will be read: whole (every page mapped at once, as a checksum over all of
  // it reads it), or a few pages of it (each mapped when first read).
  enum class Access { kWhole, kSparse };
  // Maps `path` read-only. Errors: kNotFound, kPermissionDenied, kDataLoss (cannot read), each
  // naming the path.
  static absl::StatusOr<std::shared_ptr<const SharedBytes>> Map(const std::string& path,
                                                                Access access = Access::kWhole);
  static std::shared_ptr<const SharedBytes> Own(std::string bytes);
  ~SharedBytes();
  SharedBytes(const SharedBytes&) = delete;
  SharedBytes& operator=(const SharedBytes&) = delete;

  std::string_view view() const { return {data_, size_}; }

 private:
  SharedBytes() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;
};

// Runs `check` on a new thread from construction (on the caller's thread when no thread can be
// started). Wait blocks until the result is known and returns it; any thread may call it, any
// number of times. The destructor waits for the thread.
class BackgroundCheck {
 public:
  explicit BackgroundCheck(std::function<absl::Status()> check);
  ~BackgroundCheck();
  BackgroundCheck(const BackgroundCheck&) = delete;
  BackgroundCheck& operator=(const BackgroundCheck&) = delete;

  absl::Status Wait() const;

 private:
  absl::Status status_;
  mutable std::thread thread_;
  mutable std::once_flag joined_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_SHARED_BYTES_H_
