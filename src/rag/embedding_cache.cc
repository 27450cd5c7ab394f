// CachedEmbeddingModel: the response cache (cache.h) in front of an EmbeddingModel, holding at
// most max_entries vectors, least recently used evicted first.

#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "llmkit/cache.h"
#include "llmkit/rag.h"

namespace llmkit {

class CachedEmbeddingModel::Impl {
 public:
  Impl(std::shared_ptr<EmbeddingModel> model, std::string default_model, size_t max_entries)
      : model_(std::move(model)) {
    if (max_entries == 0) return;  // Caches nothing.
    ResponseCacheOptions storage;
    storage.max_entries = max_entries;
    storage.max_bytes = std::numeric_limits<size_t>::max() / 2;  // The entry count limits.
    cache_ = ResponseCache::Create(storage).value();
    WithCacheOptions options;
    options.scope = std::move(default_model);  // Requests naming no model use it.
    options.namespace_tags.clear();            // A text's vector is the same for every caller.
    cached_ = WithCache(model_, cache_, options).value();
  }

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) {
    return cached_ != nullptr ? cached_->Embed(inputs, options, call)
                              : model_->Embed(inputs, options, call);
  }

  EmbeddingCacheStats Stats() const {
    if (cache_ == nullptr) return {};
    ResponseCacheStats s = cache_->stats();
    return {static_cast<size_t>(s.hits), static_cast<size_t>(s.misses),
            static_cast<size_t>(s.entries)};
  }

 private:
  std::shared_ptr<EmbeddingModel> model_;
  std::shared_ptr<ResponseCache> cache_;
  std::unique_ptr<EmbeddingModel> cached_;
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
