// How a call context's deadline, idle timeout and cancellation become an HTTP request's timeouts
// (the rules of call.h), shared by every client that speaks HTTP.

#ifndef LLMKIT_SRC_HTTP_CALL_TIMING_H_
#define LLMKIT_SRC_HTTP_CALL_TIMING_H_

#include <algorithm>
#include <chrono>
#include <string_view>

#include "absl/status/status.h"
#include "llmkit/call.h"
#include "llmkit/http.h"

namespace llmkit::internal {

// The HTTP timeout for a request sent now under `deadline`: the time left, at least 1 ms (zero
// means "no limit" to the transport).
inline std::chrono::milliseconds TimeLeft(CallContext::Clock::time_point deadline,
                                          CallContext::Clock::time_point now) {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
}

// Adds the W3C trace context headers of `call` (traceparent, tracestate) when they are well
// formed: a traceparent of 55 lowercase hex digits and dashes, a tracestate of printable ASCII
// (so that no caller's value can add a header line).
inline void ApplyTraceContext(const CallContext& call, HttpRequest& http) {
  const std::string& parent = call.trace.traceparent;
  if (parent.size() != 55) return;
  for (char c : parent) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return;
  }
  http.headers.emplace_back("traceparent", parent);
  const std::string& state = call.trace.tracestate;
  if (state.empty() || state.size() > 512) return;
  for (char c : state) {
    if (c < 0x20 || c > 0x7e) return;
  }
  http.headers.emplace_back("tracestate", state);
}

// Sets `http`'s timeout, idle timeout, cancellation and trace context headers for one request
// of `call`. Streamed
// requests run until the deadline (none: no limit) and end after `call.idle_timeout` of silence;
// plain requests, whose servers are silent until the answer is complete, get no idle timeout and
// `request_timeout` when the call has no deadline. Returns kCancelled or kDeadlineExceeded when
// the call is already over (nothing is then sent).
inline absl::Status ApplyCall(const CallContext& call, bool stream,
                              std::chrono::milliseconds request_timeout, std::string_view what,
                              HttpRequest& http) {
  const auto now = CallContext::Clock::now();
  if (absl::Status status = call.Check(what, now); !status.ok()) return status;
  if (call.has_deadline()) {
    http.timeout = TimeLeft(call.deadline, now);
  } else {
    http.timeout = stream ? std::chrono::milliseconds(0) : request_timeout;
  }
  http.idle_timeout = stream ? call.idle_timeout : std::chrono::milliseconds(0);
  http.cancellation = call.cancellation;
  ApplyTraceContext(call, http);
  return absl::OkStatus();
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_HTTP_CALL_TIMING_H_
