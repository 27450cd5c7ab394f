// HTTP transport for the model clients: requests, responses, streaming, and the libcurl
// implementation that runs every request of a process on one event loop.
//
// Errors: a request that got an HTTP response returns it, whatever its status (clients map
// statuses to codes). Transport failures are statuses: kDeadlineExceeded (connect timeout,
// deadline, idle timeout between bytes), kCancelled (the request's Cancellation fired, or the
// handler stopped the stream), kUnavailable (DNS, connection refused or reset, TLS errors, the
// server closing mid-response), kInvalidArgument (a malformed URL or header).
//
// Threads: a transport is safe to share; Send and Start may be called from any thread at once.
// The curl transport runs all transfers on one background thread with curl_multi, so 256
// requests in flight need one thread, not 256. Stream handlers are called on that thread: they
// must return quickly and must not call Send on the same transport and wait for it.

#ifndef LLMKIT_HTTP_H_
#define LLMKIT_HTTP_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/call.h"

namespace llmkit {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of header `name` (ASCII case-insensitive), if present.
std::optional<std::string_view> FindHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  HttpHeaders headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  // Whole request, from Start to the last byte. Zero: no deadline.
  std::chrono::milliseconds timeout{600'000};
  // Longest wait for the next byte once connected (streams that stall). Zero: none.
  std::chrono::milliseconds idle_timeout{60'000};
  std::shared_ptr<Cancellation> cancellation;  // Optional.
};

// Spare capacity the curl transport leaves after a body whose Content-Length it knew, so parsers
// that read ahead (simdjson needs 64 bytes) can use the buffer without copying it.
inline constexpr size_t kBodyPadding = 64;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // Empty when a StreamHandler received the body.

  std::optional<std::string_view> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

// Receives a response as it arrives (server-sent events). Called on the transport's thread.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // The status line and headers. Return false to stop the request (it ends kCancelled).
  virtual bool OnHeaders(int status, const HttpHeaders& headers) = 0;
  // The next bytes of the body, in arrival order, cut anywhere. Return false to stop.
  virtual bool OnData(std::string_view bytes) = 0;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Starts `request`; `done` is called exactly once, on the transport's thread, with the
  // response or the transport error. With a `handler` the body goes to it, not the response.
  // `handler` must stay alive until `done` runs.
  virtual void Start(HttpRequest request, StreamHandler* handler,
                     std::function<void(absl::StatusOr<HttpResponse>)> done) = 0;

  // Start, then wait. Every wait is bounded by the request's timeouts.
  absl::StatusOr<HttpResponse> Send(HttpRequest request, StreamHandler* handler = nullptr);
};

struct CurlTransportOptions {
  bool verify_tls = true;
  // CA bundle file; empty uses libcurl's default (Debian: /etc/ssl/certs/ca-certificates.crt).
  std::string ca_path;
  // Open connections kept per host (keep-alive pool); HTTP/2 multiplexes over them when the
  // server offers it.
  long max_connections_per_host = 32;
  // http_proxy / https_proxy / no_proxy from the environment are honoured by libcurl; this
  // overrides them when set.
  std::string proxy;
};

// Errors: kInternal if libcurl cannot be initialised.
absl::StatusOr<std::shared_ptr<HttpTransport>> NewCurlTransport(CurlTransportOptions options = {});

}  // namespace llmkit

#endif  // LLMKIT_HTTP_H_
