// The built-in local embedder: hashed lexical features (words, word pairs, character n-grams)
// projected to a fixed dimension with random signs, damped counts, L2-normalized.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "llmkit/bm25.h"
#include "llmkit/rag.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

// 64-bit FNV-1a over the feature's kind tag and bytes: stable across machines and versions
// (absl::Hash is seeded per process, so it cannot be used for persisted vectors).
uint64_t Fnv1a(char kind, std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ull;
  };
  mix(static_cast<unsigned char>(kind));
  for (char c : bytes) mix(static_cast<unsigned char>(c));
  // FNV's low bits are weak for short inputs; finish with a 64-bit mixer (splitmix64's).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

class LocalEmbeddingModel : public EmbeddingModel {
 public:
  explicit LocalEmbeddingModel(const LocalEmbedderOptions& options)
      : options_(options),
        name_(LocalEmbedderName(options)),
        analyzer_(Bm25Index::Create().value()) {}  // The defaults are valid.

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    if (options.dimensions && *options.dimensions != options_.dimensions) {
      return absl::InvalidArgumentError(absl::StrCat("the local embedder has ", options_.dimensions,
                                                     " dimensions, not ", *options.dimensions));
    }
    Embeddings out;
    out.dimensions = options_.dimensions;
    out.model = name_;
    out.requests = 0;
    out.values.assign(inputs.size() * out.dimensions, 0.0f);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if ((i & 63) == 0) {
        LLMKIT_RETURN_IF_ERROR(call.Check("local embedding"));
      }
      EmbedOne(inputs[i], &out.values[i * out.dimensions]);
    }
    return out;
  }

 private:
  void EmbedOne(std::string_view text, float* row) const {
    absl::flat_hash_map<uint64_t, float> counts;
    const std::vector<std::string> words = analyzer_->Analyze(text);
    for (size_t i = 0; i < words.size(); ++i) {
      counts[Fnv1a('w', words[i])] += 1.0f;
      if (options_.word_pairs && i + 1 < words.size()) {
        counts[Fnv1a('p', absl::StrCat(words[i], " ", words[i + 1]))] += 0.5f;
      }
      if (options_.char_ngram_min > 0) {
        const std::string marked = absl::StrCat("<", words[i], ">");
        for (int n = options_.char_ngram_min; n <= options_.char_ngram_max; ++n) {
          for (size_t start = 0; start + n <= marked.size(); ++start) {
            // Whole-word n-grams duplicate the word feature.
            if (start == 0 && static_cast<size_t>(n) == marked.size()) continue;
            counts[Fnv1a('c', std::string_view(marked).substr(start, n))] += 0.5f;
          }
        }
      }
    }
    const size_t dims = options_.dimensions;
    for (const auto& [hash, count] : counts) {
      const float weight = std::log1p(count);
      const float sign = (hash >> 63) != 0 ? -1.0f : 1.0f;
      row[hash % dims] += sign * weight;
    }
    double norm = 0;
    for (size_t d = 0; d < dims; ++d) norm += double{row[d]} * row[d];
    if (norm == 0) {
      // No word at all (punctuation only): a fixed direction, so the vector is still valid
      // under cosine and such texts resemble each other.
      row[0] = 1.0f;
      return;
    }
    const float scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (size_t d = 0; d < dims; ++d) row[d] *= scale;
  }

  LocalEmbedderOptions options_;
  std::string name_;
  // Only Analyze is used: the default English analysis.
  std::unique_ptr<const Bm25Index> analyzer_;
};

}  // namespace

std::string LocalEmbedderName(const LocalEmbedderOptions& options) {
  return absl::StrCat("llmkit-lexical-v1-d", options.dimensions, "-c", options.char_ngram_min, "-",
                      options.char_ngram_max, "-p", options.word_pairs ? 1 : 0);
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> NewLocalEmbeddingModel(
    const LocalEmbedderOptions& options) {
  if (options.dimensions < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("local embedder: dimensions must be >= 8, got ", options.dimensions));
  }
  if (options.char_ngram_min < 0 || options.char_ngram_max < options.char_ngram_min ||
      (options.char_ngram_min == 0 && options.char_ngram_max != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "local embedder: character n-gram range must be 0-0 (off) or 1 <= min <= max, got ",
        options.char_ngram_min, "-", options.char_ngram_max));
  }
  return std::make_unique<LocalEmbeddingModel>(options);
}

}  // namespace llmkit
