// A production stack of resilience decorators: each provider behind its own rate limiter and
// circuit breaker, a fallback from OpenAI to Anthropic, retries with a budget around it all. The
// servers and keys come from the environment (OPENAI_BASE_URL, OPENAI_API_KEY,
// ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY); ctest runs this against a local fake.
//
//   build/release/examples/resilience_stack

#include <cstdio>
#include <memory>

#include "llmkit/anthropic.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace {

// Guards one provider: its account's limits, and a breaker that stops calling it while it is
// failing (50% of the last 100 calls, then 30 s before trial calls).
absl::StatusOr<std::shared_ptr<llmkit::ChatModel>> Guard(std::shared_ptr<llmkit::ChatModel> model,
                                                         const char* name) {
  LLMKIT_ASSIGN_OR_RETURN(
      std::shared_ptr<llmkit::RateLimiter> limiter,
      llmkit::RateLimiter::Create({.requests_per_minute = 500, .tokens_per_minute = 200'000}));
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<llmkit::CircuitBreaker> breaker,
                          llmkit::CircuitBreaker::Create({.name = name}));
  LLMKIT_ASSIGN_OR_RETURN(model, llmkit::WithRateLimit(std::move(model), limiter));
  return llmkit::WithCircuitBreaker(std::move(model), breaker);
}

// Every decorator checks its options when it is built (kInvalidArgument naming the field).
absl::StatusOr<std::shared_ptr<llmkit::ChatModel>> Stack(
    std::shared_ptr<llmkit::ChatModel> openai, std::shared_ptr<llmkit::ChatModel> anthropic) {
  LLMKIT_ASSIGN_OR_RETURN(openai, Guard(std::move(openai), "openai"));
  LLMKIT_ASSIGN_OR_RETURN(anthropic, Guard(std::move(anthropic), "anthropic"));
  LLMKIT_ASSIGN_OR_RETURN(
      std::shared_ptr<llmkit::ChatModel> model,
      llmkit::WithFallback({{openai, "", "openai"}, {anthropic, "", "anthropic"}}));
  // Retries when every provider failed, waiting as the breakers and servers say, and never more
  // than 20% extra calls.
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<llmkit::RetryBudget> budget,
                          llmkit::RetryBudget::Create(0.2));
  return llmkit::WithRetry(std::move(model), {.budget = budget});
}

}  // namespace

int main() {
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> openai =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> anthropic =
      llmkit::NewAnthropicClient({.model = "claude-sonnet-4-5"});
  if (!openai.ok() || !anthropic.ok()) return 1;
  absl::StatusOr<std::shared_ptr<llmkit::ChatModel>> model =
      Stack(std::move(*openai), std::move(*anthropic));
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().ToString().c_str());
    return 1;
  }

  llmkit::ChatRequest request;
  request.messages = {{.role = "user", .content = "Say hello."}};
  // Everything included: no retry, wait or fallback hop goes past this deadline.
  absl::StatusOr<llmkit::ChatResponse> answer =
      (*model)->Complete(request, llmkit::CallContext::WithTimeout(std::chrono::seconds(30)));
  if (!answer.ok()) {
    std::fprintf(stderr, "error: %s\n", answer.status().ToString().c_str());
    return 1;
  }
  std::printf("%s (served by %s, %d attempt(s))\n", answer->text.c_str(), answer->served_by.c_str(),
              answer->attempts);
  return 0;
}
