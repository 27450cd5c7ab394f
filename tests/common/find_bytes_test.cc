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

// As RandomText, with two- and four-byte sequences mixed in.
std::string RandomUtf8(std::mt19937& random, size_t pieces) {
  const char* alphabet[] = {"a", "b", "\n", " ", "\xc3\xa9", "\xf0\x9f\x98\x80", "\n\n"};
  std::string text;
  for (size_t i = 0; i < pieces; ++i) text += alphabet[random() % std::size(alphabet)];
  return text;
}

size_t Continuation(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) == 0x80;
  return count;
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
      size_t stopped = ForEachOccurrence(text, needle, from, [&](size_t pos, size_t) {
        visited.push_back(pos);
        return step(pos);
      });
      ASSERT_EQ(stopped, npos);
      ASSERT_EQ(visited, Expected(text, needle, from, step))
          << "text " << text << " needle " << needle << " overlapping " << overlapping;
    }
  }
}

// The counting sweep: each visit gets the continuation bytes before it, and the total comes out;
// long texts cross the 254-step folds of the vector counts.
TEST(ForEachOccurrence, CountsContinuationBytesBeforeEachOccurrence) {
  std::mt19937 random(7);
  for (int round = 0; round < 600; ++round) {
    std::string text = RandomUtf8(random, round < 500 ? random() % 120 : 3000 + random() % 3000);
    std::string needle = round % 3 == 0 ? "\n" : round % 3 == 1 ? "\n\n" : "a\xc3\xa9";
    size_t from = random() % 20;
    bool overlapping = round % 2 == 0;
    auto step = [&](size_t pos) { return overlapping ? pos + 1 : pos + needle.size(); };
    std::vector<size_t> visited;
    size_t total = 12345;
    ForEachOccurrence<true>(
        text, needle, from,
        [&](size_t pos, size_t continuation) {
          visited.push_back(pos);
          EXPECT_EQ(continuation, Continuation(std::string_view(text).substr(from, pos - from)))
              << "round " << round << " at " << pos;
          return step(pos);
        },
        &total);
    ASSERT_EQ(visited, Expected(text, needle, from, step)) << "round " << round;
    ASSERT_EQ(total, from > text.size() ? 12345 : Continuation(std::string_view(text).substr(from)))
        << "round " << round;
  }
}

TEST(ForEachOccurrence, StopsWhereTheVisitSaysAndSkipsAhead) {
  std::string text(100, 'x');
  for (size_t pos : {3u, 17u, 18u, 40u, 97u}) text[pos] = '\n';
  std::vector<size_t> visited;
  // Resuming at 20 after 3 skips 17 and 18.
  size_t stopped = ForEachOccurrence(text, "\n", 0, [&](size_t pos, size_t) -> size_t {
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
