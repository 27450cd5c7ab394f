// CircuitBreaker: closed / open / half-open over a count-based sliding window.

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;

template <typename Kind>
class BreakerCore {
 public:
  BreakerCore(std::shared_ptr<typename Kind::Model> model, std::shared_ptr<CircuitBreaker> breaker)
      : model_(std::move(model)), breaker_(std::move(breaker)) {}

  absl::StatusOr<typename Kind::Response> Call(const typename Kind::Request& request,
                                               const StreamCallback* on_event,
                                               const CallContext& call) {
    if (absl::Status allowed = breaker_->Allow(); !allowed.ok()) return allowed;
    absl::StatusOr<typename Kind::Response> result = Kind::Call(*model_, request, on_event, call);
    breaker_->Record(result.status());
    return result;
  }

 private:
  std::shared_ptr<typename Kind::Model> model_;
  std::shared_ptr<CircuitBreaker> breaker_;
};

}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerPolicy policy) : policy_(std::move(policy)) {
  if (policy_.clock == nullptr) policy_.clock = SystemClock();
  window_.assign(policy_.window, 0);
}

absl::StatusOr<std::shared_ptr<CircuitBreaker>> CircuitBreaker::Create(
    CircuitBreakerPolicy policy) {
  using internal::InRange;
  LLMKIT_RETURN_IF_ERROR(internal::FirstError({
      InRange("CircuitBreakerPolicy::failure_ratio", policy.failure_ratio, 1e-9, 1, "in (0, 1]"),
      InRange("CircuitBreakerPolicy::window", policy.window, 1, 1e7, "in [1, 10000000]"),
      InRange("CircuitBreakerPolicy::min_calls", policy.min_calls, 1, policy.window,
              "in [1, window]"),
      internal::NotNegative("CircuitBreakerPolicy::open_for", policy.open_for),
      InRange("CircuitBreakerPolicy::half_open_calls", policy.half_open_calls, 1, 1e6,
              "in [1, 1000000]"),
  }));
  return std::shared_ptr<CircuitBreaker>(new CircuitBreaker(std::move(policy)));
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen && policy_.clock->Now() >= open_until_) return State::kHalfOpen;
  return state_;
}

absl::Status CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  const auto now = policy_.clock->Now();
  if (state_ == State::kOpen && now >= open_until_) {
    EnterLocked(State::kHalfOpen);
    trials_started_ = trials_succeeded_ = 0;
  }
  if (state_ == State::kClosed) return absl::OkStatus();
  if (state_ == State::kHalfOpen && trials_started_ < policy_.half_open_calls) {
    ++trials_started_;
    return absl::OkStatus();
  }
  // Open, or half-open with every trial call already out: fail fast until the trials report.
  const auto wait = state_ == State::kOpen ? open_until_ - now : policy_.open_for;
  const int64_t wait_ms =
      std::max<int64_t>(1, std::chrono::duration_cast<milliseconds>(wait).count());
  absl::Status error = absl::UnavailableError(
      state_ == State::kOpen
          ? absl::StrCat("circuit breaker for ", policy_.name, " is open (", failures_, " of ",
                         calls_, " recent calls failed); next trial in ", wait_ms, " ms")
          : absl::StrCat("circuit breaker for ", policy_.name,
                         " is half-open and its trial calls are running"));
  error = WithPayload(std::move(error), kPayloadCircuitOpen, policy_.name);
  if (policy_.tracer != nullptr) {
    policy_.tracer->AddCounter("llmkit.circuit_breaker.rejections", 1,
                               {{"llmkit.circuit_breaker", policy_.name}});
  }
  return WithPayload(std::move(error), kPayloadRetryAfterMs, absl::StrCat(wait_ms));
}

void CircuitBreaker::Record(const absl::Status& outcome) {
  if (outcome.code() == absl::StatusCode::kCancelled || internal::IsLocalRejection(outcome)) {
    // Neither success nor failure; a trial slot it held is given back.
    std::lock_guard lock(mu_);
    if (state_ == State::kHalfOpen && trials_started_ > trials_succeeded_) --trials_started_;
    return;
  }
  const bool failed = internal::IsProviderFailure(outcome);
  std::lock_guard lock(mu_);
  if (state_ == State::kHalfOpen) {
    if (failed) {
      OpenLocked();
    } else if (++trials_succeeded_ >= policy_.half_open_calls) {
      EnterLocked(State::kClosed);
      std::fill(window_.begin(), window_.end(), 0);
      next_ = 0;
      calls_ = failures_ = 0;
    }
    return;
  }
  if (state_ == State::kOpen) return;  // A call that started before the breaker opened.
  if (calls_ == policy_.window) {
    failures_ -= window_[next_];
  } else {
    ++calls_;
  }
  window_[next_] = failed ? 1 : 0;
  failures_ += window_[next_];
  next_ = (next_ + 1) % window_.size();
  if (calls_ >= policy_.min_calls &&
      static_cast<double>(failures_) >= policy_.failure_ratio * calls_) {
    OpenLocked();
  }
}

void CircuitBreaker::OpenLocked() {
  EnterLocked(State::kOpen);
  open_until_ = policy_.clock->Now() + policy_.open_for;
}

void CircuitBreaker::EnterLocked(State state) {
  state_ = state;
  if (policy_.tracer == nullptr) return;
  // The metric store's lock is a leaf: taking it under mu_ cannot deadlock.
  policy_.tracer->AddCounter(
      "llmkit.circuit_breaker.state_changes", 1,
      {{"llmkit.circuit_breaker", policy_.name},
       {"llmkit.circuit_breaker.state", std::string(state == State::kOpen       ? "open"
                                                    : state == State::kHalfOpen ? "half_open"
                                                                                : "closed")}});
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithCircuitBreaker(
    std::shared_ptr<ChatModel> model, std::shared_ptr<CircuitBreaker> breaker) {
  absl::Status check =
      internal::FirstError({internal::NotNull(model, "WithCircuitBreaker's model"),
                            internal::NotNull(breaker, "WithCircuitBreaker's breaker")});
  return internal::Decorate<BreakerCore, internal::ChatKind>(check, std::move(model),
                                                             std::move(breaker));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithCircuitBreaker(
    std::shared_ptr<EmbeddingModel> model, std::shared_ptr<CircuitBreaker> breaker) {
  absl::Status check =
      internal::FirstError({internal::NotNull(model, "WithCircuitBreaker's model"),
                            internal::NotNull(breaker, "WithCircuitBreaker's breaker")});
  return internal::Decorate<BreakerCore, internal::EmbeddingKind>(check, std::move(model),
                                                                  std::move(breaker));
}

}  // namespace llmkit
