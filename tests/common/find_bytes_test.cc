// ForEachOccurrence / FindBytes against std::string_view::find on random texts over a small
// alphabet (so needles occur often, overlap and straddle the 16-byte steps).

#include "common/find_bytes.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::internal {
namespace {

constexpr size_t npos = std::string_view::npos;

std::string RandomText(std::mt19937& random, size_t size) {
  std::string text;
  for (size_t i = 0; i < size; ++i) text += "ab\n "[random() % 4];
  return text;
}

// Every occurrence at or after `from`, each next one searched from `step(previous)`.
template <typename Step>
std::vector<size_t> Expected(std::string_view text, std::string_view needle, size_t from,
                             Step step) {
  std::vector<size_t> found;
  for (size_t pos = text.find(needle, from); pos != npos; pos = text.find(needle, step(pos))) {
    found.push_back(pos);
  }
  return found;
}

TEST(FindBytes, MatchesStringFindOnRandomText) {
  std::mt19937 random(5);
  for (int round = 0; round < 3000; ++round) {
    std::string text = RandomText(random, random() % 80);
    std::string needle = RandomText(random, 1 + random() % 4);
    size_t from = text.empty() ? 0 : random() % (text.size() + 2);
    ASSERT_EQ(FindBytes(text, needle, from), std::string_view(text).find(needle, from))
        << "text " << text << " needle " << needle << " from " << from;
  }
}

TEST(ForEachOccurrence, VisitsOverlappingOrDisjointOccurrencesInOrder) {
  std::mt19937 random(6);
  for (int round = 0; round < 3000; ++round) {
    std::string text = RandomText(random, random() % 200);
    std::string needle = RandomText(random, 1 + random() % 3);
    size_t from = random() % 20;
    for (bool overlapping : {true, false}) {
      auto step = [&](size_t pos) { return overlapping ? pos + 1 : pos + needle.size(); };
      std::vector<size_t> visited;
      size_t stopped = ForEachOccurrence(text, needle, from, [&](size_t pos) {
        visited.push_back(pos);
        return step(pos);
      });
      ASSERT_EQ(stopped, npos);
      ASSERT_EQ(visited, Expected(text, needle, from, step))
          << "text " << text << " needle " << needle << " overlapping " << overlapping;
    }
  }
}

TEST(ForEachOccurrence, StopsWhereTheVisitSaysAndSkipsAhead) {
  std::string text(100, 'x');
  for (size_t pos : {3u, 17u, 18u, 40u, 97u}) text[pos] = '\n';
  std::vector<size_t> visited;
  // Resuming at 20 after 3 skips 17 and 18.
  size_t stopped = ForEachOccurrence(text, "\n", 0, [&](size_t pos) -> size_t {
    visited.push_back(pos);
    if (pos == 3) return 20;
    return pos == 40 ? npos : pos + 1;
  });
  EXPECT_EQ(stopped, 40u);
  EXPECT_EQ(visited, (std::vector<size_t>{3, 40}));
  EXPECT_EQ(FindBytes(text, "x\n", 90), 96u);
  EXPECT_EQ(FindBytes(text, "\nx", 98), npos);
  EXPECT_EQ(FindBytes(text, "x", 101), npos);
}

}  // namespace
}  // namespace llmkit::internal
