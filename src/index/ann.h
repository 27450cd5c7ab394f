// The collection's vector storage, the exact scan over it, and the approximate indexes (FAISS
// HNSW and IVF) that answer from it. Every FAISS call is wrapped here: FAISS exceptions become
// kInternal statuses and never leave this file's implementation.

#ifndef LLMKIT_SRC_INDEX_ANN_H_
#define LLMKIT_SRC_INDEX_ANN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/byte_io.h"
#include "common/shared_bytes.h"
#include "common/top_k.h"
#include "index/distance.h"
#include "llmkit/index.h"

namespace llmkit::internal {

// Row-major vectors, one row per collection slot, float32 or float16.
class VectorStore {
 public:
  VectorStore(size_t dim, bool float16, bool l2);

  size_t dim() const { return dim_; }
  size_t rows() const { return rows_; }
  bool float16() const { return float16_; }
  bool l2() const { return l2_; }
  const void* data() const;
  // Null for float16.
  const float* float32_data() const {
    return float16_ ? nullptr : static_cast<const float*>(data());
  }
  size_t bytes() const { return rows_ * dim_ * (float16_ ? 2 : 4); }
  bool mapped() const { return mapped_ != nullptr; }

  // The writes below copy mapped rows into memory first (once).
  void Append(const float* rows, size_t n);
  void Reserve(size_t rows);
  // Keeps the rows whose keep[i] is nonzero, in order.
  void Compact(const std::vector<uint8_t>& keep);
  void Row(size_t row, float* out) const;  // Decoded to float32.
  // Raw bytes for persistence; Assign checks the size.
  std::string_view RawBytes() const;
  bool AssignRaw(std::string_view bytes, size_t rows);
  // Reads the rows in place from `bytes` (a view into `owner`, aligned to the element size):
  // nothing is copied until the first write. False when the size or alignment is wrong.
  bool AssignMapped(std::shared_ptr<const SharedBytes> owner, std::string_view bytes, size_t rows);

  ScoreRowsFn score_rows() const { return score_rows_; }
  float Score(const float* query, size_t row) const;

 private:
  size_t dim_;
  bool float16_;
  bool l2_;
  size_t rows_ = 0;
  std::vector<float> f32_;
  std::vector<uint16_t> f16_;
  std::shared_ptr<const SharedBytes> mapped_;  // Set while the rows are read in place.
  const char* mapped_data_ = nullptr;
  ScoreRowsFn score_rows_;

  void Materialize();
};

// Exact search of one query over the store. `allowed` (one byte per slot) restricts the scan
// when not null.
std::vector<ScoredSlot> ExactSearch(const VectorStore& store, const float* query, size_t k,
                                    const uint8_t* allowed);
// Exact search of m queries over every row through BLAS, in blocks.
std::vector<std::vector<ScoredSlot>> ExactSearchBatch(const VectorStore& store,
                                                      const float* queries, size_t m, size_t k);

// An approximate index over the store's rows. The store outlives it; rows are appended to the
// store first, then announced with Added.
class AnnIndex {
 public:
  virtual ~AnnIndex() = default;
  // Rows [first, first + n) were appended to the store.
  virtual absl::Status Added(size_t first, size_t n) = 0;
  // False while the index cannot answer (IVF before training): search exactly instead.
  virtual bool ready() const = 0;
  // Up to k best rows among `allowed` (one byte per slot, or null for all). `effort` is the
  // HNSW beam width or the IVF probe count for this call (0: the index's setting).
  virtual absl::StatusOr<std::vector<ScoredSlot>> Search(const float* query, size_t k,
                                                         const uint8_t* allowed,
                                                         int effort = 0) const = 0;
  virtual size_t bytes() const = 0;
  virtual std::string Serialize() const = 0;
  // Sets the default HNSW beam width / IVF probe count. REQUIRES: no concurrent search.
  virtual void SetEffort(int effort) = 0;
};

// HNSW (faiss::HNSW) reading vectors from `store` with llmkit's SIMD distance computer.
absl::StatusOr<std::unique_ptr<AnnIndex>> NewHnswIndex(const VectorStore* store,
                                                       const CollectionOptions& options);
// IVF-Flat (faiss::IndexIVFFlat); trains once the store holds `train_size` rows.
absl::StatusOr<std::unique_ptr<AnnIndex>> NewIvfIndex(const VectorStore* store,
                                                      const CollectionOptions& options);
// Restores an index written by Serialize over a store already holding its rows. Errors:
// kDataLoss (malformed, or inconsistent with the store).
absl::StatusOr<std::unique_ptr<AnnIndex>> LoadAnnIndex(const VectorStore* store,
                                                       const CollectionOptions& options,
                                                       std::string_view bytes);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_INDEX_ANN_H_
