// Resilience decorators that wrap any ChatModel and compose in any order. This first part holds
// the timing seams (Clock, Sleeper) and retries with the official SDKs' rules.
//
//   std::unique_ptr<llmkit::ChatModel> model = llmkit::WithRetry(std::move(client), {});
//
// Retry rule (the openai / @anthropic-ai/sdk defaults): never for kCancelled, kInvalidArgument,
// kUnauthenticated, kPermissionDenied, kNotFound, kOutOfRange; otherwise the provider's
// `x-should-retry` header decides when present; otherwise retry kDeadlineExceeded (408,
// timeouts), kAborted (409), kResourceExhausted (429) and kUnavailable (5xx, 529, connection
// errors). Wait: `retry-after-ms`, else `Retry-After` (seconds or an HTTP date), capped at
// `max_retry_after`; else min(initial_backoff * 2^n, max_backoff) * (1 - 0.25 * random()) for
// the n-th retry (n from 0). A streamed call is never retried once an event reached the caller.
// The caller's deadline (ChatRequest::timeout from the first attempt) bounds everything: each
// attempt gets the time left, and a wait that would end past the deadline is not taken — the call
// returns kDeadlineExceeded at once, naming the last error.
//
// The response says how it went: ChatResponse::attempts and ::backoff.
// Threads: the decorators are as thread-safe as the model they wrap (all of llmkit's are).

#ifndef LLMKIT_RESILIENCE_H_
#define LLMKIT_RESILIENCE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "llmkit/chat.h"
#include "llmkit/http.h"

namespace llmkit {

// Time as the decorators see it; tests pass a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // Wall time, for HTTP dates in Retry-After.
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
};

// Waiting; tests pass a fake that advances a fake clock.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Waits `duration`; returns false early if `cancellation` (may be null) is cancelled.
  virtual bool Sleep(std::chrono::nanoseconds duration, const Cancellation* cancellation) = 0;
};

std::shared_ptr<Clock> SystemClock();
std::shared_ptr<Sleeper> RealSleeper();  // Wakes within 10 ms of a cancellation.

struct RetryPolicy {
  int max_retries = 2;  // Attempts = 1 + max_retries.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  // Server hints (retry-after-ms, Retry-After) above this are cut to it.
  std::chrono::milliseconds max_retry_after{60'000};
  std::shared_ptr<Clock> clock;      // Null: SystemClock().
  std::shared_ptr<Sleeper> sleeper;  // Null: RealSleeper().
  std::function<double()> random;    // Uniform in [0, 1); null: a thread-local engine.
};

// Whether the rule above retries `status`.
bool IsRetryable(const absl::Status& status);

// The wait before retry number `retry` (0 for the first) after `status`, by the rule above.
std::chrono::nanoseconds RetryDelay(const absl::Status& status, int retry,
                                    const RetryPolicy& policy, const Clock& clock, double random);

// Parses an HTTP date (RFC 9110 IMF-fixdate, and the obsolete RFC 850 and asctime forms).
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text);

std::unique_ptr<ChatModel> WithRetry(std::shared_ptr<ChatModel> model, RetryPolicy policy = {});

}  // namespace llmkit

#endif  // LLMKIT_RESILIENCE_H_
