// The MCP stdio transport: a server process started with posix_spawnp, newline-delimited
// JSON-RPC on its stdin and stdout (socket pairs, so that writing to a server that died is an
// error, not a SIGPIPE), its stderr kept (the last lines) for error messages.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/mcp_impl.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

extern char** environ;

namespace llmkit::internal::agent {
namespace {

constexpr size_t kMaxLineBytes = size_t{64} << 20;
constexpr size_t kStderrLines = 20;

// What the reference SDK passes on of the parent's environment.
constexpr const char* kInheritedVariables[] = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};

class StdioImpl final : public McpClient::Impl {
 public:
  StdioImpl(McpOptions options, std::string name)
      : Impl(std::move(options)), name_(std::move(name)) {}
  ~StdioImpl() override { Stop(); }

  absl::Status Start(const std::vector<std::string>& command);
  absl::Status Notify(std::string_view method, Json params) override {
    Json message = Json::MakeObject();
    message.Set("jsonrpc", "2.0");
    message.Set("method", std::string(method));
    message.Set("params", std::move(params));
    return Write(message);
  }

 protected:
  absl::StatusOr<Json> Exchange(const Json& request, int64_t id, Clock::time_point deadline,
                                const std::shared_ptr<Cancellation>& cancellation) override;

 private:
  struct Waiter {
    bool done = false;
    absl::StatusOr<Json> response = absl::UnknownError("no response");
  };

  absl::Status Write(const Json& message);
  void ReadOutput();
  void ReadErrors();
  void Dispatch(std::string_view line);
  // The server is gone: every waiter fails with `status`.
  void Close(absl::Status status);
  void Stop();
  std::string StderrTail();

