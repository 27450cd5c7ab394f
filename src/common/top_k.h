// The k best scored slots of a scan: the selection every exact search (vectors, BM25) shares.

#ifndef LLMKIT_SRC_COMMON_TOP_K_H_
#define LLMKIT_SRC_COMMON_TOP_K_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace llmkit::internal {

struct ScoredSlot {
  float score;  // Higher is closer (dot product, or negated squared L2).
  uint32_t slot;
};

// Keeps the k best (score, slot) pairs; ties go to the lower slot.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k), threshold_(-std::numeric_limits<float>::infinity()) {
    heap_.reserve(k);
  }
  // The score a candidate must beat to enter (lowest float while not full).
  float threshold() const { return threshold_; }
  void Push(float score, uint32_t slot);
  std::vector<ScoredSlot> Sorted() &&;  // Best first.

 private:
  size_t k_;
  float threshold_;
  std::vector<ScoredSlot> heap_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_TOP_K_H_
