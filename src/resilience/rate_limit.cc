// RateLimiter: requests-per-minute and tokens-per-minute buckets, and WithRateLimit.

#include <algorithm>
#include <cmath>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

template <typename Kind>
class RateLimitCore {
 public:
  RateLimitCore(std::shared_ptr<typename Kind::Model> model, std::shared_ptr<RateLimiter> limiter)
      : model_(std::move(model)), limiter_(std::move(limiter)) {}

  absl::StatusOr<typename Kind::Response> Call(const typename Kind::Request& request,
                                               const StreamCallback* on_event,
                                               const CallContext& call) {
    const RateLimitPolicy& policy = limiter_->policy();
    const int64_t estimate =
        policy.tokens_per_minute > 0 ? Kind::EstimateTokens(request, policy.tokenizer.get()) : 0;
    absl::StatusOr<nanoseconds> waited =
        limiter_->Acquire(estimate, call.deadline, call.cancellation.get());
    if (!waited.ok()) return waited.status();
    absl::StatusOr<typename Kind::Response> result = Kind::Call(*model_, request, on_event, call);
    if (result.ok()) {
      result->backoff += *waited;
      if (policy.tokens_per_minute > 0 && result->usage.total_tokens > 0) {
        limiter_->Adjust(estimate - result->usage.total_tokens);
      }
    }
    return result;
  }

 private:
  std::shared_ptr<typename Kind::Model> model_;
  std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace

RateLimiter::RateLimiter(RateLimitPolicy policy) : policy_(std::move(policy)) {
  if (policy_.clock == nullptr) policy_.clock = SystemClock();
  if (policy_.sleeper == nullptr) policy_.sleeper = RealSleeper();
  const auto now = policy_.clock->Now();
  requests_ = {policy_.requests_per_minute, 0, now};
  tokens_ = {policy_.tokens_per_minute, 0, now};
  requests_.level = requests_.limit;
  tokens_.level = tokens_.limit;
}

void RateLimiter::Refill(Bucket& bucket, steady_clock::time_point now) const {
  if (bucket.limit <= 0 || now <= bucket.updated) return;
  double seconds = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.level = std::min(bucket.limit, bucket.level + seconds * bucket.limit / 60.0);
  bucket.updated = now;
}

nanoseconds RateLimiter::WaitFor(const Bucket& bucket, double amount) {
  if (bucket.limit <= 0 || bucket.level >= amount) return nanoseconds(0);
  double seconds = (amount - bucket.level) * 60.0 / bucket.limit;
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(seconds));
}

absl::StatusOr<nanoseconds> RateLimiter::Acquire(int64_t tokens, steady_clock::time_point deadline,
                                                 const Cancellation* cancellation) {
  nanoseconds wait;
  double token_cost = 0;
  {
    std::lock_guard lock(mu_);
    const auto now = policy_.clock->Now();
    Refill(requests_, now);
    Refill(tokens_, now);
    token_cost = std::min<double>(static_cast<double>(std::max<int64_t>(tokens, 0)), tokens_.limit);
    wait = std::max(WaitFor(requests_, 1.0), WaitFor(tokens_, token_cost));
    if (wait.count() > 0 && (!policy_.wait || now + wait > deadline)) {
      const int64_t wait_ms =
          std::max<int64_t>(1, std::chrono::duration_cast<milliseconds>(wait).count());
      absl::Status error = absl::ResourceExhaustedError(
          absl::StrCat("rate limit (", requests_.limit, " requests, ", tokens_.limit,
                       " tokens per minute): this call (", tokens, " tokens) would wait ", wait_ms,
                       " ms", policy_.wait ? ", past its deadline" : ""));
      error = WithPayload(std::move(error), kPayloadRateLimited, "true");
      return WithPayload(std::move(error), kPayloadRetryAfterMs, absl::StrCat(wait_ms));
    }
    // Reserve now, so later callers queue behind this one.
    if (requests_.limit > 0) requests_.level -= 1.0;
    if (tokens_.limit > 0) tokens_.level -= token_cost;
  }
  if (wait.count() > 0 && !policy_.sleeper->Sleep(wait, cancellation)) {
    // Not sent: give the reservation back.
    std::lock_guard lock(mu_);
    if (requests_.limit > 0) requests_.level = std::min(requests_.limit, requests_.level + 1.0);
    if (tokens_.limit > 0) tokens_.level = std::min(tokens_.limit, tokens_.level + token_cost);
    return absl::CancelledError("cancelled while waiting for the rate limiter");
  }
  return wait;
}

void RateLimiter::Adjust(int64_t tokens) {
  std::lock_guard lock(mu_);
  if (tokens_.limit <= 0) return;
  Refill(tokens_, policy_.clock->Now());
  tokens_.level = std::min(tokens_.limit, tokens_.level + static_cast<double>(tokens));
}

absl::StatusOr<std::shared_ptr<RateLimiter>> RateLimiter::Create(RateLimitPolicy policy) {
  LLMKIT_RETURN_IF_ERROR(internal::FirstError({
      internal::InRange("RateLimitPolicy::requests_per_minute", policy.requests_per_minute, 0, 1e15,
                        "finite and >= 0 (0: no limit)"),
      internal::InRange("RateLimitPolicy::tokens_per_minute", policy.tokens_per_minute, 0, 1e15,
                        "finite and >= 0 (0: no limit)"),
  }));
  return std::shared_ptr<RateLimiter>(new RateLimiter(std::move(policy)));
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithRateLimit(std::shared_ptr<ChatModel> model,
                                                         std::shared_ptr<RateLimiter> limiter) {
  absl::Status check =
      internal::FirstError({internal::NotNull(model, "WithRateLimit's model"),
                            internal::NotNull(limiter, "WithRateLimit's limiter")});
  return internal::Decorate<RateLimitCore, internal::ChatKind>(check, std::move(model),
                                                               std::move(limiter));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithRateLimit(
    std::shared_ptr<EmbeddingModel> model, std::shared_ptr<RateLimiter> limiter) {
  absl::Status check =
      internal::FirstError({internal::NotNull(model, "WithRateLimit's model"),
                            internal::NotNull(limiter, "WithRateLimit's limiter")});
  return internal::Decorate<RateLimitCore, internal::EmbeddingKind>(check, std::move(model),
                                                                    std::move(limiter));
}

}  // namespace llmkit
