// A scripted HTTP/1.1 server on 127.0.0.1 for the transport and client tests. Each request is
// answered by a script of steps: send bytes, sleep, close. Keep-alive is honoured after a reply
// that does not close, so connection reuse is observable.

#ifndef LLMKIT_TESTS_HTTP_TEST_SERVER_H_
#define LLMKIT_TESTS_HTTP_TEST_SERVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llmkit/http.h"

namespace llmkit::testing {

struct ServerRequest {
  std::string method;
  std::string path;
  HttpHeaders headers;
  std::string body;
};

struct Step {
  enum Kind { kSend, kSleep, kClose } kind = kSend;
  std::string bytes;
  std::chrono::milliseconds sleep{0};
};

using Script = std::vector<Step>;

// A complete response with Content-Length (the connection stays open).
Script Reply(int status, std::string body, HttpHeaders headers = {},
             std::string content_type = "application/json");
// Status line and headers of a streamed response that ends when the connection closes.
Step StreamHead(int status = 200, std::string content_type = "text/event-stream");
// A 200 event stream: `headers`, then `body` cut into `fragment`-byte sends, then close.
Script StreamReply(std::string_view body, size_t fragment, HttpHeaders headers = {});
inline Step Send(std::string bytes) { return {Step::kSend, std::move(bytes), {}}; }
inline Step Sleep(int ms) { return {Step::kSleep, {}, std::chrono::milliseconds(ms)}; }
inline Step Close() { return {Step::kClose, {}, {}}; }

class TestServer {
 public:
  using Handler = std::function<Script(const ServerRequest&)>;

  explicit TestServer(Handler handler);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& path = "/") const;
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  // The most requests being answered at the same moment.
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  void Accept();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;  // Guarded by mu_.
  std::vector<int> open_fds_;         // Guarded by mu_.
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_HTTP_TEST_SERVER_H_
