// WithCache for an EmbeddingModel: a vector per (scope, namespace, model, dimensions, text) in
// the response cache's backend; only the texts it lacks are sent, in one call.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cache/cache_impl.h"
#include "json/json_text.h"
#include "llmkit/cache.h"

namespace llmkit {
namespace {

using internal::CacheBackend;
using internal::Entry;

class CachedEmbeddings final : public EmbeddingModel {
 public:
  CachedEmbeddings(std::shared_ptr<EmbeddingModel> model, std::shared_ptr<CacheBackend> cache,
                   WithCacheOptions options)
      : model_(std::move(model)), cache_(std::move(cache)), options_(std::move(options)) {}

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    // The text comes last and as it is: everything before it is one JSON array, so the key
    // reads back one way only.
    std::string prefix = internal::KeyPrefix(options_, call);
    prefix += "[\"embed\",";
    internal::AppendString(options.model, false, &prefix);
    absl::StrAppend(&prefix, ",", options.dimensions.value_or(0), "]");
    std::vector<std::string> keys;
    keys.reserve(inputs.size());
    for (const std::string& input : inputs) keys.push_back(prefix + input);
    std::vector<std::shared_ptr<const Entry>> found = cache_->GetMany(keys);

    std::vector<std::string> missing;
    std::vector<size_t> missing_rows;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (found[i] == nullptr) {
        missing.push_back(inputs[i]);
        missing_rows.push_back(i);
      }
    }
    Embeddings out;
    if (!missing.empty()) {
      LLMKIT_ASSIGN_OR_RETURN(out, model_->Embed(missing, options, call));
      if (out.dimensions == 0 || out.values.size() != missing.size() * out.dimensions) {
        return absl::UnavailableError(absl::StrCat("embedding model returned ", out.values.size(),
                                                   " values for ", missing.size(), " inputs"));
      }
    } else {
      out.model = options.model.empty() ? options_.scope : options.model;
      out.requests = 0;
      out.attempts = 0;
    }
    size_t dims = missing.empty() ? 0 : out.dimensions;
    for (const auto& entry : found) {
      if (entry == nullptr) continue;
      if (dims == 0) dims = entry->vector.size();
      if (entry->vector.size() != dims) {
        return absl::UnavailableError(absl::StrCat("embedding model returned ", dims,
                                                   " dimensions; cached vectors have ",
                                                   entry->vector.size()));
      }
    }
    std::vector<float> fresh = std::move(out.values);
    out.dimensions = dims;
    out.values.assign(inputs.size() * dims, 0.0f);
    std::vector<std::shared_ptr<Entry>> made;
    made.reserve(missing_rows.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (found[i] != nullptr) {
        std::copy(found[i]->vector.begin(), found[i]->vector.end(), out.values.begin() + i * dims);
      }
    }
    for (size_t j = 0; j < missing_rows.size(); ++j) {
      const size_t i = missing_rows[j];
      auto begin = fresh.begin() + j * dims;
      std::copy(begin, begin + dims, out.values.begin() + i * dims);
      std::shared_ptr<Entry> entry =
          internal::MakeEntry(keys[i], ChatResponse{}, {}, false, cache_->Now(), TtlOf());
      entry->vector.assign(begin, begin + dims);
      entry->bytes += dims * sizeof(float);
      made.push_back(std::move(entry));
    }
    cache_->PutMany(std::move(made));
    return out;
  }

 private:
  std::chrono::nanoseconds TtlOf() const { return cache_->ttl(); }

  std::shared_ptr<EmbeddingModel> model_;
  std::shared_ptr<CacheBackend> cache_;
  const WithCacheOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithCache(std::shared_ptr<EmbeddingModel> model,
                                                          std::shared_ptr<ResponseCache> cache,
                                                          WithCacheOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("WithCache: model is null");
  auto backend = std::dynamic_pointer_cast<CacheBackend>(cache);
  if (backend == nullptr) {
    return absl::InvalidArgumentError(
        cache == nullptr ? "WithCache: cache is null"
                         : "WithCache: cache was not made by ResponseCache::Create");
  }
  return std::make_unique<CachedEmbeddings>(std::move(model), std::move(backend),
                                            std::move(options));
}

}  // namespace llmkit
