// The k best scored slots of a scan: the selection every exact search (vectors, BM25) shares.

#ifndef LLMKIT_SRC_COMMON_TOP_K_H_
#define LLMKIT_SRC_COMMON_TOP_K_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace llmkit::internal {

struct ScoredSlot {
  float score;  // Higher is closer (dot product, or negated squared L2).
  uint32_t slot;
};

// Keeps the k best (score, slot) pairs; ties go to the lower slot. Candidates are collected
// in a buffer of up to 2k and cut back to the k best with a selection (nth_element) when it
// fills: a scan costs O(n) plus the final sort of k, where a heap cost O(n log k) once k is
// large (the RAG pipeline asks for the top 1,000 documents).
class TopK {
 public:
  explicit TopK(size_t k) : k_(k), threshold_(-std::numeric_limits<float>::infinity()) {
    kept_.reserve(std::min(2 * k, kReserveAtMost));
  }
  // A score below this cannot enter (lowest float until k were kept). Candidates at or above
  // it may still lose to the kept ones: Push settles that.
  float threshold() const { return threshold_; }
  void Push(float score, uint32_t slot) {
    if (k_ == 0) return;
    kept_.push_back({score, slot});
    if (kept_.size() / 2 >= k_) Cut();  // 2k candidates.
  }
  std::vector<ScoredSlot> Sorted() &&;  // Best first.

 private:
  // A huge k (a caller asking for every document) grows the buffer as candidates come.
  static constexpr size_t kReserveAtMost = 1 << 16;
  void Cut();  // Keeps the k best of kept_; the threshold becomes the worst of them.

  size_t k_;
  float threshold_;
  std::vector<ScoredSlot> kept_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_TOP_K_H_
