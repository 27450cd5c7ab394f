// Model clients from C++: a chat answer, a streamed answer with a tool, embeddings, and an
// Anthropic answer. The servers and keys come from the environment (OPENAI_BASE_URL,
// OPENAI_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY); ctest runs this against a local fake.
//
//   build/release/examples/clients_quickstart

#include <cstdio>
#include <string>
#include <vector>

#include "llmkit/anthropic.h"
#include "llmkit/embeddings.h"
#include "llmkit/openai.h"

namespace {

absl::Status Run() {
  // One transport (one connection pool, one event-loop thread) for every client.
  absl::StatusOr<std::shared_ptr<llmkit::HttpTransport>> transport = llmkit::NewCurlTransport();
  if (!transport.ok()) return transport.status();

  // A chat answer.
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> openai =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini", .transport = *transport});
  if (!openai.ok()) return openai.status();
  llmkit::ChatRequest request;
  request.messages = {{.role = "system", .content = "Answer in one sentence."},
                      {.role = "user", .content = "What is the weather in Paris?"}};
  request.temperature = 0;
  absl::StatusOr<llmkit::ChatResponse> answer = (*openai)->Complete(request);
  if (!answer.ok()) return answer.status();  // e.g. kResourceExhausted with a Retry-After payload
  std::printf("answer: %s (%lld tokens in, %lld out)\n", answer->text.c_str(),
              static_cast<long long>(answer->usage.input_tokens),
              static_cast<long long>(answer->usage.output_tokens));

  // The same request streamed, with a tool the model may call.
  request.tools = {{.name = "get_weather",
                    .description = "Current weather for a city",
                    .parameters = *llmkit::Json::Parse(
                        R"({"type":"object","properties":{"city":{"type":"string"}}})")}};
  absl::StatusOr<llmkit::ChatResponse> streamed =
      (*openai)->Stream(request, [](const llmkit::StreamEvent& event) {
        if (event.kind == llmkit::StreamEvent::Kind::kTextDelta) {
          std::printf("%s", event.text.c_str());
        }
        return true;  // false stops the stream
      });
  if (!streamed.ok()) return streamed.status();
  for (const llmkit::ToolCall& call : streamed->message.tool_calls) {
    std::printf("\ntool call %s(%s)\n", call.name.c_str(), call.arguments.c_str());
  }

  // Embeddings: batched, concurrent, in input order.
  absl::StatusOr<std::unique_ptr<llmkit::EmbeddingModel>> embedder =
      llmkit::NewOpenAIEmbeddingModel({.model = "text-embedding-3-small", .transport = *transport},
                                      {.max_inputs_per_request = 256, .max_concurrency = 4});
  if (!embedder.ok()) return embedder.status();
  std::vector<std::string> texts = {"Paris is the capital of France.", "Berlin is in Germany."};
  absl::StatusOr<llmkit::Embeddings> vectors = (*embedder)->Embed(texts);
  if (!vectors.ok()) return vectors.status();
  std::printf("%zu vectors of %zu floats; first value %g\n", vectors->rows(), vectors->dimensions,
              vectors->row(0)[0]);

  // Anthropic: the same ChatModel interface.
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> claude =
      llmkit::NewAnthropicClient({.model = "claude-sonnet-4-5", .transport = *transport});
  if (!claude.ok()) return claude.status();
  request.tools.clear();
  absl::StatusOr<llmkit::ChatResponse> reply = (*claude)->Complete(request);
  if (!reply.ok()) return reply.status();
  std::printf("claude: %s (stop: %s, %lld cached input tokens)\n", reply->text.c_str(),
              reply->finish_reason.c_str(),
              static_cast<long long>(reply->usage.cached_input_tokens));
  return absl::OkStatus();
}

}  // namespace

int main() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
