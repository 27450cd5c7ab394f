// TopK (src/common/top_k.h): the k best (score, slot) pairs, ties to the lower slot, the same as
// sorting every candidate, for any k, any push order and many equal scores; and the threshold
// never passes a score that could still enter.

#include "common/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace llmkit::internal {
namespace {

std::vector<ScoredSlot> BySorting(std::vector<ScoredSlot> all, size_t k) {
  std::sort(all.begin(), all.end(), [](const ScoredSlot& a, const ScoredSlot& b) {
    return a.score > b.score || (a.score == b.score && a.slot < b.slot);
  });
  all.resize(std::min(k, all.size()));
  return all;
}

TEST(TopK, EqualsSortingEveryCandidate) {
  std::mt19937 random(11);
  for (size_t n : {0, 1, 2, 5, 100, 1001, 5183}) {
    for (size_t k : {0, 1, 3, 10, 100, 1000, 6000}) {
      for (bool shuffled : {false, true}) {
        std::vector<ScoredSlot> all;
        for (uint32_t slot = 0; slot < n; ++slot) {
          // Few distinct scores: ties everywhere, and at the cut.
          all.push_back({static_cast<float>(random() % 50) / 8.0f, slot});
        }
        if (shuffled) std::shuffle(all.begin(), all.end(), random);
        const std::vector<ScoredSlot> want = BySorting(all, k);
        TopK top(k);
        for (const ScoredSlot& c : all) {
          top.Push(c.score, c.slot);
          // A lower bound of the k-th best score: it never excludes one that could enter.
          if (want.size() == k && k > 0) {
            ASSERT_LE(top.threshold(), want.back().score);
          }
        }
        std::vector<ScoredSlot> got = std::move(top).Sorted();
        ASSERT_EQ(got.size(), want.size()) << n << " " << k;
        for (size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].slot, want[i].slot) << n << " " << k << " " << i;
          EXPECT_EQ(got[i].score, want[i].score);
        }
      }
    }
  }
}

}  // namespace
}  // namespace llmkit::internal
