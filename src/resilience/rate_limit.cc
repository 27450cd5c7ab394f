// RateLimiter: requests-per-minute and tokens-per-minute buckets, and WithRateLimit.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/redis.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// Counts one acquisition (RateLimitPolicy::tracer): a wait, or a refusal.
void CountAcquire(const RateLimitPolicy& policy, const absl::StatusOr<nanoseconds>& result) {
  if (policy.tracer == nullptr) return;
  const Attributes attributes = {
      {"llmkit.rate_limit", policy.redis_url.empty() ? std::string("local") : policy.redis_key}};
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kResourceExhausted) {
      policy.tracer->AddCounter("llmkit.rate_limit.refusals", 1, attributes);
    }
    return;
  }
  if (result->count() <= 0) return;
  policy.tracer->AddCounter("llmkit.rate_limit.waits", 1, attributes);
  policy.tracer->AddCounter("llmkit.rate_limit.wait_ms",
                            std::chrono::duration_cast<milliseconds>(*result).count(), attributes);
}

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
    CountAcquire(limiter_->policy(), waited);
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

// The shared buckets: one hash {r, t, at} per key, refilled by the server's clock. KEYS: the key.
// ARGV: requests and tokens per minute, "take" or "give", requests, tokens, the longest wait in
// ms a take may have (negative: any). Returns {1, wait ms} after taking or giving, or
// {0, wait ms} when the take would wait longer.
constexpr char kBucketScript[] = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'r', 't', 'at')
local r, t = tonumber(state[1]) or rpm, tonumber(state[2]) or tpm
local elapsed = math.max(0, now - (tonumber(state[3]) or now)) / 60000
if rpm > 0 then r = math.min(rpm, r + elapsed * rpm) end
if tpm > 0 then t = math.min(tpm, t + elapsed * tpm) end
local requests, tokens = tonumber(ARGV[4]), tonumber(ARGV[5])
local wait = 0
if ARGV[3] == 'take' then
  if rpm > 0 and r < requests then wait = math.max(wait, (requests - r) * 60000 / rpm) end
  if tpm > 0 and t < tokens then wait = math.max(wait, (tokens - t) * 60000 / tpm) end
  local limit = tonumber(ARGV[6])
  if limit >= 0 and wait > limit then return {0, math.ceil(wait)} end
  if rpm > 0 then r = r - requests end
  if tpm > 0 then t = t - tokens end
else
  if rpm > 0 then r = math.min(rpm, r + requests) end
  if tpm > 0 then t = math.min(tpm, t + tokens) end
end
redis.call('HSET', KEYS[1], 'r', string.format('%.17g', r), 't', string.format('%.17g', t),
           'at', now)
redis.call('PEXPIRE', KEYS[1], 120000)
return {1, math.ceil(wait)}
)lua";

}  // namespace

RateLimiter::~RateLimiter() = default;

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

absl::StatusOr<nanoseconds> RateLimiter::AcquireShared(int64_t tokens,
                                                       steady_clock::time_point deadline,
                                                       const Cancellation* cancellation) {
  const double token_cost = std::min<double>(static_cast<double>(std::max<int64_t>(tokens, 0)),
                                             policy_.tokens_per_minute);
  int64_t max_wait_ms = 0;
  if (policy_.wait) {
    max_wait_ms =
        deadline == steady_clock::time_point::max()
            ? -1
            : std::max<int64_t>(
                  0,
                  std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count());
  }
  auto run = [&](const char* mode, double requests, double amount) {
    return redis_->Eval(
        kBucketScript, {policy_.redis_key},
        {internal::RedisNumber(policy_.requests_per_minute),
         internal::RedisNumber(policy_.tokens_per_minute), mode, internal::RedisNumber(requests),
         internal::RedisNumber(amount), absl::StrCat(max_wait_ms)});
  };
  absl::StatusOr<internal::RedisReply> reply = run("take", 1, token_cost);
  if (!reply.ok() || reply->elements.size() != 2) {
    if (policy_.redis_fail_open) return nanoseconds(0);
    return absl::UnavailableError(absl::StrCat(
        "rate limit: ", reply.ok() ? "unexpected reply from redis" : reply.status().message()));
  }
  const int64_t wait_ms = reply->elements[1].integer;
  if (reply->elements[0].integer == 0) {
    absl::Status error = absl::ResourceExhaustedError(absl::StrCat(
        "rate limit (", policy_.requests_per_minute, " requests, ", policy_.tokens_per_minute,
        " tokens per minute, shared through redis): this call (", tokens, " tokens) would wait ",
        wait_ms, " ms", policy_.wait ? ", past its deadline" : ""));
    error = WithPayload(std::move(error), kPayloadRateLimited, "true");
    return WithPayload(std::move(error), kPayloadRetryAfterMs,
                       absl::StrCat(std::max<int64_t>(1, wait_ms)));
  }
  const nanoseconds wait = milliseconds(wait_ms);
  if (wait.count() > 0 && !policy_.sleeper->Sleep(wait, cancellation)) {
    (void)run("give", 1, token_cost);  // Not sent: give the reservation back.
    return absl::CancelledError("cancelled while waiting for the rate limiter");
  }
  return wait;
}

absl::StatusOr<nanoseconds> RateLimiter::Acquire(int64_t tokens, steady_clock::time_point deadline,
                                                 const Cancellation* cancellation) {
  if (redis_ != nullptr) return AcquireShared(tokens, deadline, cancellation);
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
  if (redis_ != nullptr) {
    if (policy_.tokens_per_minute <= 0) return;
    (void)redis_->Eval(
        kBucketScript, {policy_.redis_key},
        {internal::RedisNumber(policy_.requests_per_minute),
         internal::RedisNumber(policy_.tokens_per_minute), "give", "0", absl::StrCat(tokens), "0"});
    return;
  }
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
  std::string url = policy.redis_url;
  std::shared_ptr<RateLimiter> limiter(new RateLimiter(std::move(policy)));
  if (!url.empty()) {
    absl::StatusOr<std::unique_ptr<internal::RedisClient>> redis =
        internal::RedisClient::Connect(url);
    if (!redis.ok()) return redis.status();
    limiter->redis_ = *std::move(redis);
  }
  return limiter;
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
