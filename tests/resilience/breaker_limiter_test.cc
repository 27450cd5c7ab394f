// CircuitBreaker state transitions and RateLimiter buckets on a fake clock, and both as
// decorators.

#include <deque>
#include <vector>

#include "common/must.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/fakes.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using testing::Answer;
using ::testing::ElementsAre;
using testing::FakeClock;
using testing::FakeSleeper;
using ::testing::HasSubstr;
using testing::Http;
using testing::ScriptedEmbeddingModel;
using testing::ScriptedModel;
using State = CircuitBreaker::State;

const absl::Status kDown = absl::UnavailableError("503");
const absl::Status kOk = absl::OkStatus();

std::shared_ptr<CircuitBreaker> Breaker(std::shared_ptr<FakeClock> clock) {
  CircuitBreakerPolicy policy;
  policy.window = 10;
  policy.min_calls = 5;
  policy.failure_ratio = 0.5;
  policy.open_for = seconds(30);
  policy.half_open_calls = 2;
  policy.name = "gpt";
  policy.clock = std::move(clock);
  return Must(CircuitBreaker::Create(policy));
}

TEST(CircuitBreaker, OpensOnTheFailureRatioOnceEnoughCalls) {
  auto clock = std::make_shared<FakeClock>();
  auto breaker = Breaker(clock);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(breaker->Allow().ok());
    breaker->Record(kDown);
  }
  EXPECT_EQ(breaker->state(), State::kClosed);  // 4 of 4 failed, but under min_calls.
  ASSERT_TRUE(breaker->Allow().ok());
  breaker->Record(kDown);
  EXPECT_EQ(breaker->state(), State::kOpen);
  absl::Status refused = breaker->Allow();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("circuit breaker for gpt is open (5 of 5"));
  EXPECT_EQ(GetPayload(refused, kPayloadCircuitOpen), "gpt");
  EXPECT_EQ(GetPayload(refused, kPayloadRetryAfterMs), "30000");
  clock->Advance(seconds(10));
  EXPECT_EQ(GetPayload(breaker->Allow(), kPayloadRetryAfterMs), "20000");
  EXPECT_TRUE(IsRetryable(refused));  // WithRetry outside waits for the half-open state.
}

