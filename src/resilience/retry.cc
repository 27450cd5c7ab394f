// The SDKs' retry rule, the retry budget and the WithRetry decorator.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

double DefaultRandom() {
  thread_local std::mt19937_64 engine(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

std::string Millis(nanoseconds d) {
  return absl::StrCat(std::chrono::duration_cast<milliseconds>(d).count(), " ms");
}

template <typename Kind>
class RetryCore {
 public:
  using Request = typename Kind::Request;
  using Response = typename Kind::Response;

  RetryCore(std::shared_ptr<typename Kind::Model> model, RetryPolicy policy)
      : model_(std::move(model)), policy_(std::move(policy)) {
    if (policy_.clock == nullptr) policy_.clock = SystemClock();
    if (policy_.sleeper == nullptr) policy_.sleeper = RealSleeper();
    if (!policy_.random) policy_.random = DefaultRandom;
  }

  absl::StatusOr<Response> Call(const Request& request, const StreamCallback* on_event,
                                const CallContext& call) {
    const Clock& clock = *policy_.clock;
    // The caller's deadline bounds every attempt and every wait; nothing here extends it.
    const bool has_deadline = call.has_deadline();
    const auto deadline = call.deadline;
    if (policy_.budget != nullptr) policy_.budget->RecordCall();
    nanoseconds waited{0};
    int attempts = 0;
    internal::SpentLog spent;
    for (int retry = 0;; ++retry) {
      internal::DeliveryTracker stream(on_event);
      const StreamCallback* callback = stream.callback();
      // With an attempt timeout, the attempt gets the sooner of it and the caller's deadline;
      // otherwise the caller's context goes on as it is. (The attempt's deadline is on the real
      // steady clock: the model below measures real time, whatever clock this policy reads.)
      Span span;
      if (policy_.tracer != nullptr) {
        span = policy_.tracer->StartSpan("retry attempt", call.trace, SpanKind::kInternal);
        span.SetAttribute("llmkit.retry.attempt", static_cast<int64_t>(retry + 1));
      }
      absl::StatusOr<Response> result =
          policy_.attempt_timeout.count() > 0
              ? Kind::Call(*model_, request, callback,
                           span.ChildContext(call.WithDeadlineAtMost(
                               CallContext::DeadlineAfter(policy_.attempt_timeout))))
          : span.active() ? Kind::Call(*model_, request, callback, span.ChildContext(call))
                          : Kind::Call(*model_, request, callback, call);
      if (!result.ok()) span.SetError(ErrorType(result.status()), result.status().ToString());
      span.End();
      attempts += internal::AttemptsOf(result);
      if (result.ok()) {
        result->attempts = attempts;
        result->backoff += waited;
        spent.template MoveInto<Kind>(*result);
        return result;
      }
      const absl::Status& error = result.status();
      spent.Add(error);
      if (stream.delivered() || retry >= policy_.max_retries || !IsRetryable(error)) {
        return spent.On(internal::WithAttempts(error, attempts));
      }
      nanoseconds delay = RetryDelay(error, retry, policy_, clock, policy_.random());
      if (has_deadline && clock.Now() + delay >= deadline) {
        absl::Status late = absl::DeadlineExceededError(
            absl::StrCat("not retrying: the wait of ", Millis(delay), " would pass the deadline (",
                         Millis(deadline - clock.Now()), " left) after ", attempts,
                         " attempt(s); last error: ", error.ToString()));
        error.ForEachPayload(
            [&](absl::string_view key, const absl::Cord& value) { late.SetPayload(key, value); });
        return spent.On(internal::WithAttempts(late, attempts));
      }
      if (policy_.budget != nullptr && !policy_.budget->TryRetry()) {
        return spent.On(WithPayload(
            internal::WithAttempts(
                internal::Annotate(error, " (not retried: retry budget exhausted)"), attempts),
            kPayloadRetryBudget, "exhausted"));
      }
      if (!policy_.sleeper->Sleep(delay, call.cancellation.get())) {
        return spent.On(internal::WithAttempts(
            absl::CancelledError("cancelled while waiting to retry"), attempts));
      }
      waited += delay;
      if (policy_.tracer != nullptr) {
        policy_.tracer->AddCounter("llmkit.retries", 1, {{"error.type", ErrorType(error)}});
      }
    }
  }

 private:
  std::shared_ptr<typename Kind::Model> model_;
  RetryPolicy policy_;
};

}  // namespace

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
  // In double seconds until capped: hints may be any size (1e308 ms, the year 9999).
  auto seconds_of = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::optional<double> hint;
  double value = 0;
  if (auto ms = GetPayload(status, kPayloadRetryAfterMs);
      ms && absl::SimpleAtod(*ms, &value) && std::isfinite(value) && value >= 0) {
    hint = value / 1000.0;
  } else if (auto after = GetPayload(status, kPayloadRetryAfter)) {
    if (absl::SimpleAtod(*after, &value) && std::isfinite(value) && value >= 0) {
      hint = value;
    } else if (auto date = ParseHttpDate(*after)) {
      hint = std::max(0.0, seconds_of(date->time_since_epoch()) -
                               seconds_of(clock.WallNow().time_since_epoch()));
    }
  }
  if (hint) {
    return std::chrono::duration_cast<nanoseconds>(
        std::chrono::duration<double>(std::min(*hint, seconds_of(policy.max_retry_after))));
  }
  double seconds =
      std::min(std::chrono::duration<double>(policy.initial_backoff).count() * std::pow(2.0, retry),
               std::chrono::duration<double>(policy.max_backoff).count());
  double jitter = 1.0 - std::clamp(random, 0.0, 1.0) * 0.25;
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(seconds * jitter));
}

