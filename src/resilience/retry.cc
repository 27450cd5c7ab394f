// Clock and Sleeper implementations, the SDKs' retry rule, and the WithRetry decorator.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

class SystemClockImpl final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
};

class RealSleeperImpl final : public Sleeper {
 public:
  bool Sleep(nanoseconds duration, const Cancellation* cancellation) override {
    auto end = std::chrono::steady_clock::now() + duration;
    while (true) {
      if (cancellation != nullptr && cancellation->cancelled()) return false;
      auto now = std::chrono::steady_clock::now();
      if (now >= end) return true;
      std::this_thread::sleep_for(std::min<nanoseconds>(end - now, milliseconds(10)));
    }
  }
};

double DefaultRandom() {
  thread_local std::mt19937_64 engine(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

std::string Millis(nanoseconds d) {
  return absl::StrCat(std::chrono::duration_cast<milliseconds>(d).count(), " ms");
}

// `status` with the attempts made attached.
absl::Status WithAttempts(absl::Status status, int attempts) {
  return WithPayload(std::move(status), kPayloadAttempts, absl::StrCat(attempts));
}

class RetryingChatModel final : public ChatModel {
 public:
  RetryingChatModel(std::shared_ptr<ChatModel> model, RetryPolicy policy)
      : model_(std::move(model)), policy_(std::move(policy)) {
    if (policy_.clock == nullptr) policy_.clock = SystemClock();
    if (policy_.sleeper == nullptr) policy_.sleeper = RealSleeper();
    if (!policy_.random) policy_.random = DefaultRandom;
  }

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request) override {
    return Run(request, nullptr);
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request,
                                      const StreamCallback& on_event) override {
    return Run(request, &on_event);
  }

 private:
  absl::StatusOr<ChatResponse> Run(const ChatRequest& request, const StreamCallback* on_event) {
    const Clock& clock = *policy_.clock;
    const bool has_deadline = request.timeout.count() > 0;
    const auto deadline = clock.Now() + request.timeout;
    ChatRequest attempt = request;
    nanoseconds waited{0};
    for (int retry = 0;; ++retry) {
      if (has_deadline) {
        attempt.timeout = std::max(
            milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - clock.Now()));
      }
      bool delivered = false;
      absl::StatusOr<ChatResponse> result;
      if (on_event == nullptr) {
        result = model_->Complete(attempt);
      } else {
        result = model_->Stream(attempt, [&](const StreamEvent& event) {
          delivered = true;
          return !*on_event || (*on_event)(event);
        });
      }
      if (result.ok()) {
        result->attempts = retry + 1;
        result->backoff = waited;
        return result;
      }
      const absl::Status& error = result.status();
      if (delivered || retry >= policy_.max_retries || !IsRetryable(error)) {
        return WithAttempts(error, retry + 1);
      }
      nanoseconds delay = RetryDelay(error, retry, policy_, clock, policy_.random());
      if (has_deadline && clock.Now() + delay >= deadline) {
        absl::Status late = absl::DeadlineExceededError(
            absl::StrCat("not retrying: the wait of ", Millis(delay), " would pass the deadline (",
                         Millis(deadline - clock.Now()), " left) after ", retry + 1,
                         " attempt(s); last error: ", error.ToString()));
        error.ForEachPayload(
            [&](absl::string_view key, const absl::Cord& value) { late.SetPayload(key, value); });
        return WithAttempts(late, retry + 1);
      }
      if (!policy_.sleeper->Sleep(delay, request.cancellation.get())) {
        return WithAttempts(absl::CancelledError("cancelled while waiting to retry"), retry + 1);
      }
      waited += delay;
    }
  }

  std::shared_ptr<ChatModel> model_;
  RetryPolicy policy_;
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClockImpl>();
  return clock;
}

std::shared_ptr<Sleeper> RealSleeper() {
  static const std::shared_ptr<Sleeper> sleeper = std::make_shared<RealSleeperImpl>();
  return sleeper;
}

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return false;
    default:
      break;
  }
  if (std::optional<std::string> should = GetPayload(status, kPayloadShouldRetry)) {
    if (*should == "true") return true;
    if (*should == "false") return false;
  }
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text) {
  // IMF-fixdate, then the obsolete RFC 850 and asctime forms (RFC 9110 section 5.6.7).
  static const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                   "%a %b %e %H:%M:%S %Y"};
  for (const char* format : kFormats) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(format, internal::ToAbsl(text), absl::UTCTimeZone(), &time, &error)) {
      return absl::ToChronoTime(time);
    }
  }
  return std::nullopt;
}

nanoseconds RetryDelay(const absl::Status& status, int retry, const RetryPolicy& policy,
                       const Clock& clock, double random) {
  std::optional<nanoseconds> hint;
  double value = 0;
  if (auto ms = GetPayload(status, kPayloadRetryAfterMs);
      ms && absl::SimpleAtod(*ms, &value) && std::isfinite(value) && value >= 0) {
    hint =
        std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double, std::milli>(value));
  } else if (auto after = GetPayload(status, kPayloadRetryAfter)) {
    if (absl::SimpleAtod(*after, &value) && std::isfinite(value) && value >= 0) {
      hint = std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(value));
    } else if (auto date = ParseHttpDate(*after)) {
      hint = std::max<nanoseconds>(nanoseconds(0), *date - clock.WallNow());
    }
  }
  if (hint) return std::min<nanoseconds>(*hint, policy.max_retry_after);
  double seconds =
      std::min(std::chrono::duration<double>(policy.initial_backoff).count() * std::pow(2.0, retry),
               std::chrono::duration<double>(policy.max_backoff).count());
  double jitter = 1.0 - std::clamp(random, 0.0, 1.0) * 0.25;
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(seconds * jitter));
}

std::unique_ptr<ChatModel> WithRetry(std::shared_ptr<ChatModel> model, RetryPolicy policy) {
  return std::make_unique<RetryingChatModel>(std::move(model), std::move(policy));
}

}  // namespace llmkit
