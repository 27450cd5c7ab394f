// Embedding models: the EmbeddingModel interface and the client for OpenAI-compatible
// /embeddings endpoints (OpenAI, vLLM, llama.cpp server, Ollama's /v1, TEI, ...).
//
//   auto model = llmkit::NewOpenAIEmbeddingModel({.model = "text-embedding-3-small"});
//   absl::StatusOr<llmkit::Embeddings> e = (*model)->Embed({"first text", "second text"});
//   absl::Span<const float> v = e->row(1);   // e->dimensions floats
//
// Batching: inputs go out in requests of at most `max_inputs_per_request` inputs and
// `max_tokens_per_request` tokens (counted with `tokenizer` when given, else estimated as
// ceil(bytes / 3)); a single input above the token limit goes alone and the provider decides.
// Up to `max_concurrency` requests are in flight at once on the transport's event loop (no
// thread per request). Rows come back in input order whatever order the answers arrive in.
// With `base64` the vectors travel as base64 little-endian float32 and are decoded straight into
// the result; otherwise as JSON numbers.
//
// Errors: as chat.h (the first failing request ends the call; the others are cancelled), plus
// kUnavailable when the answer has the wrong number of rows, repeated or missing indexes, rows of
// different lengths, or a `dimensions` other than requested; kInvalidArgument for a request
// without a model. Threads: an EmbeddingModel is safe to share; Embed may run on many threads.

#ifndef LLMKIT_EMBEDDINGS_H_
#define LLMKIT_EMBEDDINGS_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/chat.h"
#include "llmkit/http.h"
#include "llmkit/openai.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

struct Embeddings {
  size_t dimensions = 0;
  std::vector<float> values;  // rows() x dimensions, row-major, in input order.
  std::string model;          // As the provider reported it.
  Usage usage;                // input_tokens and total_tokens, summed over the requests.
  int requests = 0;           // HTTP requests sent.
  // Filled in by the resilience decorators, as ChatResponse's.
  int attempts = 1;
  std::chrono::nanoseconds backoff{0};
  std::string served_by;
  // Set by a priced client or WithBudget (cost.h).
  std::optional<Cost> cost;

  size_t rows() const { return dimensions == 0 ? 0 : values.size() / dimensions; }
  absl::Span<const float> row(size_t i) const {
    return absl::MakeConstSpan(values.data() + i * dimensions, dimensions);
  }
};

struct EmbedOptions {
  std::string model;              // Empty: the model's default.
  std::optional<int> dimensions;  // Empty: the model's default (text-embedding-3-* can shorten).
};

class EmbeddingModel {
 public:
  virtual ~EmbeddingModel() = default;
  // Embeds `inputs` (no inputs: no request, an empty result). `call` as for ChatModel; without
  // a deadline the call gets the client's request_timeout.
  virtual absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                           const EmbedOptions& options = {},
                                           const CallContext& call = {}) = 0;
};

struct EmbeddingBatchOptions {
  size_t max_inputs_per_request = 2048;    // OpenAI's limit.
  size_t max_tokens_per_request = 300000;  // OpenAI's limit.
  int max_concurrency = 4;
  std::optional<int> dimensions;  // Default for calls that set none.
  bool base64 = true;             // encoding_format "base64" (smaller, exact floats).
  std::shared_ptr<const Tokenizer> tokenizer;
};

// `options.model` is the embedding model; the other fields as for the chat client
// (max_completion_tokens is ignored). Errors: kInvalidArgument for a max_* below 1; kInternal if
// the transport cannot start.
absl::StatusOr<std::unique_ptr<EmbeddingModel>> NewOpenAIEmbeddingModel(
    OpenAIOptions options, EmbeddingBatchOptions batch = {});

}  // namespace llmkit

#endif  // LLMKIT_EMBEDDINGS_H_