RetryBudget::RetryBudget(double ratio, double burst)
    : ratio_(ratio), burst_(burst), tokens_(burst) {}

absl::StatusOr<std::shared_ptr<RetryBudget>> RetryBudget::Create(double ratio, double burst) {
  LLMKIT_RETURN_IF_ERROR(internal::InRange("RetryBudget ratio", ratio, 0, 1e9, "finite and >= 0"));
  LLMKIT_RETURN_IF_ERROR(internal::InRange("RetryBudget burst", burst, 1, 1e12, ">= 1"));
  return std::shared_ptr<RetryBudget>(new RetryBudget(ratio, burst));
}

void RetryBudget::RecordCall() {
  std::lock_guard lock(mu_);
  tokens_ = std::min(burst_, tokens_ + ratio_);
}

bool RetryBudget::TryRetry() {
  std::lock_guard lock(mu_);
  if (tokens_ < 1.0) {
    ++refused_;
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

double RetryBudget::tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

int64_t RetryBudget::retries_refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

static absl::Status CheckRetryPolicy(const RetryPolicy& p) {
  using internal::NotNegative;
  return internal::FirstError({
      internal::InRange("RetryPolicy::max_retries", p.max_retries, 0, 1e6, "in [0, 1000000]"),
      NotNegative("RetryPolicy::initial_backoff", p.initial_backoff),
      NotNegative("RetryPolicy::max_backoff", p.max_backoff),
      p.max_backoff >= p.initial_backoff
          ? absl::OkStatus()
          : internal::FieldError("RetryPolicy::max_backoff", ">= initial_backoff (ms)",
                                 static_cast<double>(p.max_backoff.count())),
      NotNegative("RetryPolicy::max_retry_after", p.max_retry_after),
      NotNegative("RetryPolicy::attempt_timeout", p.attempt_timeout),
  });
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithRetry(std::shared_ptr<ChatModel> model,
                                                     RetryPolicy policy) {
  absl::Status check = internal::FirstError(
      {internal::NotNull(model, "WithRetry's model"), CheckRetryPolicy(policy)});
  return internal::Decorate<RetryCore, internal::ChatKind>(check, std::move(model),
                                                           std::move(policy));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithRetry(std::shared_ptr<EmbeddingModel> model,
                                                          RetryPolicy policy) {
  absl::Status check = internal::FirstError(
      {internal::NotNull(model, "WithRetry's model"), CheckRetryPolicy(policy)});
  return internal::Decorate<RetryCore, internal::EmbeddingKind>(check, std::move(model),
                                                                std::move(policy));
}

}  // namespace llmkit
