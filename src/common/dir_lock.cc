// DirLock: flock on <dir>/LOCK across processes, a registry of the locks this process holds
// (for re-entry by the holding thread and for waiting threads).

#include "common/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace llmkit::internal {
namespace {

struct Held {
  int fd = -1;
  std::thread::id owner;
  int count = 0;
};

struct Registry {
  std::mutex mu;
  std::condition_variable released;
  std::unordered_map<std::string, Held> held;
};

Registry& Locks() {
  static Registry* registry = new Registry();
  return *registry;
}

// The pid the holder wrote into LOCK ("unknown" when unreadable).
std::string HolderOf(int fd) {
  char buffer[32] = {};
  ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  int pid = 0;
  if (n > 0 &&
      absl::SimpleAtoi(
          absl::StripAsciiWhitespace(absl::string_view(buffer, static_cast<size_t>(n))), &pid)) {
    return absl::StrCat(pid);
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<DirLock> DirLock::Acquire(const std::string& dir,
                                         std::chrono::steady_clock::time_point deadline) {
  if (!MakeDirs(dir)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create directory ", dir, ": ", std::strerror(errno)));
  }
  std::error_code error;
  std::string key = std::filesystem::weakly_canonical(dir, error).string();
  if (error || key.empty()) key = dir;
  const std::string path = key + "/LOCK";
  Registry& locks = Locks();
  std::unique_lock guard(locks.mu);
  while (true) {
    auto it = locks.held.find(key);
    if (it != locks.held.end()) {
      if (it->second.owner == std::this_thread::get_id()) {
        ++it->second.count;
        return DirLock(key);
      }
      // Another thread of this process writes: wait for it.
      if (deadline == std::chrono::steady_clock::time_point::max()) {
        locks.released.wait(guard);
      } else if (locks.released.wait_until(guard, deadline) == std::cv_status::timeout &&
                 locks.held.count(key) > 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(dir, " is being written by another thread of this process (", path, ")"));
      }
      continue;
    }
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::string pid = absl::StrCat(getpid(), "\n");
      if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The pid only names the holder in others' errors; the lock holds without it.
      }
      locks.held[key] = Held{fd, std::this_thread::get_id(), 1};
      return DirLock(key);
    }
    const int flock_errno = errno;
    std::string holder = HolderOf(fd);
    close(fd);
    if (flock_errno != EWOULDBLOCK) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot lock ", path, ": ", std::strerror(flock_errno)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " is being written by process ", holder, " (", path,
                       " is locked); wait for it to finish, or give the call a later deadline"));
    }
    // Another process writes: poll (flock cannot wait with a deadline).
    guard.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    guard.lock();
  }
}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    Release();
    key_ = std::move(other.key_);
    other.key_.clear();
  }
  return *this;
}

DirLock::~DirLock() { Release(); }

void DirLock::Release() {
  if (key_.empty()) return;
  Registry& locks = Locks();
  std::lock_guard guard(locks.mu);
  auto it = locks.held.find(key_);
  if (it != locks.held.end() && --it->second.count == 0) {
    flock(it->second.fd, LOCK_UN);
    close(it->second.fd);
    locks.held.erase(it);
    locks.released.notify_all();
  }
  key_.clear();
}

}  // namespace llmkit::internal
