// Chunker throughput (bytes/s) on the Python documentation corpus.
//
// The corpus path comes from LLMKIT_CORPUS (scripts/fetch-corpus.sh writes it); without it the
// benchmark uses generated English-like text so it still runs anywhere.
//
//   build/benchmarks/chunker_benchmark --benchmark_filter=Recursive

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "llmkit/chunker.h"

namespace {

std::string GeneratedText(size_t bytes) {
  static const char* kWords[] = {"the",    "module", "provides", "a",       "function", "for",
                                 "Python", "object", "returns",  "value",   "list",     "with",
                                 "class",  "method", "string",   "default", "see",      "also"};
  std::mt19937 random(42);
  std::string text;
  while (text.size() < bytes) {
    int sentence = 5 + random() % 20;
    for (int i = 0; i < sentence; ++i) {
      text += kWords[random() % std::size(kWords)];
      text += ' ';
    }
    text.back() = '.';
    text += random() % 4 == 0 ? "\n\n" : random() % 3 == 0 ? "\n" : " ";
  }
  return text;
}

const std::string& Corpus() {
  static const std::string* corpus = [] {
    const char* path = std::getenv("LLMKIT_CORPUS");
    if (path != nullptr) {
      std::ifstream file(path, std::ios::binary);
      std::stringstream buffer;
      buffer << file.rdbuf();
      if (file) return new std::string(buffer.str());
    }
    return new std::string(GeneratedText(11 << 20));
  }();
  return *corpus;
}

void BM_ChunkerRecursiveCorpus(benchmark::State& state) {
  llmkit::SplitterOptions options;
  options.chunk_size = state.range(0);
  options.chunk_overlap = state.range(1);
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  const std::string& text = Corpus();
  size_t chunks = 0;
  for (auto _ : state) {
    auto result = splitter->Split(text);
    chunks = result->size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["chunks"] = static_cast<double>(chunks);
}
BENCHMARK(BM_ChunkerRecursiveCorpus)
    ->Args({1000, 200})
    ->Args({512, 50})
    ->Args({200, 0})
    ->Unit(benchmark::kMillisecond);

// SplitViews: the same split with no chunk copied (what the Python split_text builds on).
void BM_ChunkerRecursiveViews(benchmark::State& state) {
  llmkit::SplitterOptions options;
  options.chunk_size = state.range(0);
  options.chunk_overlap = state.range(1);
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  const std::string& text = Corpus();
  for (auto _ : state) benchmark::DoNotOptimize(splitter->SplitViews(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ChunkerRecursiveViews)->Args({1000, 200})->Unit(benchmark::kMillisecond);

void BM_ChunkerRecursiveSize(benchmark::State& state) {
  auto splitter = llmkit::RecursiveCharacterSplitter::Create({});
  const std::string text = Corpus().substr(0, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(splitter->Split(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ChunkerRecursiveSize)->Range(1 << 10, 1 << 22);

void BM_ChunkerMarkdownCorpus(benchmark::State& state) {
  auto splitter = llmkit::MarkdownSplitter::Create({});
  const std::string& text = Corpus();
  for (auto _ : state) benchmark::DoNotOptimize(splitter->Split(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ChunkerMarkdownCorpus)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
