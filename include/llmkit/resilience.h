// Resilience decorators: each wraps a ChatModel or an EmbeddingModel, returns one of the same
// kind, and composes with the others in any order.
//
//   LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<llmkit::ChatModel> m,
//                           llmkit::WithRetry(std::move(client), {.max_retries = 3}));
//   LLMKIT_ASSIGN_OR_RETURN(m, llmkit::WithFallback({{m}, {backup}}, {}));
//
// WithRetry — the official SDKs' rule (openai / @anthropic-ai/sdk): never for kCancelled,
// kInvalidArgument, kUnauthenticated, kPermissionDenied, kNotFound, kOutOfRange; otherwise the
// provider's `x-should-retry` header decides when present; otherwise retry kDeadlineExceeded
// (408, timeouts), kAborted (409), kResourceExhausted (429) and kUnavailable (5xx, 529,
// connection errors). Wait: `retry-after-ms`, else `Retry-After` (seconds or an HTTP date),
// capped at `max_retry_after`; else min(initial_backoff * 2^n, max_backoff) * (1 - 0.25 *
// random()) for the n-th retry (n from 0). A streamed call is never retried once an event reached
// the caller. The caller's deadline (CallContext::deadline, call.h) bounds everything: every
// attempt runs under the same absolute deadline (or attempt_timeout from its start, if sooner), and
// a wait that would end past the deadline is not taken — the call returns kDeadlineExceeded at
// once, naming the last error. The caller's cancellation ends a wait at once and reaches every
// attempt. An optional RetryBudget keeps retries under a fraction of calls.
//
// Every decorator passes the call context on unchanged (tags and trace context included), except
// for a sooner deadline (attempt_timeout) or a cancellation linked to the caller's (hedging);
// none copies the request to do so. WithFallback stops hopping once the caller's deadline has
// passed or the call was cancelled.
//
// WithFallback — the next model when one fails with a retryable error or a decorator's local
// refusal (open breaker, rate limit); kOutOfRange (context window) goes to the context-window
// list and content-policy refusals to the content-policy list. A model that fails is cooled down
// by LiteLLM's rule (see FallbackPolicy) and skipped while cooling.
//
// WithCircuitBreaker — fails fast (kUnavailable, kPayloadCircuitOpen, retry-after-ms = time left)
// while the failure ratio of recent calls is too high; see CircuitBreakerPolicy.
//
// WithRateLimit — requests-per-minute and tokens-per-minute buckets; waits within the deadline or
// fails fast (kResourceExhausted, kPayloadRateLimited, retry-after-ms = when it would pass).
//
// WithHedging — starts a second attempt when the first is slower than a delay (fixed, or the
// observed percentile), returns the first success and cancels the other.
//
// Construction: every decorator is built by its With* function, and the breaker, limiter and
// budget by their Create; each checks the model (not null) and every field of its policy and
// returns kInvalidArgument naming the field and the accepted range. Nothing is clamped.
//
// Composition: the outermost decorator sees the others as one model. The usual stack is
// WithRetry(WithFallback({WithCircuitBreaker(WithRateLimit(client))...})): the rate limiter and
// breaker guard each provider, fallback picks a healthy one, retry waits when all are down (open
// breakers and rate limiters tell it how long through retry-after-ms).
//
// The response says how it went: attempts (provider calls, summed through the stack), backoff
// (time waited between attempts and for rate limiters) and served_by (the fallback entry).
// Errors carry kPayloadAttempts.
// Threads: every decorator is thread-safe; calls may run on many threads at once. Streaming
// callbacks run on the wrapped model's thread (hedging: on one of its two attempts' threads,
// never both).

#ifndef LLMKIT_RESILIENCE_H_
#define LLMKIT_RESILIENCE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/http.h"
#include "llmkit/observe.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

// Time as the decorators see it; tests pass a fake. Now() is compared with call contexts'
// deadlines, so a production clock must read std::chrono::steady_clock.
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

