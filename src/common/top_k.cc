// TopK: a bounded heap of the best (score, slot) pairs.

#include "common/top_k.h"

#include <algorithm>
#include <utility>

namespace llmkit::internal {

namespace {
// The heap keeps the worst kept entry on top: lower score, or the higher slot on a tie.
bool Better(const ScoredSlot& a, const ScoredSlot& b) {
  return a.score > b.score || (a.score == b.score && a.slot < b.slot);
}
}  // namespace

void TopK::Push(float score, uint32_t slot) {
  if (k_ == 0) return;
  ScoredSlot entry{score, slot};
  if (heap_.size() < k_) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), Better);
    if (heap_.size() == k_) threshold_ = heap_.front().score;
    return;
  }
  if (!Better(entry, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), Better);
  heap_.back() = entry;
  std::push_heap(heap_.begin(), heap_.end(), Better);
  threshold_ = heap_.front().score;
}

std::vector<ScoredSlot> TopK::Sorted() && {
  std::sort_heap(heap_.begin(), heap_.end(), Better);
  return std::move(heap_);
}

}  // namespace llmkit::internal
