// Server-sent event parsing throughput (bytes/s) on an OpenAI-style chat stream, fed in
// network-sized fragments and in small ones.
//
//   build/release/benchmarks/http_benchmark

#include <benchmark/benchmark.h>

#include <string>

#include "http/sse.h"

namespace {

std::string ChatStream() {
  std::string stream;
  for (int i = 0; i < 20000; ++i) {
    stream +=
        "data: "
        "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token" +
        std::to_string(i) + "\"},\"finish_reason\":null}]}\n\n";
  }
  return stream + "data: [DONE]\n\n";
}

void BM_SseParse(benchmark::State& state) {
  static const std::string stream = ChatStream();
  const size_t fragment = static_cast<size_t>(state.range(0));
  size_t events = 0;
  for (auto _ : state) {
    llmkit::internal::SseParser parser([&](const llmkit::internal::SseEvent& e) {
      benchmark::DoNotOptimize(e.data.data());
      ++events;
      return true;
    });
    for (size_t i = 0; i < stream.size(); i += fragment) {
      benchmark::DoNotOptimize(parser.Feed(std::string_view(stream).substr(i, fragment)));
    }
    benchmark::DoNotOptimize(parser.Finish());
  }
  state.SetBytesProcessed(state.iterations() * stream.size());
  state.counters["events"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SseParse)->Arg(16 * 1024)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