  std::string name_;  // The command, for messages.
  pid_t pid_ = -1;
  int in_ = -1;   // Our end of the server's stdin.
  int out_ = -1;  // Our end of the server's stdout.
  int err_ = -1;  // Our end of the server's stderr.
  std::thread output_reader_;
  std::thread error_reader_;
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::shared_ptr<Waiter>> waiting_;  // Guarded by mu_, as below.
  absl::Status closed_;                                 // OK while the server is there.
  std::deque<std::string> stderr_lines_;
  int skipped_lines_ = 0;  // Lines on stdout that were not JSON-RPC.
};

absl::Status StdioImpl::Start(const std::vector<std::string>& command) {
  int in[2], out[2], err[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("MCP server ", name_, ": ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[1], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group: a terminal's Ctrl-C reaches the host, which ends the server itself;
  // and the group (npx and the node it starts) is stopped together.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<std::string> env;
  for (const char* name : kInheritedVariables) {
    if (options_.env.count(name) > 0) continue;
    if (const char* value = std::getenv(name)) env.push_back(absl::StrCat(name, "=", value));
  }
  for (const auto& [name, value] : options_.env) env.push_back(absl::StrCat(name, "=", value));
  std::vector<char*> envp, argv;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // posix_spawnp searches the PATH given to the child; use ours for the lookup.
  const int rc = posix_spawnp(&pid_, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(in[1]);
  close(out[1]);
  close(err[1]);
  in_ = in[0];
  out_ = out[0];
  err_ = err[0];
  if (rc != 0) {
    pid_ = -1;
    return absl::UnavailableError(
        absl::StrCat("MCP server: cannot start '", name_, "': ", std::strerror(rc)));
  }
  output_reader_ = std::thread([this] { ReadOutput(); });
  error_reader_ = std::thread([this] { ReadErrors(); });
  return absl::OkStatus();
}

absl::Status StdioImpl::Write(const Json& message) {
  std::string line = message.Dump();  // Compact: no newline inside.
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(write_mu_);
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(in_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(absl::StrCat(
          "MCP server ", name_, " is not reading its input: ", std::strerror(errno), StderrTail()));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string StdioImpl::StderrTail() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stderr_lines_.empty()) return {};
  return absl::StrCat("; its stderr ends: ", absl::StrJoin(stderr_lines_, " | "));
}

void StdioImpl::Dispatch(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return;
  absl::StatusOr<Json> message = Json::Parse(line);
  if (!message.ok() || !message->is_object()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++skipped_lines_;  // Not JSON-RPC (a log line on the wrong stream): skipped, as the SDK does.
    return;
  }
  if (IsResponse(*message)) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(ResponseId(*message));
    if (it == waiting_.end()) return;  // Given up on, or not ours.
    it->second->response = *std::move(message);
    it->second->done = true;
    waiting_.erase(it);
    cv_.notify_all();
    return;
  }
  if (IsServerRequest(*message)) (void)Write(AnswerServerRequest(*message));
  // Notifications (logging, progress, list_changed) need nothing from us.
}

void StdioImpl::ReadOutput() {
  std::string buffer;
  char chunk[65536];
  bool discarding = false;  // Inside a line longer than kMaxLineBytes.
  while (true) {
    const ssize_t n = recv(out_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (chunk[i] != '\n') continue;
      if (!discarding) {
        buffer.append(chunk + start, i - start);
        Dispatch(buffer);
      }
      buffer.clear();
      discarding = false;
      start = i + 1;
    }
    if (!discarding) buffer.append(chunk + start, static_cast<size_t>(n) - start);
    if (buffer.size() > kMaxLineBytes) {
      buffer.clear();
      discarding = true;
      std::lock_guard<std::mutex> lock(mu_);
      ++skipped_lines_;
    }
  }
  if (!buffer.empty() && !discarding) Dispatch(buffer);
  // stderr may still be arriving: give it a moment so the message can show it.
  for (int i = 0; i < 20; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (err_ < 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Close(absl::UnavailableError(
      absl::StrCat("MCP server ", name_, " closed its output (exited?)", StderrTail())));
}

void StdioImpl::ReadErrors() {
  std::string partial;
  char chunk[4096];
  while (true) {
    const ssize_t n = read(err_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, newline);
      partial.erase(0, newline + 1);
      if (line.empty()) continue;
      if (line.size() > 300) line = line.substr(0, 300) + "...";
      std::lock_guard<std::mutex> lock(mu_);
      stderr_lines_.push_back(std::move(line));
      if (stderr_lines_.size() > kStderrLines) stderr_lines_.pop_front();
    }
    if (partial.size() > 4096) partial.clear();
  }
  std::lock_guard<std::mutex> lock(mu_);
  close(err_);
  err_ = -1;
}

void StdioImpl::Close(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_.ok()) closed_ = std::move(status);
  for (auto& [id, waiter] : waiting_) {
    waiter->response = closed_;
    waiter->done = true;
  }
  waiting_.clear();
  cv_.notify_all();
}

absl::StatusOr<Json> StdioImpl::Exchange(const Json& request, int64_t id,
                                         Clock::time_point deadline,
                                         const std::shared_ptr<Cancellation>& cancellation) {
  auto waiter = std::make_shared<Waiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_.ok()) return closed_;
    waiting_[id] = waiter;
  }
  if (absl::Status written = Write(request); !written.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_.erase(id);
    return written;
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (!waiter->done) {
    const bool cancelled = cancellation != nullptr && cancellation->cancelled();
    if (cancelled || Clock::now() >= deadline) {
      waiting_.erase(id);
      lock.unlock();
      Json params = Json::MakeObject();
      params.Set("requestId", id);
      params.Set("reason", cancelled ? "cancelled" : "timed out");
      (void)Notify("notifications/cancelled", std::move(params));
      const std::string what = absl::StrCat("MCP request ", id, " to ", name_);
      return cancelled ? absl::CancelledError(absl::StrCat(what, " was cancelled"))
                       : absl::DeadlineExceededError(absl::StrCat(what, " timed out"));
    }
    cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  return std::move(waiter->response);
}

void StdioImpl::Stop() {
  if (pid_ > 0) {
    // Closing stdin asks the server to exit (the spec's shutdown); then SIGTERM, then SIGKILL.
    shutdown(in_, SHUT_WR);
    int status = 0;
    bool exited = false;
    for (int signal_number : {0, SIGTERM, SIGKILL}) {
      if (signal_number != 0) kill(-pid_, signal_number);
      for (int i = 0; i < 200 && !exited; ++i) {
        exited = waitpid(pid_, &status, WNOHANG) == pid_;
        if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (exited) break;
    }
    if (!exited) waitpid(pid_, &status, 0);
    kill(-pid_, SIGKILL);  // Anything of its group still running (npx's child).
  }
  if (out_ >= 0) shutdown(out_, SHUT_RDWR);
  if (output_reader_.joinable()) output_reader_.join();
  if (error_reader_.joinable()) error_reader_.join();
  for (int* fd : {&in_, &out_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<McpClient::Impl>> StartMcpStdio(std::vector<std::string> command,
                                                               McpOptions options) {
  if (command.empty() || command[0].empty()) {
    return absl::InvalidArgumentError("MCP stdio: an empty command");
  }
  auto impl = std::make_shared<StdioImpl>(std::move(options), command[0]);
  LLMKIT_RETURN_IF_ERROR(impl->Start(command));
  return impl;
}

}  // namespace llmkit::internal::agent
