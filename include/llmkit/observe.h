// Observability: OpenTelemetry GenAI spans and metrics of every model call, exported as
// OTLP/HTTP JSON on a background thread and readable as Prometheus text.
//
//   auto tracer = llmkit::Tracer::Create(llmkit::TracerOptionsFromEnvironment()).value();
//   auto traced = llmkit::WithTracing(model, tracer, {.provider = "openai"}).value();
//   traced->Complete(request);  // A "chat gpt-4o" span, token and duration metrics.
//   std::string text = tracer->PrometheusText();
//
// Names follow the OpenTelemetry GenAI semantic conventions (npm
// @opentelemetry/semantic-conventions 1.45.0, incubating): spans "chat {model}" /
// "embeddings {model}" with gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.*,
// gen_ai.response.*, gen_ai.usage.*, server.address, server.port, error.type; metrics
// gen_ai.client.token.usage (by gen_ai.token.type), gen_ai.client.operation.duration and
// gen_ai.client.operation.time_to_first_chunk with the conventions' units and bucket
// boundaries. llmkit's own names start with "llmkit." (docs/observability.md lists them).
// Message content is never recorded.
//
// Export never blocks a request: finished spans go to a bounded queue (a full queue drops the
// span and counts it) that one background thread sends in batches (the OpenTelemetry SDK's
// defaults: 512 spans, every 5 s, queue of 2048), retrying 429 and 5xx answers with backoff and
// Retry-After. Metrics are aggregated in memory (cumulative) and sent every
// metric_export_interval.
//
// Threads: a Tracer and traced models are used from any number of threads. A Span belongs to
// the thread that uses it.

#ifndef LLMKIT_OBSERVE_H_
#define LLMKIT_OBSERVE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/http.h"

namespace llmkit {

using AttributeValue = std::variant<std::string, int64_t, double, bool, std::vector<std::string>>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

struct TracerOptions {
  std::string service_name = "llmkit";  // The resource's service.name.
  Attributes resource;                  // More resource attributes.
  // Where OTLP/HTTP JSON goes (full URLs, e.g. http://127.0.0.1:4318/v1/traces); empty: spans
  // and metrics are kept for PrometheusText only.
  std::string traces_endpoint;
  std::string metrics_endpoint;
  HttpHeaders headers;  // Sent with every export (authorization).
  // "gzip": export bodies are gzip-compressed (Content-Encoding: gzip); "" or "none": sent as
  // they are (the OpenTelemetry default).
  std::string compression;
  // Batching (the OpenTelemetry SDK's BatchSpanProcessor defaults).
  size_t max_queue_size = 2048;
  size_t max_export_batch_size = 512;
  std::chrono::milliseconds schedule_delay{5000};
  std::chrono::milliseconds export_timeout{30000};
  std::chrono::milliseconds metric_export_interval{60000};
  // Call-context tags (call.h) that become span and metric attributes "llmkit.tag.<key>"; other
  // tags are not recorded (metric cardinality stays the host's choice).
  std::vector<std::string> tag_attributes;
  // How exports are sent; null: a curl transport.
  std::shared_ptr<HttpTransport> transport;
  bool disabled = false;  // No spans, no metrics, no thread.
};

// `defaults` with the standard variables applied: OTEL_SDK_DISABLED, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces, /v1/metrics),
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_BSP_SCHEDULE_DELAY,
// OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_METRIC_EXPORT_INTERVAL,
// OTEL_EXPORTER_OTLP_COMPRESSION. Header and resource values are percent-decoded, as the
// specification says ("Authorization=Basic%20abc"); a header whose decoded name or value holds
// CR, LF or NUL is dropped. A protocol other than http/json in OTEL_EXPORTER_OTLP_PROTOCOL is
// ignored (JSON is what llmkit sends).
TracerOptions TracerOptionsFromEnvironment(TracerOptions defaults = {});

struct TracerStats {
  uint64_t spans_ended = 0;
  uint64_t spans_exported = 0;
  uint64_t spans_dropped = 0;    // The queue was full.
  uint64_t export_failures = 0;  // Batches (spans or metrics) given up after retries.
};

enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

class Tracer;

// One operation's span; ends (and is queued for export) at End or destruction. Default
// constructed or moved from: inactive, every call a no-op.
class Span {
 public:
  Span();
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  ~Span();

  bool active() const { return data_ != nullptr; }
  void SetName(std::string name);
  void SetAttribute(std::string_view key, AttributeValue value);
  // SetAttribute for a string value, copied into storage the span reuses (no temporary
  // AttributeValue to build and destroy).
  void SetStringAttribute(std::string_view key, std::string_view value);
  // Marks the span failed: status ERROR with `message`, and error.type `type`.
  void SetError(std::string type, std::string message);
  // A call context whose trace context names this span as the parent (`call` otherwise kept).
  CallContext ChildContext(const CallContext& call) const;
  // "00-<trace id>-<span id>-01".
  std::string traceparent() const;
  // When the span started, on the steady clock (the span's end time is its start time plus the
  // steady time between, so a wall-clock step never makes a duration negative).
  std::chrono::steady_clock::time_point start_time() const;
  void End();
  // Ends the span at `end`, a steady_clock reading the caller already made.
  void End(std::chrono::steady_clock::time_point end);