// Keeps retries under `ratio` of calls: every call adds `ratio` tokens (up to `burst`), every
// retry takes one, and a retry with less than one token left is not made (the call fails with its
// last error, annotated, and kPayloadRetryBudget). The bucket starts full. One budget may be
// shared by several decorators (e.g. every model of one provider). Over any stretch of N calls,
// retries <= ratio * N + burst. Thread-safe.
class RetryBudget {
 public:
  // Errors: kInvalidArgument (ratio not finite or < 0, burst < 1).
  static absl::StatusOr<std::shared_ptr<RetryBudget>> Create(double ratio = 0.2, double burst = 10);
  void RecordCall();
  bool TryRetry();
  double tokens() const;
  int64_t retries_refused() const;

 private:
  RetryBudget(double ratio, double burst);
  mutable std::mutex mu_;
  const double ratio_;
  const double burst_;
  double tokens_;
  int64_t refused_ = 0;
};

struct RetryPolicy {
  int max_retries = 2;  // Attempts = 1 + max_retries.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  // Server hints (retry-after-ms, Retry-After) above this are cut to it.
  std::chrono::milliseconds max_retry_after{60'000};
  // Longest single attempt (a stalled one ends kDeadlineExceeded and is retried); each attempt
  // gets the smaller of this and the time left before the caller's deadline. Zero: no limit of
  // its own.
  std::chrono::milliseconds attempt_timeout{0};
  std::shared_ptr<RetryBudget> budget;  // Null: no budget (the SDKs' behaviour).
  std::shared_ptr<Clock> clock;         // Null: SystemClock().
  std::shared_ptr<Sleeper> sleeper;     // Null: RealSleeper().
  std::function<double()> random;       // Uniform in [0, 1); null: a thread-local engine.
  // With a tracer: each attempt is an INTERNAL span "retry attempt" (llmkit.retry.attempt, and
  // error.type when it failed), child of the call's trace context, and every retry adds to the
  // counter llmkit.retries (by error.type).
  std::shared_ptr<Tracer> tracer;
};

// Whether the rule above retries `status`.
bool IsRetryable(const absl::Status& status);

// The wait before retry number `retry` (0 for the first) after `status`, by the rule above.
std::chrono::nanoseconds RetryDelay(const absl::Status& status, int retry,
                                    const RetryPolicy& policy, const Clock& clock, double random);

// Parses an HTTP date (RFC 9110 IMF-fixdate, and the obsolete RFC 850 and asctime forms).
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text);

absl::StatusOr<std::unique_ptr<ChatModel>> WithRetry(std::shared_ptr<ChatModel> model,
                                                     RetryPolicy policy = {});
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithRetry(std::shared_ptr<EmbeddingModel> model,
                                                          RetryPolicy policy = {});

// One entry of a fallback list.
template <typename Model>
struct FallbackTarget {
  std::shared_ptr<Model> model;
  // Non-empty: replaces the request's model name (ChatRequest::model, EmbedOptions::model), so
  // one client can fall back from one model to another.
  std::string model_name;
  // In served_by and errors. Empty: model_name, else the model the provider reported (errors:
  // "#<position>").
  std::string name;
};

template <typename Model>
struct FallbackPolicy {
  // Tried in order after a kOutOfRange (context window) from any model, e.g. larger models.
  std::vector<FallbackTarget<Model>> context_window_fallbacks;
  // Tried in order after a content-policy refusal: an error with kPayloadContentPolicy, or an
  // answer that finished with "content_filter" (OpenAI, Azure) or "refusal" (Anthropic). With
  // this list empty such answers are returned as they are.
  std::vector<FallbackTarget<Model>> content_policy_fallbacks;
  // Cooldown (LiteLLM's router rule): after a provider failure, a model is skipped for
  // `cooldown` when the failure was a 429, or a 401/404 (which will not fix themselves), or when
  // more than `cooldown_failure_ratio` of its calls in the current minute failed. A list of one
  // model never cools down. Zero: no cooldown. When every model of the list is cooling, the call
  // fails fast with kUnavailable, kPayloadCoolingDown and retry-after-ms = the shortest wait.
  std::chrono::milliseconds cooldown{5000};
  double cooldown_failure_ratio = 0.5;
  std::shared_ptr<Clock> clock;  // Null: SystemClock().
  // With a tracer: each model tried is an INTERNAL span "fallback <label>"
  // (llmkit.fallback.position, llmkit.fallback.target, error.type when it failed), child of the
  // call's trace context, and every move to another model adds to the counter llmkit.fallbacks
  // (by error.type).
  std::shared_ptr<Tracer> tracer;
};

