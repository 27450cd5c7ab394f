// TopK: the best (score, slot) pairs by buffered selection.

#include "common/top_k.h"

#include <algorithm>
#include <utility>

namespace llmkit::internal {

namespace {
// Better scores first; on a tie, the lower slot. (A type, not a function, so that the
// selection and the sort inline it.)
struct Better {
  bool operator()(const ScoredSlot& a, const ScoredSlot& b) const {
    return a.score > b.score || (a.score == b.score && a.slot < b.slot);
  }
};
}  // namespace

void TopK::Cut() {
  std::nth_element(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), kept_.end(),
                   Better());
  kept_.resize(k_);
  threshold_ = kept_.back().score;
}

std::vector<ScoredSlot> TopK::Sorted() && {
  if (kept_.size() > k_) Cut();
  std::sort(kept_.begin(), kept_.end(), Better());
  return std::move(kept_);
}

}  // namespace llmkit::internal
