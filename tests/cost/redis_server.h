// A redis-server child process (Debian's /usr/bin/redis-server) on a free port of 127.0.0.1,
// without persistence, for the tests and benchmarks that need a real Redis. Stopped (SIGKILL)
// by Stop() or on destruction.

#ifndef LLMKIT_TESTS_COST_REDIS_SERVER_H_
#define LLMKIT_TESTS_COST_REDIS_SERVER_H_

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/redis.h"

namespace llmkit::testing {

class RedisServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";
  static bool Installed() { return access(kBinary, X_OK) == 0; }

  RedisServer() : port_(FreePort()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      if (std::freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
      execl(kBinary, kBinary, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--protected-mode", "no", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !ok_; ++i) {
      auto client = internal::RedisClient::Connect(url(), std::chrono::milliseconds(200), 1);
      ok_ = client.ok() && (*client)->Command({"PING"}).ok();
      if (!ok_) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~RedisServer() { Stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return ok_; }  // It answered PING.
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
  }

  int port_;
  pid_t pid_ = -1;
  bool ok_ = false;
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_COST_REDIS_SERVER_H_
