// A tiny HTTP/1.0 endpoint serving a text body at /metrics, for Prometheus to scrape.

#ifndef LLMKIT_SRC_OBSERVE_METRICS_ENDPOINT_H_
#define LLMKIT_SRC_OBSERVE_METRICS_ENDPOINT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace llmkit::internal {

// One connection at a time, each answered and closed; a request head is read for at most
// 2 s and 8 KB. GET /metrics gets `body()`, anything else 404. Stops in the destructor.
class MetricsEndpoint {
 public:
  // Errors: kInvalidArgument (not an IPv4 address and port), kUnavailable (cannot listen).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                                int port,
                                                                std::function<std::string()> body);
  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  void Serve();

  int fd_ = -1;
  int port_ = 0;
  std::function<std::string()> body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_OBSERVE_METRICS_ENDPOINT_H_
