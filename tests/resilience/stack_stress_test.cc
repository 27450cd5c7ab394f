// Every decorator at once from many threads: a rate limiter, breaker, fallback, hedging and retry
// stacked over flaky in-process models, 16 threads x 500 calls. Checks that nothing is lost or
// double-counted (each call ends in exactly one answer or error) and, under TSan (make test),
// that the decorators' shared state is race-free.

#include <atomic>
#include <thread>
#include <vector>

#include "common/must.h"
#include "gtest/gtest.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

// Fails every `every`-th call with 503, answers the others; counts calls.
class FlakyModel final : public ChatModel {
 public:
  explicit FlakyModel(int every) : every_(every) {}
  absl::StatusOr<ChatResponse> Next() {
    if (++calls % every_ == 0) {
      return WithPayload(absl::UnavailableError("injected"), kPayloadHttpStatus, "503");
    }
    ChatResponse r;
    r.text = "ok";
    r.usage.total_tokens = 10;
    return r;
  }
  absl::StatusOr<ChatResponse> Complete(const ChatRequest&, const CallContext&) override {
    return Next();
  }
  // Fails before the first event (so the failure may be retried), or streams one and answers.
  absl::StatusOr<ChatResponse> Stream(const ChatRequest&, const StreamCallback& on_event,
                                      const CallContext&) override {
    absl::StatusOr<ChatResponse> r = Next();
    if (!r.ok()) return r;
    StreamEvent event;
    event.text = r->text;
    if (on_event && !on_event(event)) return absl::CancelledError("stopped");
    return r;
  }
  std::atomic<int> calls{0};

 private:
  const int every_;
};

TEST(ResilienceStack, ManyThreadsThroughEveryDecorator) {
  auto a = std::make_shared<FlakyModel>(3);
  auto b = std::make_shared<FlakyModel>(5);
  auto limiter = Must(
      RateLimiter::Create(RateLimitPolicy{.requests_per_minute = 1e9, .tokens_per_minute = 1e12}));
  auto guard = [&](std::shared_ptr<ChatModel> model, const char* name) {
    auto breaker = Must(CircuitBreaker::Create(CircuitBreakerPolicy{.name = name}));
    return std::shared_ptr<ChatModel>(
        Must(WithCircuitBreaker(Must(WithRateLimit(model, limiter)), breaker)));
  };
  std::shared_ptr<ChatModel> stack = Must(WithFallback(
      {{guard(Must(WithHedging(a, {.delay = std::chrono::milliseconds(50)})), "a"), "", "a"},
       {guard(b, "b"), "", "b"}},
      {.cooldown = std::chrono::milliseconds(1)}));
  stack = Must(WithRetry(stack, {.max_retries = 5,
                                 .initial_backoff = std::chrono::milliseconds(1),
                                 .max_backoff = std::chrono::milliseconds(2),
                                 .budget = Must(RetryBudget::Create(0.5, 50))}));

  constexpr int kThreads = 16, kCalls = 500;
  std::atomic<int> answers{0}, errors{0}, streamed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ChatRequest request;
      request.messages = {{.role = "user", .content = "hi"}};
      for (int i = 0; i < kCalls; ++i) {
        absl::StatusOr<ChatResponse> r = (i + t) % 4 == 0 ? stack->Stream(request,
                                                                          [&](const StreamEvent&) {
                                                                            ++streamed;
                                                                            return true;
                                                                          })
                                                          : stack->Complete(request);
        if (r.ok()) {
          ++answers;
          EXPECT_TRUE(r->served_by == "a" || r->served_by == "b") << r->served_by;
          EXPECT_GE(r->attempts, 1);
        } else {
          // The one error a call may end in: both models cooling down after other threads'
          // failures on every attempt (a matter of scheduling: it happened once in 8,000 calls
          // under ASan on a loaded machine). Any other error is a defect.
          EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
          EXPECT_TRUE(GetPayload(r.status(), kPayloadCoolingDown).has_value()) << r.status();
          ++errors;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(answers + errors, kThreads * kCalls);
  // One in three calls to `a` fails and every failure falls back to `b` (one in five fails) or is
  // retried: all but a rare call (see above) end in an answer.
  EXPECT_GE(answers.load(), kThreads * kCalls * 99 / 100);
  EXPECT_GE(a->calls + b->calls, kThreads * kCalls);
  EXPECT_GT(streamed.load(), 0);
}

}  // namespace
}  // namespace llmkit
