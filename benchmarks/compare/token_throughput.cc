// Encodes one file with llmkit's tokenizer and prints {"tokens", "best_seconds", "mb_per_s",
// "load_ms"} as JSON: the llmkit side of benchmarks/compare/tokenizers.
//
//   token_throughput ENCODING RANKS_DIR FILE [REPEATS] [encode|count|recursive]
// "recursive" splits with RecursiveCharacterSplitter at 512/50 sized in tokens and adds
// "chunks" (LangChain.js counts lengths in UTF-16 units for separators, tokens for lengths).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "llmkit/chunker.h"
#include "llmkit/tokenizer.h"

namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ENCODING RANKS_DIR FILE [REPEATS] [encode|count]\n", argv[0]);
    return 2;
  }
  std::ifstream file(argv[3], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", argv[3]);
    return 1;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  const std::string mode = argc > 5 ? argv[5] : "encode";

  auto spec = llmkit::BuiltinEncoding(argv[1]);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", std::string(spec.status().message()).c_str());
    return 2;
  }
  auto load_start = std::chrono::steady_clock::now();
  auto tokenizer =
      llmkit::Tokenizer::FromFile(std::string(argv[2]) + "/" + argv[1] + ".tiktoken", *spec);
  double load_ms = Since(load_start) * 1e3;
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return 1;
  }
  double best = 1e9;
  size_t tokens = 0;
  size_t chunks = 0;
  llmkit::SplitterOptions options;
  options.chunk_size = 512;
  options.chunk_overlap = 50;
  options.length_function = llmkit::TokenLength(*tokenizer);
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (mode == "recursive") {
      auto result = splitter->Split(text);
      if (!result.ok()) return 1;
      chunks = result->size();
    } else if (mode == "count") {
      auto count = (*tokenizer)->Count(text);
      if (!count.ok()) return 1;
      tokens = *count;
    } else {
      auto ids = (*tokenizer)->EncodeOrdinary(text);
      if (!ids.ok()) return 1;
      tokens = ids->size();
    }
    best = std::min(best, Since(start));
  }
  std::printf(
      "{\"tokens\": %zu, \"chunks\": %zu, \"best_seconds\": %.6f, \"mb_per_s\": %.2f, "
      "\"load_ms\": %.2f}\n",
      tokens, chunks, best, text.size() / best / 1e6, load_ms);
  return 0;
}
