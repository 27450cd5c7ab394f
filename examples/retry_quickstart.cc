// Retries with the official SDKs' rule around any chat model. The server and key come from the
// environment (OPENAI_BASE_URL, OPENAI_API_KEY); ctest runs this against a local fake.
//
//   build/release/examples/retry_quickstart

#include <cstdio>

#include "llmkit/openai.h"
#include "llmkit/resilience.h"

int main() {
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> client =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  if (!client.ok()) return 1;
  // Up to 3 retries; 0.5 s doubling to 8 s unless the server says when (Retry-After). The
  // policy is checked here: a bad field is kInvalidArgument naming it.
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model =
      llmkit::WithRetry(std::move(*client), {.max_retries = 3});
  if (!model.ok()) return 1;

  llmkit::ChatRequest request;
  request.messages = {{.role = "user", .content = "Say hello."}};
  // The call context: a deadline for the whole call, retries and waits included, and tags that
  // decorators (budgets, traces, caches) group by. Tags never go to the provider.
  llmkit::CallContext call = llmkit::CallContext::WithTimeout(std::chrono::seconds(30));
  call.tags = {{"feature", "greeting"}};
  absl::StatusOr<llmkit::ChatResponse> answer = (*model)->Complete(request, call);
  if (!answer.ok()) {
    // The last error, with llmkit::kPayloadAttempts saying how many calls were made.
    std::fprintf(stderr, "error: %s\n", answer.status().ToString().c_str());
    return 1;
  }
  std::printf("%s (%d attempt(s), %.1f s waiting)\n", answer->text.c_str(), answer->attempts,
              std::chrono::duration<double>(answer->backoff).count());
  return 0;
}