absl::StatusOr<std::unique_ptr<ChatModel>> WithFallback(
    std::vector<FallbackTarget<ChatModel>> models, FallbackPolicy<ChatModel> policy = {});
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithFallback(
    std::vector<FallbackTarget<EmbeddingModel>> models, FallbackPolicy<EmbeddingModel> policy = {});

struct CircuitBreakerPolicy {
  double failure_ratio = 0.5;  // Opens when failures / calls in the window reach this...
  int window = 100;            // ...over the last `window` calls...
  int min_calls = 10;          // ...once at least this many were made.
  std::chrono::milliseconds open_for{30'000};  // Then half-open:
  int half_open_calls = 3;     // this many trial calls; all succeed → closed, any fails → open.
  std::string name = "model";  // In errors.
  std::shared_ptr<Clock> clock;  // Null: SystemClock().
  // When set, counts llmkit.circuit_breaker.state_changes (llmkit.circuit_breaker = name,
  // llmkit.circuit_breaker.state = "open", "half_open" or "closed": the state entered) and
  // llmkit.circuit_breaker.rejections (calls failed fast) (observe.h).
  std::shared_ptr<Tracer> tracer;
};

// The closed / open / half-open state machine. Provider failures (IsProviderFailure: 5xx,
// timeouts, 429, connection errors) count as failures; other outcomes count as successes, except
// kCancelled and local rejections, which do not count. Thread-safe.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // Errors: kInvalidArgument naming the field: failure_ratio outside (0, 1], window < 1,
  // min_calls outside [1, window], open_for < 0, half_open_calls < 1.
  static absl::StatusOr<std::shared_ptr<CircuitBreaker>> Create(CircuitBreakerPolicy policy = {});

  // OK when a call may go ahead (then Record its outcome); else the fail-fast error.
  absl::Status Allow();
  void Record(const absl::Status& outcome);
  State state() const;

 private:
  explicit CircuitBreaker(CircuitBreakerPolicy policy);
  void OpenLocked();
  void EnterLocked(State state);  // Sets state_, counting the change.
  CircuitBreakerPolicy policy_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  std::vector<char> window_;  // Ring of the last outcomes (1 = failure).
  size_t next_ = 0;
  int calls_ = 0;
  int failures_ = 0;
  std::chrono::steady_clock::time_point open_until_;
  int trials_started_ = 0;
  int trials_succeeded_ = 0;
};

absl::StatusOr<std::unique_ptr<ChatModel>> WithCircuitBreaker(
    std::shared_ptr<ChatModel> model, std::shared_ptr<CircuitBreaker> breaker);
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithCircuitBreaker(
    std::shared_ptr<EmbeddingModel> model, std::shared_ptr<CircuitBreaker> breaker);

struct RateLimitPolicy {
  double requests_per_minute = 0;  // Zero: no request limit.
  double tokens_per_minute = 0;    // Zero: no token limit.
  // Waits for capacity when it comes before the call's deadline; false: fails fast instead.
  bool wait = true;
  // Counts request tokens (ChatRequest: message text + 3 per message + 3 + max_tokens;
  // embeddings: the inputs). Null: bytes / 4. The answer's usage.total_tokens corrects the
  // estimate afterwards.
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<Clock> clock;      // Null: SystemClock().
  std::shared_ptr<Sleeper> sleeper;  // Null: RealSleeper().
  // "redis://[[user]:password@]host[:port][/db]": the buckets live in that Redis server under
  // redis_key, shared by every process and machine using the same key (one atomic Lua script
  // per acquisition, timed by the server's clock; `clock` is then not used). Redis unreachable:
  // calls fail kUnavailable, or with redis_fail_open pass unlimited.
  std::string redis_url;
  std::string redis_key = "llmkit:ratelimit:default";
  bool redis_fail_open = false;
  // When set, counts llmkit.rate_limit.waits (calls that waited) with the time waited in
  // llmkit.rate_limit.wait_ms, and llmkit.rate_limit.refusals (calls failed fast), each with
  // llmkit.rate_limit = redis_key when shared through Redis, else "local" (observe.h).
  std::shared_ptr<Tracer> tracer;
};

