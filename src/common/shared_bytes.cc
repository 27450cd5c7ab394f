// SharedBytes (mmap or an owned string) and BackgroundCheck (see shared_bytes.h).

#include "common/shared_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace llmkit::internal {

absl::StatusOr<std::shared_ptr<const SharedBytes>> SharedBytes::Map(const std::string& path,
                                                                    Access access) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    std::string message = absl::StrCat("cannot open ", path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::DataLossError(message);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::DataLossError(absl::StrCat("cannot read ", path, ": not a regular file"));
  }
  auto bytes = std::shared_ptr<SharedBytes>(new SharedBytes());
  if (st.st_size == 0) {  // mmap refuses empty ranges.
    close(fd);
    return bytes;
  }
  // MAP_POPULATE maps every page now, in one call, instead of one fault per page later; a file
  // read sparsely is better off with the faults of the pages it reads.
  void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                    MAP_PRIVATE | (access == Access::kWhole ? MAP_POPULATE : 0), fd, 0);
  const int error = errno;
  close(fd);
  if (data == MAP_FAILED) {
    return absl::DataLossError(absl::StrCat("cannot map ", path, ": ", std::strerror(error)));
  }
  bytes->data_ = static_cast<const char*>(data);
  bytes->size_ = static_cast<size_t>(st.st_size);
  bytes->mapped_ = true;
  return bytes;
}

std::shared_ptr<const SharedBytes> SharedBytes::Own(std::string bytes) {
  auto out = std::shared_ptr<SharedBytes>(new SharedBytes());
  out->owned_ = std::move(bytes);
  out->data_ = out->owned_.data();
  out->size_ = out->owned_.size();
  return out;
}

SharedBytes::~SharedBytes() {
  if (mapped_) munmap(const_cast<char*>(data_), size_);
}

BackgroundCheck::BackgroundCheck(std::function<absl::Status()> check) {
  try {
    thread_ = std::thread([this, check] { status_ = check(); });
  } catch (const std::system_error&) {
    status_ = check();
  }
}

BackgroundCheck::~BackgroundCheck() { Wait().IgnoreError(); }

absl::Status BackgroundCheck::Wait() const {
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
  return status_;
}

}  // namespace llmkit::internal
