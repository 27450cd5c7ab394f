// The OpenAI-compatible embedding client: batching by inputs and tokens, bounded concurrency on
// the transport's event loop, answers parsed on the calling thread and placed in input order.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "chat/openai_wire.h"
#include "chat/provider_error.h"
#include "embeddings/embedding_response.h"
#include "http/body.h"
#include "http/call_timing.h"
#include "http/redact.h"
#include "llmkit/embeddings.h"
#include "llmkit/status.h"
#include "unicode/utf8.h"

namespace llmkit {
namespace {

struct Batch {
  size_t begin = 0;
  size_t end = 0;
};

// Receives one answer into a buffer taken from the model's pool: buffers keep their capacity
// between requests, so a large answer lands in memory that is already mapped (fresh pages cost
// more than the parsing, measured with benchmarks/compare/clients).
struct BodyCollector final : StreamHandler {
  bool OnHeaders(int code, const HttpHeaders& h) override {
    status = code;
    headers = h;
    internal::ReserveBody(h, &body);
    return true;
  }
  bool OnData(std::string_view bytes) override {
    body.append(bytes);
    return true;
  }

  int status = 0;
  HttpHeaders headers;
  std::string body;
};

class OpenAIEmbeddingModel final : public EmbeddingModel {
 public:
  OpenAIEmbeddingModel(OpenAIOptions options, EmbeddingBatchOptions batch, std::string api_key,
                       std::shared_ptr<HttpTransport> transport)
      : options_(std::move(options)),
        batch_(std::move(batch)),
        api_key_(std::move(api_key)),
        transport_(std::move(transport)) {}

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    Embeddings result;
    std::string model = options.model.empty() ? options_.model : options.model;
    if (model.empty()) {
      return absl::InvalidArgumentError(
          "no model: set EmbedOptions::model or OpenAIOptions::model");
    }
    if (inputs.empty()) return result;
    std::optional<int> dimensions = options.dimensions ? options.dimensions : batch_.dimensions;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (absl::Status valid = internal::CheckUtf8(inputs[i]); !valid.ok()) {
        return absl::Status(valid.code(), absl::StrCat("input ", i, ": ", valid.message()));
      }
    }
    std::vector<Batch> batches = Split(inputs);
    // Every batch request has the call's deadline (or the client's request_timeout from now).
    LLMKIT_RETURN_IF_ERROR(call.Check("embeddings"));
    const CallContext batch_call =
        call.has_deadline() || options_.request_timeout.count() <= 0
            ? call
            : call.WithDeadlineAtMost(CallContext::DeadlineAfter(options_.request_timeout));

