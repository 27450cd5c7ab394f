// CachedEmbeddingModel: an LRU map from (model, dimensions, SHA-256 of the text) to a vector,
// in front of any EmbeddingModel.

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "llmkit/rag.h"

namespace llmkit {

class CachedEmbeddingModel::Impl {
 public:
  Impl(std::shared_ptr<EmbeddingModel> model, std::string default_model, size_t max_entries)
      : model_(std::move(model)),
        default_model_(std::move(default_model)),
        max_entries_(max_entries) {}

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) {
    const std::string prefix = absl::StrCat(options.model.empty() ? default_model_ : options.model,
                                            "\n", options.dimensions.value_or(0), "\n");
    std::vector<std::string> keys;
    keys.reserve(inputs.size());
    for (const std::string& input : inputs) {
      keys.push_back(absl::StrCat(prefix, internal::Sha256Hex(input)));
    }

    Embeddings out;
    std::vector<const std::vector<float>*> found(inputs.size(), nullptr);
    std::vector<std::vector<float>> copies(inputs.size());
    std::vector<std::string> missing;
    std::vector<size_t> missing_rows;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto it = index_.find(keys[i]);
        if (it == index_.end()) {
          missing.push_back(inputs[i]);
          missing_rows.push_back(i);
          continue;
        }
        entries_.splice(entries_.begin(), entries_, it->second);  // Most recently used.
        copies[i] = it->second->second;
        found[i] = &copies[i];
        ++hits_;
      }
      misses_ += missing.size();
    }

    Embeddings fresh;
    if (!missing.empty()) {
      absl::StatusOr<Embeddings> embedded = model_->Embed(missing, options, call);
      if (!embedded.ok()) return embedded.status();
      fresh = *std::move(embedded);
      out = fresh;  // Model, usage, requests, attempts as the model reported them.
    } else {
      out.model = options.model.empty() ? default_model_ : options.model;
      out.requests = 0;
    }
    size_t dims = fresh.dimensions;
    for (const auto* row : found) {
      if (row != nullptr) dims = row->size();
    }
    out.dimensions = dims;
    out.values.assign(inputs.size() * dims, 0.0f);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (found[i] != nullptr) {
        if (found[i]->size() != dims) {
          return absl::UnavailableError(absl::StrCat("embedding model returned ", dims,
                                                     " dimensions; cached vectors have ",
                                                     found[i]->size()));
        }
        std::copy(found[i]->begin(), found[i]->end(), out.values.begin() + i * dims);
      }
    }
    if (!missing.empty() && fresh.dimensions != dims) {
      return absl::UnavailableError(absl::StrCat("embedding model returned ", fresh.dimensions,
                                                 " dimensions; cached vectors have ", dims));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t j = 0; j < missing_rows.size(); ++j) {
      const size_t i = missing_rows[j];
      absl::Span<const float> row = fresh.row(j);
      std::copy(row.begin(), row.end(), out.values.begin() + i * dims);
      if (max_entries_ == 0 || index_.contains(keys[i])) continue;
      entries_.emplace_front(keys[i], std::vector<float>(row.begin(), row.end()));
      index_[entries_.front().first] = entries_.begin();
      while (index_.size() > max_entries_) {
        index_.erase(entries_.back().first);
        entries_.pop_back();
      }
    }
    return out;
  }

  EmbeddingCacheStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {hits_, misses_, index_.size()};
  }

 private:
  using Entry = std::pair<std::string, std::vector<float>>;

  std::shared_ptr<EmbeddingModel> model_;
  std::string default_model_;
  size_t max_entries_;
  mutable std::mutex mu_;
  std::list<Entry> entries_;  // Most recently used first. Guarded by mu_.
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_;  // Guarded by mu_.
  size_t hits_ = 0;                                                     // Guarded by mu_.
  size_t misses_ = 0;                                                   // Guarded by mu_.
};

CachedEmbeddingModel::CachedEmbeddingModel(std::shared_ptr<EmbeddingModel> model,
                                           std::string default_model, size_t max_entries)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(default_model), max_entries)) {}

CachedEmbeddingModel::~CachedEmbeddingModel() = default;

absl::StatusOr<Embeddings> CachedEmbeddingModel::Embed(absl::Span<const std::string> inputs,
                                                       const EmbedOptions& options,
                                                       const CallContext& call) {
  return impl_->Embed(inputs, options, call);
}

EmbeddingCacheStats CachedEmbeddingModel::Stats() const { return impl_->Stats(); }

}  // namespace llmkit