TEST(CircuitBreaker, SlidingWindowForgetsOldCalls) {
  auto clock = std::make_shared<FakeClock>();
  auto breaker = Breaker(clock);
  for (int i = 0; i < 10; ++i) breaker->Record(kOk);
  for (int i = 0; i < 4; ++i) breaker->Record(kDown);
  EXPECT_EQ(breaker->state(), State::kClosed);  // 4 of the last 10 (40%).
  // Ten successes push those failures out of the 10-call window...
  for (int i = 0; i < 10; ++i) breaker->Record(kOk);
  for (int i = 0; i < 4; ++i) breaker->Record(kDown);
  EXPECT_EQ(breaker->state(), State::kClosed);
  // ...so it takes a 5th recent failure (50%) to open it.
  breaker->Record(kDown);
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(CircuitBreaker, HalfOpenTrialsCloseOrReopen) {
  auto clock = std::make_shared<FakeClock>();
  auto breaker = Breaker(clock);
  for (int i = 0; i < 5; ++i) breaker->Record(kDown);
  clock->Advance(seconds(30));
  EXPECT_EQ(breaker->state(), State::kHalfOpen);
  EXPECT_TRUE(breaker->Allow().ok());
  EXPECT_TRUE(breaker->Allow().ok());
  absl::Status third = breaker->Allow();  // Only 2 trial calls.
  EXPECT_EQ(third.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(third.message(), HasSubstr("half-open"));
  breaker->Record(kOk);
  breaker->Record(kDown);  // A trial failed: open again for 30 s.
  EXPECT_EQ(breaker->state(), State::kOpen);
  clock->Advance(seconds(30));
  EXPECT_TRUE(breaker->Allow().ok());
  EXPECT_TRUE(breaker->Allow().ok());
  breaker->Record(kOk);
  breaker->Record(kOk);
  EXPECT_EQ(breaker->state(), State::kClosed);
  // Closed again with a fresh window: 4 failures are under min_calls.
  for (int i = 0; i < 4; ++i) breaker->Record(kDown);
  EXPECT_EQ(breaker->state(), State::kClosed);
}

TEST(CircuitBreaker, CallerErrorsAreSuccessesCancellationsDoNotCount) {
  auto clock = std::make_shared<FakeClock>();
  auto breaker = Breaker(clock);
  for (int i = 0; i < 20; ++i) {
    breaker->Record(absl::InvalidArgumentError("bad request"));
    breaker->Record(absl::CancelledError("caller"));
    breaker->Record(
        WithPayload(absl::ResourceExhaustedError("local"), kPayloadRateLimited, "true"));
  }
  EXPECT_EQ(breaker->state(), State::kClosed);
  // The window holds 10 successes; 4 timeouts make 40%, a 5th provider failure 50%.
  for (int i = 0; i < 4; ++i) breaker->Record(absl::DeadlineExceededError("timeout"));
  EXPECT_EQ(breaker->state(), State::kClosed);
  breaker->Record(absl::InternalError("x"));
  EXPECT_EQ(breaker->state(), State::kOpen);
}

TEST(WithCircuitBreaker, FailsFastWithoutCallingTheModel) {
  auto clock = std::make_shared<FakeClock>();
  auto breaker = Breaker(clock);
  auto model = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kUnavailable)});
  auto guarded = Must(WithCircuitBreaker(model, breaker));
  for (int i = 0; i < 8; ++i) (void)guarded->Complete({});
  EXPECT_EQ(model->calls(), 5);
  EXPECT_EQ(GetPayload(guarded->Complete({}).status(), kPayloadCircuitOpen), "gpt");

  Embeddings ok;
  auto embedder =
      std::make_shared<ScriptedEmbeddingModel>(std::deque<absl::StatusOr<Embeddings>>{ok});
  std::vector<std::string> inputs = {"x"};
  EXPECT_TRUE(Must(WithCircuitBreaker(std::shared_ptr<EmbeddingModel>(embedder),
                                      Must(CircuitBreaker::Create())))
                  ->Embed(inputs, {})
                  .ok());
}

// The decorators compose: retry outside a breaker waits for the half-open state.
TEST(WithCircuitBreaker, RetryOutsideWaitsForTheTrial) {
  testing::Harness h;
  CircuitBreakerPolicy policy;
  policy.min_calls = 1;
  policy.window = 1;
  policy.open_for = seconds(2);
  policy.clock = h.clock;
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kUnavailable), Answer("recovered")});
  RetryPolicy retry = h.Policy();
  auto stack =
      Must(WithRetry(Must(WithCircuitBreaker(model, Must(CircuitBreaker::Create(policy)))), retry));
  auto r = stack->Complete({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "recovered");
  // 503 (breaker opens), then the breaker's 2 s hint instead of the 1 s backoff.
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(500), milliseconds(1500)));
  EXPECT_EQ(model->calls(), 2);
}

struct LimiterHarness {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<FakeSleeper> sleeper = std::make_shared<FakeSleeper>(clock);
  std::shared_ptr<RateLimiter> Make(double rpm, double tpm, bool wait = true) {
    RateLimitPolicy policy;
    policy.requests_per_minute = rpm;
    policy.tokens_per_minute = tpm;
    policy.wait = wait;
    policy.clock = clock;
    policy.sleeper = sleeper;
    return Must(RateLimiter::Create(policy));
  }
  auto Far() const { return clock->Now() + seconds(600); }
};

TEST(RateLimiter, RequestsPerMinuteRefillContinuously) {
  LimiterHarness h;
  auto limiter = h.Make(/*rpm=*/60, /*tpm=*/0);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(*limiter->Acquire(0, h.Far(), nullptr), nanoseconds(0));
  EXPECT_EQ(*limiter->Acquire(0, h.Far(), nullptr), seconds(1));  // One per second refills.
  EXPECT_EQ(*limiter->Acquire(0, h.Far(), nullptr), seconds(1));  // Queued behind it.
  h.clock->Advance(seconds(10));
  EXPECT_EQ(*limiter->Acquire(0, h.Far(), nullptr), nanoseconds(0));
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(1000), milliseconds(1000)));
}

