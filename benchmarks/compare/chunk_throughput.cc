// Splits one file with RecursiveCharacterSplitter and prints {"chunks", "best_seconds",
// "mb_per_s"} as JSON: the llmkit side of benchmarks/compare/chunkers.
//
//   chunk_throughput FILE CHUNK_SIZE CHUNK_OVERLAP [REPEATS] [--per-file DIR_LIST]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "llmkit/chunker.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s FILE CHUNK_SIZE CHUNK_OVERLAP [REPEATS]\n", argv[0]);
    return 2;
  }
  std::ifstream file(argv[1], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  llmkit::SplitterOptions options;
  options.chunk_size = std::strtoul(argv[2], nullptr, 10);
  options.chunk_overlap = std::strtoul(argv[3], nullptr, 10);
  options.length_unit = llmkit::LengthUnit::kUtf16;  // What LangChain.js counts.
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 10;
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  if (!splitter.ok()) {
    std::fprintf(stderr, "%s\n", std::string(splitter.status().message()).c_str());
    return 2;
  }
  double best = 1e9;
  size_t chunks = 0;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto result = splitter->Split(text);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", std::string(result.status().message()).c_str());
      return 1;
    }
    chunks = result->size();
    best = std::min(best, seconds);
  }
  std::printf("{\"chunks\": %zu, \"best_seconds\": %.6f, \"mb_per_s\": %.1f}\n", chunks, best,
              text.size() / best / 1e6);
  return 0;
}
