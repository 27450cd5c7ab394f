// Starts and stops pglite-server for the pgvector tests.

#include "pgvector/pglite_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace llmkit::testing {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

PgliteServer::PgliteServer() {
  const char* env = std::getenv("LLMKIT_PEERS_DIR");
  std::string peers = env != nullptr && *env != '\0' ? env : LLMKIT_PEERS_DIR_DEFAULT;
  std::string script = peers + "/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js";
  if (!std::filesystem::exists(script)) {
    why_ = "pglite-server is not installed in " + peers +
           " (scripts/install-test-peers.sh installs it; make test runs that)";
    return;
  }
  port_ = FreePort();
  std::string port = std::to_string(port_);
  pid_t pid = fork();
  if (pid == 0) {
    // Quiet; the server dies with the test (PR_SET_PDEATHSIG is not portable: the destructor
    // kills it, and ctest's timeout kills the group).
    freopen("/dev/null", "w", stdout);
    execlp("node", "node", script.c_str(), "--host=127.0.0.1", ("--port=" + port).c_str(), "-e",
           "@electric-sql/pglite-pgvector:vector", static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Accepts(port_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = "pglite-server exited before listening";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  why_ = "pglite-server did not listen within 30 s";
}

PgliteServer::~PgliteServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
}

std::string PgliteServer::Dsn(const std::string& password) const {
  return "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(port_) +
         "/postgres?sslmode=disable";
}

}  // namespace llmkit::testing
