// Starts and stops the store tests' servers.

#include "stores/peer_server.h"

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
#include <utility>

namespace llmkit::testing {
namespace {

std::string PeersDir() {
  const char* env = std::getenv("LLMKIT_PEERS_DIR");
  return env != nullptr && *env != '\0' ? env : LLMKIT_PEERS_DIR_DEFAULT;
}

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

PeerServer PeerServer::Pglite() {
  PeerServer server;
  std::string script =
      PeersDir() + "/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js";
  if (!std::filesystem::exists(script)) {
    server.why_ = "pglite-server is not installed in " + PeersDir() +
                  " (scripts/install-test-peers.sh installs it; make test runs that)";
    return server;
  }
  server.port_ = FreePort();
  server.Start("node", {script, "--host=127.0.0.1", "--port=" + std::to_string(server.port_), "-e",
                        "@electric-sql/pglite-pgvector:vector"});
  return server;
}

PeerServer PeerServer::Chroma() {
  PeerServer server;
  std::string cli = PeersDir() + "/node_modules/.bin/chroma";
  if (!std::filesystem::exists(cli)) {
    server.why_ = "chroma is not installed in " + PeersDir() +
                  " (scripts/install-test-peers.sh installs it; make test runs that)";
    return server;
  }
  char dir[] = "/tmp/llmkit-chroma-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    server.why_ = "cannot create a data directory";
    return server;
  }
  server.data_dir_ = dir;
  server.port_ = FreePort();
  server.Start(cli, {"run", "--path", server.data_dir_, "--host", "127.0.0.1", "--port",
                     std::to_string(server.port_)});
  return server;
}

std::string PeerServer::Package(const std::string& relative) {
  std::string path = PeersDir() + "/node_modules/" + relative;
  return std::filesystem::exists(path) ? path : std::string();
}

PeerServer PeerServer::McpEverythingHttp() {
  PeerServer server;
  std::string script = Package("@modelcontextprotocol/server-everything/dist/index.js");
  if (script.empty()) {
    server.why_ = "@modelcontextprotocol/server-everything is not installed in " + PeersDir() +
                  " (scripts/install-test-peers.sh installs it; make test runs that)";
    return server;
  }
  server.port_ = FreePort();
  server.env_ = {{"PORT", std::to_string(server.port_)}};
  server.Start("node", {script, "streamableHttp"});
  return server;
}

void PeerServer::Start(const std::string& program, std::vector<std::string> args) {
  program_ = program;
  args_ = args;
  pid_t pid = fork();
  if (pid == 0) {
    if (freopen("/dev/null", "w", stdout) == nullptr) _exit(126);
    if (freopen("/dev/null", "w", stderr) == nullptr) _exit(126);
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(program.c_str(), argv.data());
    _exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Accepts(port_)) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = program + " exited before listening";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  why_ = program + " did not listen within 30 s";
}

bool PeerServer::Restart() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  Start(std::string(program_), args_);
  return ok();
}

PeerServer::PeerServer(PeerServer&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      port_(other.port_),
      program_(std::move(other.program_)),
      args_(std::move(other.args_)),
      env_(std::move(other.env_)),
      why_(std::move(other.why_)),
      data_dir_(std::exchange(other.data_dir_, "")) {}

PeerServer::~PeerServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  if (!data_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }
}

std::string PeerServer::PostgresUrl(const std::string& password) const {
  return "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(port_) +
         "/postgres?sslmode=disable";
}

std::string PeerServer::HttpUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

}  // namespace llmkit::testing
