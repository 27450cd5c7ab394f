// Collection::Impl: the documents (one slot each, tombstoned when deleted or replaced), their
// vectors, the approximate index, and the lock that lets searches run beside one writer.

#ifndef LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_
#define LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/shared_bytes.h"
#include "index/ann.h"
#include "index/columns.h"
#include "llmkit/index.h"
#include "llmkit/status.h"

namespace llmkit {

class Collection::Impl {
 public:
  explicit Impl(const CollectionOptions& options);

  const CollectionOptions options;
  mutable std::shared_mutex mu;  // Guards everything below: shared for reads, unique for writes.
  // One entry per slot. live[slot] is 0 for tombstones. A loaded collection reads ids, texts,
  // metadata and vectors in place from its mapped files (columns.h, VectorStore).
  internal::TextColumn ids;
  internal::TextColumn texts;
  internal::MetadataColumn metadata;
  std::vector<uint8_t> live;
  // Live ids only; the keys view the ids column, whose strings never move.
  absl::flat_hash_map<absl::string_view, uint32_t> slot_of;
  size_t live_count = 0;
  internal::VectorStore store;
  std::unique_ptr<internal::AnnIndex> ann;  // Null for kFlat.
  // A loaded collection's checksums and metadata, verified on other threads while it is used
  // (empty when there is nothing to verify). Every read that returns documents, and
  // every write, waits for it first, so a damaged file never yields a result.
  std::vector<std::unique_ptr<internal::BackgroundCheck>> verification;
  // SavedState(): the digest of the MANIFEST last loaded or saved.
  mutable std::mutex saved_mu;
  mutable std::string saved_state;

  // The verification's result (OK when there is none); waits for it.
  absl::Status Verified() const;

  // Checks the query and returns it ready to score (normalized under cosine).
  absl::StatusOr<std::vector<float>> PrepareQuery(absl::Span<const float> query) const;
  // The live slots a filter lets through: `allowed` is null when that is every slot.
  struct Selection {
    std::vector<uint8_t> mask;
    const uint8_t* allowed = nullptr;  // mask, live, or null.
    size_t matches = 0;
  };
  // Evaluates `filter` over every live document's metadata (once per search or batch).
  Selection Select(const Filter& filter) const;
  // The k best slots of `selection` for a prepared query.
  absl::StatusOr<std::vector<internal::ScoredSlot>> SearchSlots(const float* query, size_t k,
                                                                const Selection& selection,
                                                                const SearchOptions& search) const;
  SearchHit MakeHit(const internal::ScoredSlot& scored, const SearchOptions& search) const;
  // The stored (normalized, possibly float16-rounded) vector of a live document, or empty.
  std::vector<float> VectorOf(std::string_view id) const;
  // Whether the live document `id` matches `filter` (false when absent).
  bool MatchesId(std::string_view id, const Filter& filter) const;
  // Copies the text and metadata of the live document `id`; false when absent.
  bool TextAndMetadata(std::string_view id, std::string* text, Json* metadata) const;

  absl::Status Write(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                     absl::Span<const std::string> texts, absl::Span<const Json> metadatas,
                     bool upsert);
  void Tombstone(uint32_t slot);
  absl::Status MaybeCompact();
  absl::Status CompactLocked();
  absl::Status NewAnn();
};

namespace internal {
// Errors: kInvalidArgument naming the option.
absl::Status ValidateCollectionOptions(const CollectionOptions& options);
}  // namespace internal

}  // namespace llmkit

#endif  // LLMKIT_SRC_INDEX_COLLECTION_IMPL_H_
