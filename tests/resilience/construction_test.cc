// Every resilience decorator and helper is built through one checked factory: a null model or
// an out-of-range policy field is kInvalidArgument naming the field, never silently clamped.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/resilience.h"
#include "resilience/fakes.h"

namespace llmkit {
namespace {

using ::llmkit::testing::ScriptedModel;
using ::testing::HasSubstr;

template <typename T>
void ExpectRejected(const absl::StatusOr<T>& result, const std::string& field) {
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_THAT(result.status().message(), HasSubstr(field));
}

TEST(Construction, NullModelsAreRejected) {
  ExpectRejected(WithRetry(std::shared_ptr<ChatModel>()), "WithRetry's model");
  ExpectRejected(WithRetry(std::shared_ptr<EmbeddingModel>()), "WithRetry's model");
  ExpectRejected(WithHedging(std::shared_ptr<ChatModel>()), "WithHedging's model");
  auto breaker = CircuitBreaker::Create();
  ASSERT_TRUE(breaker.ok());
  ExpectRejected(WithCircuitBreaker(std::shared_ptr<ChatModel>(), *breaker), "model");
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{});
  ExpectRejected(WithCircuitBreaker(model, nullptr), "breaker");
  ExpectRejected(WithRateLimit(model, nullptr), "limiter");
  ExpectRejected(WithFallback(std::vector<FallbackTarget<ChatModel>>{}), "no models");
  ExpectRejected(WithFallback({{model}, {nullptr}}), "models[1].model");
  ExpectRejected(WithFallback({{model}}, {.context_window_fallbacks = {{nullptr}}}),
                 "context_window_fallbacks[0]");
}

TEST(Construction, PolicyFieldsAreChecked) {
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{});
  ExpectRejected(WithRetry(model, {.max_retries = -1}), "max_retries");
  ExpectRejected(WithRetry(model, {.initial_backoff = std::chrono::milliseconds(-1)}),
                 "initial_backoff");
  ExpectRejected(WithRetry(model, {.initial_backoff = std::chrono::milliseconds(100),
                                   .max_backoff = std::chrono::milliseconds(10)}),
                 "max_backoff");
  ExpectRejected(WithRetry(model, {.attempt_timeout = std::chrono::milliseconds(-5)}),
                 "attempt_timeout");
  ExpectRejected(WithFallback({{model}}, {.cooldown_failure_ratio = 2}), "cooldown_failure_ratio");
  ExpectRejected(WithFallback({{model}}, {.cooldown = std::chrono::milliseconds(-1)}), "cooldown");
  ExpectRejected(WithHedging(model, {.percentile = 0}), "percentile");
  ExpectRejected(WithHedging(model, {.window = 0}), "window");
  ExpectRejected(WithHedging(model, {.window = 10, .min_samples = 20}), "min_samples");
  ExpectRejected(WithHedging(model, {.delay = std::chrono::milliseconds(-1)}), "delay");
  ExpectRejected(CircuitBreaker::Create({.failure_ratio = 0}), "failure_ratio");
  ExpectRejected(CircuitBreaker::Create({.failure_ratio = 1.5}), "failure_ratio");
  ExpectRejected(CircuitBreaker::Create({.window = 0}), "window");
  ExpectRejected(CircuitBreaker::Create({.window = 5, .min_calls = 6}), "min_calls");
  ExpectRejected(CircuitBreaker::Create({.half_open_calls = 0}), "half_open_calls");
  ExpectRejected(CircuitBreaker::Create({.open_for = std::chrono::milliseconds(-1)}), "open_for");
  ExpectRejected(RateLimiter::Create({.requests_per_minute = -1}), "requests_per_minute");
  ExpectRejected(RateLimiter::Create({.tokens_per_minute = std::nan("")}), "tokens_per_minute");
  ExpectRejected(RetryBudget::Create(-0.1), "ratio");
  ExpectRejected(RetryBudget::Create(0.2, 0.5), "burst");
  // The defaults and the edges of each range are accepted.
  EXPECT_TRUE(WithRetry(model, {.max_retries = 0}).ok());
  EXPECT_TRUE(WithHedging(model).ok());
  EXPECT_TRUE(CircuitBreaker::Create({.failure_ratio = 1, .window = 1, .min_calls = 1}).ok());
  EXPECT_TRUE(RateLimiter::Create({}).ok());
  EXPECT_TRUE(RetryBudget::Create(0, 1).ok());
}

}  // namespace
}  // namespace llmkit
