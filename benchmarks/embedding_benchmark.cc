// Parsing of /embeddings answers (floats/s): 100 inputs x 1536 dimensions as base64 float32 (the
// default) and as JSON numbers, plus the base64 decoder alone.
//
//   build/release/benchmarks/embedding_benchmark

#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "embeddings/embedding_response.h"
#include "llmkit/json.h"

namespace {

constexpr int kRows = 100;
constexpr int kDims = 1536;

std::string Base64(const void* data, size_t size) {
  return llmkit::internal::EncodeBase64(data, size);
}

// An answer shaped like OpenAI's, with the same values in both encodings.
std::string Answer(bool base64) {
  llmkit::Json data = llmkit::Json::MakeArray();
  for (int i = 0; i < kRows; ++i) {
    std::vector<float> v(kDims);
    for (int j = 0; j < kDims; ++j) v[j] = static_cast<float>(std::sin(i * 7919 + j) * 0.05);
    llmkit::Json item = llmkit::Json::MakeObject();
    item.Set("object", "embedding");
    item.Set("index", i);
    if (base64) {
      item.Set("embedding", Base64(v.data(), v.size() * sizeof(float)));
    } else {
      llmkit::Json numbers = llmkit::Json::MakeArray();
      for (float f : v) numbers.push_back(static_cast<double>(f));
      item.Set("embedding", std::move(numbers));
    }
    data.push_back(std::move(item));
  }
  llmkit::Json answer = llmkit::Json::MakeObject();
  answer.Set("object", "list");
  answer.Set("data", std::move(data));
  answer.Set("model", "text-embedding-3-small");
  return answer.Dump();
}

void BM_ParseEmbeddingResponse(benchmark::State& state) {
  const std::string body = Answer(state.range(0) == 1);
  for (auto _ : state) {
    auto parsed = llmkit::internal::ParseEmbeddingResponse(body, kRows);
    if (!parsed.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(parsed->values.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * kDims);  // floats/s
  state.SetBytesProcessed(state.iterations() * body.size());
  state.SetLabel(state.range(0) == 1 ? "base64" : "json numbers");
}
BENCHMARK(BM_ParseEmbeddingResponse)->Arg(1)->Arg(0);

void BM_DecodeBase64(benchmark::State& state) {
  std::vector<float> v(kDims * kRows, 0.25f);
  const std::string text = Base64(v.data(), v.size() * sizeof(float));
  std::vector<uint8_t> out(v.size() * sizeof(float));
  for (auto _ : state) {
    benchmark::DoNotOptimize(llmkit::internal::DecodeBase64(text, out.data(), out.size()));
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_DecodeBase64);

}  // namespace

BENCHMARK_MAIN();
