// An EmbeddingModel for the semantic cache's index tests and benchmark: "question N" is a fixed
// random unit vector of 384 dimensions (seeded by N), and a text that also holds "again" is that
// vector slightly moved (cosine about 0.98), so that it finds question N and nothing else.

#ifndef LLMKIT_TESTS_CACHE_PREPARED_EMBEDDER_H_
#define LLMKIT_TESTS_CACHE_PREPARED_EMBEDDER_H_

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "llmkit/embeddings.h"

namespace llmkit::testing {

class PreparedEmbedder : public EmbeddingModel {
 public:
  static constexpr int kDim = 384;

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs, const EmbedOptions&,
                                   const CallContext&) override {
    Embeddings out;
    out.dimensions = kDim;
    for (const std::string& text : inputs) {
      const size_t at = text.find("question ");
      const unsigned n =
          at == std::string::npos ? 0u : static_cast<unsigned>(std::atoi(text.c_str() + at + 9));
      std::mt19937 rng(n);
      std::normal_distribution<float> normal;
      std::vector<float> v(kDim);
      for (float& x : v) x = normal(rng);
      if (text.find("again") != std::string::npos) {
        std::mt19937 noise(0x5eed1234u);  // Not a question number.
        std::normal_distribution<float> small(0.0f, 0.2f);
        for (float& x : v) x += small(noise);
      }
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      for (float x : v) out.values.push_back(static_cast<float>(x / std::sqrt(norm)));
    }
    return out;
  }
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_CACHE_PREPARED_EMBEDDER_H_
