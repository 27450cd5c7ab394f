// The pipeline's own costs, apart from any model server: SHA-256 (every ingested document),
// CRC-32C (every index file on load), the local embedder (chunks/s) and RagPipeline::Load of a
// saved index (what each `llmkit query` / `llmkit ask` pays before searching).
//
//   LLMKIT_CORPUS=build/corpus.txt build/release/benchmarks/rag_benchmark
//
// Without LLMKIT_CORPUS the text is generated (words drawn from a fixed vocabulary).

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "common/sha256.h"
#include "llmkit/rag.h"

namespace {

// About `bytes` of English-like text: the corpus when given, generated words otherwise.
std::string Text(size_t bytes) {
  std::string text;
  if (const char* path = std::getenv("LLMKIT_CORPUS")) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.empty()) {
    static const char* kWords[] = {"the",    "index",    "returns", "a",      "list",
                                   "of",     "passages", "scored",  "by",     "query",
                                   "vector", "lexical",  "hybrid",  "search", "file",
                                   "line",   "python",   "module",  "with",   "statement"};
    std::mt19937 rng(3);
    while (text.size() < bytes) {
      text += kWords[rng() % 20];
      text += rng() % 12 == 0 ? ".\n" : " ";
    }
  }
  while (text.size() < bytes) text += text;
  text.resize(bytes);
  return text;
}

void BM_Sha256(benchmark::State& state, llmkit::internal::Sha256Impl impl) {
  const std::string data = Text(1 << 20);
  for (auto _ : state) benchmark::DoNotOptimize(llmkit::internal::Sha256Hex(data, impl));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_Sha256, portable, llmkit::internal::Sha256Impl::kPortable);
BENCHMARK_CAPTURE(BM_Sha256, best, llmkit::internal::Sha256Impl::kBest);

// CRC-32C, the checksum every persisted index file is verified with when opened.
void BM_Crc32c(benchmark::State& state, bool portable) {
  const std::string data = Text(1 << 20);
  for (auto _ : state) {
    benchmark::DoNotOptimize(portable ? llmkit::internal::Crc32cPortable(data)
                                      : llmkit::internal::Crc32c(data));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK_CAPTURE(BM_Crc32c, portable, true);
BENCHMARK_CAPTURE(BM_Crc32c, best, false);

// 64 chunks of 512 bytes, as the pipeline sends them.
void BM_LocalEmbedder(benchmark::State& state) {
  const std::string text = Text(64 * 512);
  std::vector<std::string> chunks;
  for (size_t i = 0; i < 64; ++i) chunks.push_back(text.substr(i * 512, 512));
  auto model = llmkit::NewLocalEmbeddingModel();
  if (!model.ok()) return state.SkipWithError(std::string(model.status().message()).c_str());
  for (auto _ : state) benchmark::DoNotOptimize((*model)->Embed(chunks));
  state.counters["chunks/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * chunks.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LocalEmbedder)->Unit(benchmark::kMillisecond);

// A saved pipeline of about 5,000 chunks (200 documents of 12 KiB) loaded from disk.
void BM_RagLoad(benchmark::State& state) {
  const std::string dir = std::filesystem::temp_directory_path().string() + "/rag_benchmark_" +
                          std::to_string(getpid());
  const std::string text = Text(200 * 12288);
  {
    auto rag = llmkit::RagPipeline::Create();
    if (!rag.ok()) return state.SkipWithError(std::string(rag.status().message()).c_str());
    std::vector<llmkit::RagDocument> docs;
    for (size_t i = 0; i < 200; ++i) {
      llmkit::RagDocument doc;
      doc.id = "doc" + std::to_string(i) + ".txt";
      doc.text = text.substr(i * 12288, 12288);
      docs.push_back(std::move(doc));
    }
    if (auto done = (*rag)->Ingest(docs); !done.ok())
      return state.SkipWithError(std::string(done.status().message()).c_str());
    if (auto saved = (*rag)->Save(dir); !saved.ok())
      return state.SkipWithError(std::string(saved.message()).c_str());
    state.counters["chunks"] = static_cast<double>((*rag)->Stats().chunks);
  }
  for (auto _ : state) {
    auto loaded = llmkit::RagPipeline::Load(dir);
    if (!loaded.ok()) return state.SkipWithError(std::string(loaded.status().message()).c_str());
    benchmark::DoNotOptimize(loaded);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RagLoad)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