namespace internal {
class RedisClient;
}

// Token buckets that refill continuously at limit / 60 per second and hold at most one minute's
// worth; a call takes its share up front (callers queue in order by reserving ahead). A request
// larger than a whole minute's tokens is charged the minute's worth. Thread-safe; may be shared
// by the models that draw on one provider account, and with redis_url by processes too.
class RateLimiter {
 public:
  // Errors: kInvalidArgument (a limit that is negative or not finite, a bad redis_url);
  // kUnavailable when redis_url's server cannot be reached.
  static absl::StatusOr<std::shared_ptr<RateLimiter>> Create(RateLimitPolicy policy);
  ~RateLimiter();

  // Takes one request and `tokens`, waiting at most until `deadline` (fails fast when the wait
  // would pass it, or when the policy does not wait). Returns the time waited.
  absl::StatusOr<std::chrono::nanoseconds> Acquire(int64_t tokens,
                                                   std::chrono::steady_clock::time_point deadline,
                                                   const Cancellation* cancellation);
  // Gives back (positive) or charges (negative) tokens once the real count is known.
  void Adjust(int64_t tokens);
  const RateLimitPolicy& policy() const { return policy_; }

 private:
  struct Bucket {
    double limit = 0;  // Per minute; zero: unlimited.
    double level = 0;  // Tokens available now (may be negative: reserved ahead).
    std::chrono::steady_clock::time_point updated;
  };
  explicit RateLimiter(RateLimitPolicy policy);
  void Refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;
  static std::chrono::nanoseconds WaitFor(const Bucket& bucket, double amount);

  absl::StatusOr<std::chrono::nanoseconds> AcquireShared(
      int64_t tokens, std::chrono::steady_clock::time_point deadline,
      const Cancellation* cancellation);

  RateLimitPolicy policy_;
  std::mutex mu_;
  Bucket requests_;
  Bucket tokens_;
  std::unique_ptr<internal::RedisClient> redis_;  // Null: the buckets above.
};

absl::StatusOr<std::unique_ptr<ChatModel>> WithRateLimit(std::shared_ptr<ChatModel> model,
                                                         std::shared_ptr<RateLimiter> limiter);
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithRateLimit(std::shared_ptr<EmbeddingModel> model,
                                                              std::shared_ptr<RateLimiter> limiter);

struct HedgingPolicy {
  // Start the second attempt after this delay. Zero: the observed `percentile` latency of the
  // last `window` successful calls, once there are `min_samples` of them; `initial_delay` until
  // then.
  std::chrono::milliseconds delay{0};
  double percentile = 0.95;
  int window = 1000;
  int min_samples = 20;
  std::chrono::milliseconds initial_delay{1000};
};

// Runs the first attempt on the caller's thread and the hedge on a thread of its own (real time:
// the delay is a wait on the steady clock); the loser is cancelled (its request's Cancellation,
// linked to the caller's) and joined before the call returns. A stream is hedged only until an
// attempt delivers its first event; that attempt wins. attempts is 2 when the hedge started.
absl::StatusOr<std::unique_ptr<ChatModel>> WithHedging(std::shared_ptr<ChatModel> model,
                                                       HedgingPolicy policy = {});
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithHedging(std::shared_ptr<EmbeddingModel> model,
                                                            HedgingPolicy policy = {});

}  // namespace llmkit

#endif  // LLMKIT_RESILIENCE_H_
