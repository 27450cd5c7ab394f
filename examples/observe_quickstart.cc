// Observability: a traced model's spans and metrics (here with a tiny in-process model; wrap a
// real client the same way). ctest runs it and checks the output.
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 build/release/examples/observe_quickstart

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "llmkit/observe.h"

// Answers every request with "ok" and some token counts.
class EchoModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext& call) override {
    std::printf("the model got traceparent %s\n", call.trace.traceparent.empty() ? "no" : "a");
    llmkit::ChatResponse r;
    r.model = request.model;
    r.text = "ok";
    r.finish_reason = "stop";
    r.usage = {.input_tokens = 10, .output_tokens = 2, .total_tokens = 12};
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

int main() {
  // OTEL_* variables choose the collector; without one, metrics are only kept for Prometheus.
  absl::StatusOr<std::shared_ptr<llmkit::Tracer>> tracer =
      llmkit::Tracer::Create(llmkit::TracerOptionsFromEnvironment({.service_name = "example"}));
  if (!tracer.ok()) return 1;
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model =
      llmkit::WithTracing(std::make_shared<EchoModel>(), *tracer, {.provider = "openai"});
  if (!model.ok()) return 1;
  llmkit::ChatRequest request;
  request.model = "gpt-4o-mini";
  request.messages = {{.role = "user", .content = "Hello"}};
  if (!(*model)->Complete(request).ok()) return 1;
  // What a host serves on /metrics.
  std::string text = (*tracer)->PrometheusText();
  std::printf("%s", text.substr(0, text.find('\n') + 1).c_str());
  std::printf("spans ended: %llu\n",
              static_cast<unsigned long long>((*tracer)->stats().spans_ended));
  return (*tracer)->Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok() ? 0
                                                                                              : 1;
}
