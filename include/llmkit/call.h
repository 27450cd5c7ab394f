// The call context: what travels beside every request — an absolute deadline, a stream idle
// timeout, cancellation, the host's tags and the caller's trace context. Requests (ChatRequest,
// the inputs of Embed, a query) hold only what goes to the provider or the index; everything
// about *this call* lives here, so a decorator that tightens a deadline or links a cancellation
// copies this small value, never the request.
//
//   llmkit::CallContext call = llmkit::CallContext::WithTimeout(std::chrono::seconds(30));
//   call.tags = {{"user", "u-42"}, {"feature", "search"}};
//   absl::StatusOr<llmkit::ChatResponse> r = model->Complete(request, call);
//
// Rules every part follows:
// - The deadline is absolute (steady clock). Nothing extends it: a retry or a hedge gets the time
//   left, never a fresh timeout. A call whose deadline has passed fails kDeadlineExceeded
//   without sending anything.
// - No deadline (the default) means: streamed calls run as long as bytes keep arriving (see
//   idle_timeout); non-streamed calls get the client's `request_timeout` (600 s, as the official
//   SDKs).
// - `idle_timeout` bounds the silence of a stream: no byte for that long ends the call with
//   kDeadlineExceeded (retryable, so WithRetry tries again when no event was delivered yet).
// - Cancellation reaches every attempt, hedge and concurrent batch of the call; the call then
//   returns kCancelled.
// - Tags are the host's (user, feature, team, session, tenant, ...). Decorators read them
//   (budgets, cost reports, traces, cache namespaces) and pass them on unchanged. They are never
//   sent to a provider.
//
// Threads: a CallContext is a value; const methods may be called from many threads. The
// Cancellation it points to is thread-safe.

#ifndef LLMKIT_CALL_H_
#define LLMKIT_CALL_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace llmkit {

// Lets another thread stop a call. Shared between the caller and whatever runs the call.
class Cancellation {
 public:
  Cancellation() = default;
  // A cancellation that is also cancelled when `parent` (may be null) is.
  explicit Cancellation(std::shared_ptr<const Cancellation> parent) : parent_(std::move(parent)) {}

  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const {
    return cancelled_.load(std::memory_order_relaxed) ||
           (parent_ != nullptr && parent_->cancelled());
  }

 private:
  std::atomic<bool> cancelled_{false};
  std::shared_ptr<const Cancellation> parent_;
};

// The caller's W3C Trace Context (https://www.w3.org/TR/trace-context/), filled by the host or by
// the tracing part so that spans of this call join the caller's trace.
struct TraceContext {
  std::string traceparent;  // "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"; empty: none.
  std::string tracestate;   // Vendor entries, passed on as they are.
};

// String keys to string values, ordered by key (so reports and cache keys are deterministic).
using CallTags = std::map<std::string, std::string, std::less<>>;

struct CallContext {
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

  // The call ends kDeadlineExceeded at this instant. kNoDeadline: see the rules above.
  Clock::time_point deadline = kNoDeadline;
  // Longest silence of a streamed response (before the first byte and between bytes). Zero: none.
  std::chrono::milliseconds idle_timeout{60'000};
  // Null: the call cannot be cancelled from outside.
  std::shared_ptr<Cancellation> cancellation;
  CallTags tags;
  TraceContext trace;

  // A context whose deadline is `timeout` from now. REQUIRES: timeout >= 0.
  static CallContext WithTimeout(std::chrono::nanoseconds timeout) {
    CallContext call;
    call.deadline = DeadlineAfter(timeout);
    return call;
  }
  // Now + `timeout`, saturating at kNoDeadline.
  static Clock::time_point DeadlineAfter(std::chrono::nanoseconds timeout,
                                         Clock::time_point now = Clock::now()) {
    return timeout >= kNoDeadline - now ? kNoDeadline : now + timeout;
  }

  bool has_deadline() const { return deadline != kNoDeadline; }
  bool cancelled() const { return cancellation != nullptr && cancellation->cancelled(); }

  // Time left before the deadline at `now`: zero once it passed, nanoseconds::max() without one.
  std::chrono::nanoseconds Remaining(Clock::time_point now = Clock::now()) const {
    if (!has_deadline()) return std::chrono::nanoseconds::max();
    return deadline <= now ? std::chrono::nanoseconds(0) : deadline - now;
  }

  // OK while the call may go on; else kCancelled or kDeadlineExceeded naming `what`.
  absl::Status Check(std::string_view what, Clock::time_point now = Clock::now()) const;

  // The value of tag `key`, or "" when absent.
  std::string_view Tag(std::string_view key) const {
    auto it = tags.find(key);
    return it == tags.end() ? std::string_view() : std::string_view(it->second);
  }

  // This context with the deadline moved earlier to `deadline` when that is sooner.
  CallContext WithDeadlineAtMost(Clock::time_point sooner) const {
    CallContext copy = *this;
    if (sooner < copy.deadline) copy.deadline = sooner;
    return copy;
  }
  // This context with `cancellation` (which should be linked to this one's, see Linked).
  CallContext WithCancellation(std::shared_ptr<Cancellation> other) const {
    CallContext copy = *this;
    copy.cancellation = std::move(other);
    return copy;
  }
  // A new Cancellation that is also cancelled when this context's is: for work the caller's
  // cancellation must reach but that may also be stopped on its own (a hedge, a batch).
  std::shared_ptr<Cancellation> Linked() const {
    return std::make_shared<Cancellation>(cancellation);
  }
};

}  // namespace llmkit

#endif  // LLMKIT_CALL_H_
