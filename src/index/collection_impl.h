// Collection::Impl: the documents (one slot each, tombstoned when deleted or replaced), their
// vectors, the approximate index, and the lock that lets searches run beside one writer.

#ifndef LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_
#define LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "index/ann.h"
#include "llmkit/index.h"
#include "llmkit/status.h"

namespace llmkit {

class Collection::Impl {
 public:
  explicit Impl(const CollectionOptions& options);

  const CollectionOptions options;
  mutable absl::Mutex mu;
  // One entry per slot. live[slot] is 0 for tombstones.
  std::vector<std::string> ids ABSL_GUARDED_BY(mu);
  std::vector<std::string> texts ABSL_GUARDED_BY(mu);
  std::vector<Json> metadata ABSL_GUARDED_BY(mu);
  std::vector<uint8_t> live ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, uint32_t> slot_of ABSL_GUARDED_BY(mu);  // Live ids only.
  size_t live_count ABSL_GUARDED_BY(mu) = 0;
  internal::VectorStore store ABSL_GUARDED_BY(mu);
  std::unique_ptr<internal::AnnIndex> ann ABSL_GUARDED_BY(mu);  // Null for kFlat.

  // Checks the query and returns it ready to score (normalized under cosine).
  absl::StatusOr<std::vector<float>> PrepareQuery(absl::Span<const float> query) const;
  // The k best live slots matching `filter` for a prepared query.
  absl::StatusOr<std::vector<internal::ScoredSlot>> SearchSlots(const float* query, size_t k,
                                                                const Filter& filter,
                                                                bool exact) const
      ABSL_SHARED_LOCKS_REQUIRED(mu);
  SearchHit MakeHit(const internal::ScoredSlot& scored, const SearchOptions& options) const
      ABSL_SHARED_LOCKS_REQUIRED(mu);
  // The stored (normalized, possibly float16-rounded) vector of a live document, or empty.
  std::vector<float> VectorOf(std::string_view id) const;
  // Whether the live document `id` matches `filter` (false when absent).
  bool MatchesId(std::string_view id, const Filter& filter) const;
  // Copies the text and metadata of the live document `id`; false when absent.
  bool TextAndMetadata(std::string_view id, std::string* text, Json* metadata) const;

  absl::Status Write(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                     absl::Span<const std::string> texts, absl::Span<const Json> metadatas,
                     bool upsert);
  void Tombstone(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status MaybeCompact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status NewAnn() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

namespace internal {
// Errors: kInvalidArgument naming the option.
absl::Status ValidateCollectionOptions(const CollectionOptions& options);
}  // namespace internal

}  // namespace llmkit

#endif  // LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_