    // Answers arrive on the transport's thread; they are parsed here, on the caller's.
    struct Arrival {
      size_t batch;
      absl::Status transport;
    };
    std::vector<BodyCollector> answers(batches.size());
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Arrival> arrivals;  // Guarded by mu.
    auto stop = call.Linked();     // The caller's cancellation, or the first error, stops them all.
    size_t next = 0, in_flight = 0;
    absl::Status error;
    std::vector<internal::EmbeddingBatch> parsed(batches.size());
    auto launch = [&](size_t b) {
      HttpRequest http = Request(inputs, batches[b], model, dimensions);
      http.timeout = batch_call.has_deadline()
                         ? internal::TimeLeft(batch_call.deadline, CallContext::Clock::now())
                         : std::chrono::milliseconds(0);
      http.idle_timeout = std::chrono::milliseconds(0);  // The server is silent until it answers.
      http.cancellation = stop;
      internal::ApplyTraceContext(call, http);
      ++in_flight;
      answers[b].body = TakeBuffer();
      transport_->Start(std::move(http), &answers[b],
                        [&, b](absl::StatusOr<HttpResponse> response) {
                          std::lock_guard<std::mutex> lock(mu);
                          arrivals.push_back({b, response.status()});
                          cv.notify_one();
                        });
    };
    const size_t limit = static_cast<size_t>(std::max(1, batch_.max_concurrency));
    while (next < batches.size() && in_flight < limit) launch(next++);
    while (in_flight > 0) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !arrivals.empty(); });
      Arrival arrival = std::move(arrivals.front());
      arrivals.pop_front();
      lock.unlock();
      --in_flight;
      absl::Cleanup give_back = [&] { ReturnBuffer(std::move(answers[arrival.batch].body)); };
      if (error.ok()) {
        const Batch& batch = batches[arrival.batch];
        absl::Status status = Accept(arrival.transport, answers[arrival.batch],
                                     batch.end - batch.begin, &parsed[arrival.batch]);
        if (!status.ok()) {
          error = status;
          stop->Cancel();  // The others end kCancelled; their answers are dropped.
        } else if (next < batches.size()) {
          launch(next++);
        }
      }
    }
    // A server may echo the key in its error body: it never reaches the caller's error.
    if (!error.ok()) {
      return internal::Redact(error,
                              internal::SecretsOf(internal::OpenAIHeaders(options_, api_key_, "")));
    }
    if (call.cancelled()) {
      return absl::CancelledError("the embedding call was cancelled");
    }
    return Assemble(std::move(parsed), dimensions);
  }

 private:
  std::vector<Batch> Split(absl::Span<const std::string> inputs) const {
    std::vector<Batch> batches;
    const size_t max_inputs = batch_.max_inputs_per_request;
    const size_t max_tokens = batch_.max_tokens_per_request;
    Batch current;
    size_t tokens = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      size_t cost = batch_.tokenizer != nullptr
                        ? batch_.tokenizer->CountValidUtf8(inputs[i], max_tokens)
                        : (inputs[i].size() + 2) / 3;
      if (current.end > current.begin &&
          (current.end - current.begin >= max_inputs || tokens + cost > max_tokens)) {
        batches.push_back(current);
        current = {i, i};
        tokens = 0;
      }
      current.end = i + 1;
      tokens += cost;
    }
    batches.push_back(current);
    return batches;
  }

  HttpRequest Request(absl::Span<const std::string> inputs, const Batch& batch,
                      const std::string& model, std::optional<int> dimensions) const {
    Json body = Json::MakeObject();
    body.Set("model", model);
    Json input = Json::MakeArray();
    input.as_array().reserve(batch.end - batch.begin);
    for (size_t i = batch.begin; i < batch.end; ++i) input.push_back(inputs[i]);
    body.Set("input", std::move(input));
    if (batch_.base64) body.Set("encoding_format", "base64");
    if (dimensions) body.Set("dimensions", *dimensions);
    HttpRequest http;
    http.url = options_.base_url + "/embeddings";
    http.body = body.Dump();
    http.headers = internal::OpenAIHeaders(options_, api_key_, "application/json");
    return http;
  }

  // Checks one answer and parses it into `out`.
  static absl::Status Accept(const absl::Status& transport, const BodyCollector& answer,
                             size_t rows, internal::EmbeddingBatch* out) {
    if (!transport.ok()) return transport;
    if (answer.status < 200 || answer.status >= 300) {
      return internal::ProviderError(internal::kOpenAIProvider, answer.status, answer.headers,
                                     answer.body);
    }
    const std::string& body = answer.body;
    LLMKIT_ASSIGN_OR_RETURN(*out, internal::ParseEmbeddingResponse(
                                      body, rows, body.capacity() - body.size() >= kBodyPadding));
    return absl::OkStatus();
  }

  std::string TakeBuffer() {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.empty()) return {};
    std::string buffer = std::move(pool_.back());
    pool_.pop_back();
    return buffer;
  }

  // Keeps up to max_concurrency buffers of at most 64 MB for later requests.
  void ReturnBuffer(std::string buffer) {
    buffer.clear();
    if (buffer.capacity() > (64 << 20)) return;
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.size() < static_cast<size_t>(batch_.max_concurrency)) {
      pool_.push_back(std::move(buffer));
    }
  }

  static absl::StatusOr<Embeddings> Assemble(std::vector<internal::EmbeddingBatch> parsed,
                                             std::optional<int> dimensions) {
    Embeddings result;
    result.dimensions = parsed[0].dimensions;
    result.model = parsed[0].model;
    result.requests = static_cast<int>(parsed.size());
    if (dimensions && static_cast<size_t>(*dimensions) != result.dimensions) {
      return internal::MalformedResponse(
          internal::kOpenAIProvider,
          absl::StrCat(result.dimensions, "-dimensional embeddings for dimensions=", *dimensions));
    }
    size_t total = 0;
    for (const internal::EmbeddingBatch& b : parsed) {
      if (b.dimensions != result.dimensions) {
        return internal::MalformedResponse(
            internal::kOpenAIProvider,
            absl::StrCat("embeddings of ", result.dimensions, " and ", b.dimensions, " values"));
      }
      total += b.values.size();
    }
    if (parsed.size() == 1) {
      result.values = std::move(parsed[0].values);
    } else {
      result.values.reserve(total);
      for (const internal::EmbeddingBatch& b : parsed) {
        result.values.insert(result.values.end(), b.values.begin(), b.values.end());
      }
    }
    for (const internal::EmbeddingBatch& b : parsed) {
      result.usage.input_tokens += b.prompt_tokens;
      result.usage.total_tokens += b.total_tokens;
    }
    return result;
  }

  OpenAIOptions options_;
  EmbeddingBatchOptions batch_;
  std::string api_key_;
  std::shared_ptr<HttpTransport> transport_;
  std::mutex pool_mu_;
  std::vector<std::string> pool_;  // Guarded by pool_mu_.
};

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddingModel>> NewOpenAIEmbeddingModel(
    OpenAIOptions options, EmbeddingBatchOptions batch) {
  std::string key = internal::ResolveOpenAIOptions(options);
  LLMKIT_RETURN_IF_ERROR(internal::CheckOpenAIOptions(options));
  if (batch.max_inputs_per_request < 1) {
    return absl::InvalidArgumentError("EmbeddingBatchOptions::max_inputs_per_request must be >= 1");
  }
  if (batch.max_tokens_per_request < 1) {
    return absl::InvalidArgumentError("EmbeddingBatchOptions::max_tokens_per_request must be >= 1");
  }
  if (batch.max_concurrency < 1) {
    return absl::InvalidArgumentError("EmbeddingBatchOptions::max_concurrency must be >= 1");
  }
  if (batch.dimensions && *batch.dimensions < 1) {
    return absl::InvalidArgumentError("EmbeddingBatchOptions::dimensions must be >= 1");
  }
  std::shared_ptr<HttpTransport> transport = options.transport;
  if (transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(transport, NewCurlTransport());
  }
  return std::unique_ptr<EmbeddingModel>(std::make_unique<OpenAIEmbeddingModel>(
      std::move(options), std::move(batch), std::move(key), std::move(transport)));
}

}  // namespace llmkit
