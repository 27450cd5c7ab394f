// Fetches a URL through llmkit's HTTP transport, streaming the body, with a cancellation and
// timeouts. The model clients use the same transport.
//
//   http_quickstart URL

#include <cstdio>
#include <string>

#include "llmkit/http.h"

// [stream]
class CountingHandler : public llmkit::StreamHandler {
 public:
  bool OnHeaders(int status, const llmkit::HttpHeaders& headers) override {
    std::printf("status %d, %zu headers\n", status, headers.size());
    return true;
  }
  bool OnData(std::string_view bytes) override {  // Called as bytes arrive, cut anywhere.
    received += bytes.size();
    return true;  // false would stop the request (kCancelled).
  }
  size_t received = 0;
};
// [stream]

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }
  // [send]
  absl::StatusOr<std::shared_ptr<llmkit::HttpTransport>> transport = llmkit::NewCurlTransport();
  if (!transport.ok()) return 1;
  llmkit::HttpRequest request;
  request.method = "GET";
  request.url = argv[1];
  request.timeout = std::chrono::seconds(30);                       // The whole request.
  request.idle_timeout = std::chrono::seconds(10);                  // Between bytes of the body.
  request.cancellation = std::make_shared<llmkit::Cancellation>();  // Cancel() from any thread.
  CountingHandler handler;
  absl::StatusOr<llmkit::HttpResponse> response = (*transport)->Send(request, &handler);
  if (!response.ok()) {
    std::fprintf(stderr, "%s\n", std::string(response.status().message()).c_str());
    return 1;
  }
  std::printf("%zu bytes received\n", handler.received);
  // [send]
  return 0;
}
