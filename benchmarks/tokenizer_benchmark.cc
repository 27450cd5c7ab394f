// Tokenizer and token-sized chunking throughput (bytes/s) on the Python documentation corpus,
// and the time to load an encoding. The regression guard for issue 3's speed targets; the
// side-by-side ratios against the JavaScript tokenizers are in benchmarks/compare/tokenizers.
//
// Paths: LLMKIT_CORPUS (scripts/fetch-corpus.sh) and LLMKIT_TEST_RANKS_DIR (the .tiktoken files
// scripts/install-test-peers.sh writes). Without rank files the benchmarks report an error.
//
//   build/release/benchmarks/tokenizer_benchmark --benchmark_filter=Encode

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "llmkit/chunker.h"
#include "llmkit/tokenizer.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const std::string& Corpus() {
  static const std::string corpus = [] {
    const char* path = std::getenv("LLMKIT_CORPUS");
    std::string text = path != nullptr ? ReadFile(path) : std::string();
    if (text.empty()) {
      for (int i = 0; i < 20000; ++i)
        text += "The tokenizer splits text into pieces, then merges bytes. ";
    }
    return text;
  }();
  return corpus;
}

std::string RanksPath(const std::string& name) {
  const char* dir = std::getenv("LLMKIT_TEST_RANKS_DIR");
  return std::string(dir != nullptr ? dir : ".cache/tiktoken") + "/" + name + ".tiktoken";
}

std::shared_ptr<const llmkit::Tokenizer> Get(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const llmkit::Tokenizer>> loaded;
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second;
  auto tokenizer = llmkit::Tokenizer::FromFile(RanksPath(name), *llmkit::BuiltinEncoding(name));
  return loaded[name] = tokenizer.ok() ? *tokenizer : nullptr;
}

void BM_EncodeOrdinary(benchmark::State& state, const char* name) {
  auto tokenizer = Get(name);
  if (tokenizer == nullptr) return state.SkipWithError("no rank file; set LLMKIT_TEST_RANKS_DIR");
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer->EncodeOrdinary(Corpus()));
  state.SetBytesProcessed(state.iterations() * Corpus().size());
}
BENCHMARK_CAPTURE(BM_EncodeOrdinary, cl100k_base, "cl100k_base")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeOrdinary, o200k_base, "o200k_base")->Unit(benchmark::kMillisecond);

void BM_Count(benchmark::State& state, const char* name) {
  auto tokenizer = Get(name);
  if (tokenizer == nullptr) return state.SkipWithError("no rank file; set LLMKIT_TEST_RANKS_DIR");
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer->Count(Corpus()));
  state.SetBytesProcessed(state.iterations() * Corpus().size());
}
BENCHMARK_CAPTURE(BM_Count, cl100k_base, "cl100k_base")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Count, o200k_base, "o200k_base")->Unit(benchmark::kMillisecond);

void BM_Load(benchmark::State& state, const char* name) {
  std::string ranks = ReadFile(RanksPath(name));
  if (ranks.empty()) return state.SkipWithError("no rank file; set LLMKIT_TEST_RANKS_DIR");
  auto spec = *llmkit::BuiltinEncoding(name);
  for (auto _ : state) benchmark::DoNotOptimize(llmkit::Tokenizer::FromRanks(ranks, spec));
}
BENCHMARK_CAPTURE(BM_Load, o200k_base, "o200k_base")->Unit(benchmark::kMillisecond);

void BM_RecursiveInTokens(benchmark::State& state) {
  auto tokenizer = Get("cl100k_base");
  if (tokenizer == nullptr) return state.SkipWithError("no rank file; set LLMKIT_TEST_RANKS_DIR");
  llmkit::SplitterOptions options;
  options.chunk_size = 512;
  options.chunk_overlap = 50;
  options.length_function = llmkit::TokenLength(tokenizer);
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  for (auto _ : state) benchmark::DoNotOptimize(splitter->Split(Corpus()));
  state.SetBytesProcessed(state.iterations() * Corpus().size());
}
BENCHMARK(BM_RecursiveInTokens)->Unit(benchmark::kMillisecond);

void BM_SentenceSplitter(benchmark::State& state) {
  auto tokenizer = Get("cl100k_base");
  if (tokenizer == nullptr) return state.SkipWithError("no rank file; set LLMKIT_TEST_RANKS_DIR");
  auto splitter =
      llmkit::SentenceSplitter::Create(tokenizer, {.chunk_size = 512, .chunk_overlap = 50});
  for (auto _ : state) benchmark::DoNotOptimize(splitter->Split(Corpus()));
  state.SetBytesProcessed(state.iterations() * Corpus().size());
}
BENCHMARK(BM_SentenceSplitter)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