  struct Data;

 private:
  friend class Tracer;
  // The value to assign for `key`: its earlier value, or a new slot. REQUIRES: active().
  AttributeValue& Slot(std::string_view key);
  std::shared_ptr<Tracer> tracer_;
  std::unique_ptr<Data> data_;
};

class Tracer : public std::enable_shared_from_this<Tracer> {
 public:
  // Errors: kInvalidArgument (zero queue or batch size, a batch larger than the queue, an
  // endpoint that is not http:// or https://).
  static absl::StatusOr<std::shared_ptr<Tracer>> Create(TracerOptions options = {});
  // Shutdown(now + export_timeout) unless Shutdown already ran.
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // A span child of `parent`'s trace context (a new trace when it has none or it is malformed).
  Span StartSpan(std::string_view name, const TraceContext& parent,
                 SpanKind kind = SpanKind::kClient);

  // Metrics (names as the conventions spell them; attributes beyond the documented set are the
  // caller's responsibility).
  void RecordTokens(int64_t tokens, std::string_view token_type, const Attributes& attributes);
  void RecordDuration(double seconds, const Attributes& attributes);
  void RecordTimeToFirstChunk(double seconds, const Attributes& attributes);
  // llmkit.client.operation.cost: a priced call's cost in US dollars (its sum is the spend).
  void RecordCost(double usd, const Attributes& attributes);
  // One finished call's metrics at once: its duration, the tokens (each when given) and the cost
  // (when priced). The same as RecordDuration, RecordTokens and RecordCost one by one, but under
  // one lock and with one comparison of `attributes` (what WithTracing uses).
  struct CallMetrics {
    double duration_seconds = 0;
    std::optional<int64_t> input_tokens;
    std::optional<int64_t> output_tokens;
    std::optional<double> cost_usd;
  };
  void RecordCall(const CallMetrics& metrics, const Attributes& attributes);
  // Adds to an llmkit counter ("llmkit.retries", ...).
  void AddCounter(std::string_view name, int64_t value, const Attributes& attributes);

  // Sends everything queued and the current metrics now. Errors: kDeadlineExceeded when the
  // exports did not finish by `deadline`, kUnavailable when an export failed after retries.
  absl::Status Flush(std::chrono::steady_clock::time_point deadline);
  // Exports what is queued and the metrics, by `deadline` at the latest (a collector that does
  // not answer is given up on then), and stops the export thread and the metrics endpoint;
  // later spans are not exported. Idempotent. Errors as Flush.
  absl::Status Shutdown(std::chrono::steady_clock::time_point deadline);
  // The metrics in the Prometheus text exposition format (version 0.0.4), for a host to serve.
  std::string PrometheusText() const;
  // Serves PrometheusText() at http://<address>:<port>/metrics (GET; other paths are 404) on
  // its own thread until Shutdown; port 0 picks a free port. Returns the port. Errors:
  // kInvalidArgument (not an IPv4 address), kUnavailable (cannot listen there),
  // kFailedPrecondition (already serving).
  absl::StatusOr<int> ServeMetrics(const std::string& address = "127.0.0.1", int port = 0);
  TracerStats stats() const;
  const TracerOptions& options() const;
  // The attributes a call's tags add (only tag_attributes' keys).
  Attributes TagAttributes(const CallContext& call) const;

  class Impl;

 private:
  friend class Span;
  explicit Tracer(std::unique_ptr<Impl> impl);
  void Finish(std::unique_ptr<Span::Data> span);
  std::unique_ptr<Impl> impl_;
};

// error.type of a failed call: the provider's HTTP status when it answered one ("503"), else the
// status code's name ("deadline_exceeded").
std::string ErrorType(const absl::Status& status);

// Where a traced model's calls go, for the span's attributes.
struct TracingOptions {
  std::string provider;  // gen_ai.provider.name: "openai", "anthropic", ...
  std::string server_address;
  int server_port = 0;        // 0: not recorded.
  std::string default_model;  // gen_ai.request.model when a request names none.
  // Records the messages on chat spans (off by default: they may hold personal data), as the
  // conventions' JSON: gen_ai.system_instructions (the system messages), gen_ai.input.messages
  // (the others: text, tool calls, tool results; images by URL) and gen_ai.output.messages (the
  // answer with its finish_reason). To record what the guardrails redacted, put WithTracing
  // inside WithGuard: WithGuard(WithTracing(client)). API keys are never recorded.
  bool record_content = false;
};

// A model whose every call is a span (child of the call context's trace context, which the
// inner model receives as the span's, so that its HTTP requests carry a traceparent header)
// and feeds the metrics. A stream's span ends when the stream ends, fails or is stopped by
// its callback, and records the time to the first chunk. Errors: kInvalidArgument for a null
// model or tracer.
absl::StatusOr<std::unique_ptr<ChatModel>> WithTracing(std::shared_ptr<ChatModel> model,
                                                       std::shared_ptr<Tracer> tracer,
                                                       TracingOptions options = {});
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithTracing(std::shared_ptr<EmbeddingModel> model,
                                                            std::shared_ptr<Tracer> tracer,
                                                            TracingOptions options = {});

}  // namespace llmkit

#endif  // LLMKIT_OBSERVE_H_
