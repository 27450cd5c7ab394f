// What tracing adds to a model call: the same chat call through an in-process model, plain and
// through WithTracing (a span with the GenAI attributes, the token and duration metrics), with
// export on (a collector that is never reached: spans are queued) and off (metrics only).
// BM_StalledCollector: the same from 1 and 64 threads, exporting to a collector that accepts
// connections and never answers: the call's time must not change, and memory stays bounded by
// the span queue (dropped spans are counted).
// Goal (issue 23): under 2 µs per call added.
//
//   build/release/benchmarks/observe_benchmark

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "llmkit/observe.h"

namespace {

class FixedModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse r;
    r.id = "chatcmpl-1";
    r.model = request.model;
    r.text = "ok";
    r.finish_reason = "stop";
    r.usage = {.input_tokens = 120, .output_tokens = 8, .total_tokens = 128};
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

llmkit::ChatRequest Request() {
  llmkit::ChatRequest request;
  request.model = "gpt-4o-mini";
  request.max_tokens = 256;
  request.temperature = 0.2;
  request.messages = {{.role = "user", .content = "Hello"}};
  return request;
}

// Arg: 0 plain, 1 traced (metrics only), 2 traced with export queued.
void BM_ChatCall(benchmark::State& state) {
  std::shared_ptr<llmkit::ChatModel> model = std::make_shared<FixedModel>();
  std::shared_ptr<llmkit::Tracer> tracer;
  if (state.range(0) > 0) {
    llmkit::TracerOptions options;
    if (state.range(0) == 2) {
      // Port 9 (discard) on localhost: nothing listens; batches fail in the background.
      options.traces_endpoint = "http://127.0.0.1:9/v1/traces";
      options.schedule_delay = std::chrono::milliseconds(50);
      options.export_timeout = std::chrono::milliseconds(100);
    }
    tracer = llmkit::Tracer::Create(options).value();
    model = std::shared_ptr<llmkit::ChatModel>(
        llmkit::WithTracing(model, tracer, {.provider = "openai"}).value());
  }
  const llmkit::ChatRequest request = Request();
  for (auto _ : state) benchmark::DoNotOptimize(model->Complete(request));
}
BENCHMARK(BM_ChatCall)->Arg(0)->Arg(1)->Arg(2);

// A port that accepts connections (the kernel's backlog) and never answers.
int StalledPort() {
  static const int port = [] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd, 64);
    socklen_t size = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    return static_cast<int>(ntohs(address.sin_port));  // fd stays open: never accepted.
  }();
  return port;
}

// Arg: 0 plain, 1 traced with export to the stalled collector.
void BM_StalledCollector(benchmark::State& state) {
  static std::shared_ptr<llmkit::ChatModel> models[2];
  static std::shared_ptr<llmkit::Tracer> tracer;
  if (state.thread_index() == 0 && models[0] == nullptr) {
    models[0] = std::make_shared<FixedModel>();
    tracer =
        llmkit::Tracer::Create(
            {.traces_endpoint = "http://127.0.0.1:" + std::to_string(StalledPort()) + "/v1/traces",
             .schedule_delay = std::chrono::milliseconds(100),
             .export_timeout = std::chrono::milliseconds(2000)})
            .value();
    models[1] = std::shared_ptr<llmkit::ChatModel>(
        llmkit::WithTracing(models[0], tracer, {.provider = "openai"}).value());
  }
  const llmkit::ChatRequest request = Request();
  for (auto _ : state) benchmark::DoNotOptimize(models[state.range(0)]->Complete(request));
  if (state.thread_index() == 0 && state.range(0) == 1) {
    llmkit::TracerStats stats = tracer->stats();
    state.counters["dropped_spans"] = static_cast<double>(stats.spans_dropped);
  }
}
BENCHMARK(BM_StalledCollector)->Arg(0)->Arg(1)->Threads(1)->Threads(64)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