TEST(RateLimiter, TokensPerMinuteAndTheDeadline) {
  LimiterHarness h;
  auto limiter = h.Make(/*rpm=*/0, /*tpm=*/6000);  // 100 tokens per second.
  ASSERT_TRUE(limiter->Acquire(6000, h.Far(), nullptr).ok());
  // 500 tokens need 5 s: past a 2 s deadline, so it fails fast and reserves nothing.
  absl::Status late = limiter->Acquire(500, h.clock->Now() + seconds(2), nullptr).status();
  EXPECT_EQ(late.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetPayload(late, kPayloadRateLimited), "true");
  EXPECT_EQ(GetPayload(late, kPayloadRetryAfterMs), "5000");
  EXPECT_THAT(late.message(), HasSubstr("past its deadline"));
  EXPECT_EQ(*limiter->Acquire(500, h.Far(), nullptr), seconds(5));
  // A request above a minute's worth is charged the minute's worth.
  h.clock->Advance(seconds(120));
  EXPECT_EQ(*limiter->Acquire(1'000'000, h.Far(), nullptr), nanoseconds(0));
  EXPECT_EQ(*limiter->Acquire(100, h.Far(), nullptr), seconds(1));
}

TEST(RateLimiter, FailFastPolicyAndCancellation) {
  LimiterHarness h;
  auto limiter = h.Make(/*rpm=*/1, /*tpm=*/0, /*wait=*/false);
  ASSERT_TRUE(limiter->Acquire(0, h.Far(), nullptr).ok());
  absl::Status fast = limiter->Acquire(0, h.Far(), nullptr).status();
  EXPECT_EQ(fast.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetPayload(fast, kPayloadRetryAfterMs), "60000");
  auto waiting = h.Make(/*rpm=*/1, /*tpm=*/0);
  ASSERT_TRUE(waiting->Acquire(0, h.Far(), nullptr).ok());
  Cancellation cancelled;
  cancelled.Cancel();
  EXPECT_EQ(waiting->Acquire(0, h.Far(), &cancelled).status().code(), absl::StatusCode::kCancelled);
  // The cancelled reservation was given back: the next caller waits 60 s, not 120 s.
  EXPECT_EQ(*waiting->Acquire(0, h.Far(), nullptr), seconds(60));
}

TEST(WithRateLimit, EstimatesTokensAndCorrectsWithUsage) {
  LimiterHarness h;
  auto limiter = h.Make(/*rpm=*/0, /*tpm=*/600);  // 10 tokens per second.
  // Estimate: 3 + (3 + 400 bytes / 4) + max_tokens 100 = 206 tokens; the answer used 50.
  auto model = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Answer("ok", /*total_tokens=*/50)});
  auto limited = Must(WithRateLimit(model, limiter));
  ChatRequest request;
  request.messages = {{.role = "user", .content = std::string(400, 'x')}};
  request.max_tokens = 100;
  ASSERT_TRUE(limited->Complete(request).ok());  // 600 - 206 + (206 - 50) = 550 left.
  ASSERT_TRUE(limited->Complete(request).ok());  // 550 - 50 = 500 left after the correction.
  ASSERT_TRUE(limited->Complete(request).ok());  // 450.
  ASSERT_TRUE(limited->Complete(request).ok());  // 400.
  auto r = limited->Complete(request);           // 400 < 206? no: 350 left.
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->backoff, nanoseconds(0));
  EXPECT_TRUE(h.sleeper->sleeps.empty());
  // Without the correction the third call would already have waited (600 - 3 * 206 < 0).

  // A call that must wait records it as backoff.
  auto rpm = h.Make(/*rpm=*/1, /*tpm=*/0);
  auto slow = Must(WithRateLimit(model, rpm));
  ASSERT_TRUE(slow->Complete({}).ok());
  r = slow->Complete({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->backoff, seconds(60));
}

}  // namespace
}  // namespace llmkit
