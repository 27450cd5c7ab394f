// Structured output from C++: a value matching a JSON Schema, re-asked until it does. The
// server and key come from the environment (OPENAI_BASE_URL, OPENAI_API_KEY); ctest runs this
// against a local fake that answers with a get_weather call.
//
//   build/release/examples/extract_quickstart

#include <cstdio>

#include "llmkit/openai.h"
#include "llmkit/structured.h"

int main() {
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  if (!model.ok()) return 1;
  llmkit::ChatRequest request;
  request.messages = {{.role = "user", .content = "What is the weather in Paris?"}};
  absl::StatusOr<llmkit::Json> schema = llmkit::Json::Parse(R"({
      "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})");
  if (!schema.ok()) return 1;

  // The schema becomes a tool the model must call; a reply that does not match is sent back
  // with its errors, up to max_attempts calls in all.
  absl::StatusOr<llmkit::ExtractResult> result =
      llmkit::Extract(**model, request, *schema, {.name = "get_weather", .max_attempts = 3},
                      llmkit::CallContext::WithTimeout(std::chrono::seconds(30)));
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  std::printf("%s after %d attempt(s), %lld input tokens\n", result->value.Dump().c_str(),
              result->attempts, static_cast<long long>(result->usage.input_tokens));
  return 0;
}
