#include "tokenizer/bpe.h"

#include <cstring>
#include <queue>
#include <tuple>

namespace llmkit::internal {
namespace {

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Loads 1..8 bytes, zero-extended.
inline uint64_t LoadTail(const char* p, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

inline uint64_t Mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kSeed0 = 0xa0761d6478bd642full;
constexpr uint64_t kSeed1 = 0xe7037ed1a0b428dbull;
constexpr uint64_t kSeed2 = 0x8ebc6af09c88c6e3ull;

}  // namespace

uint64_t RankTable::Hash(const char* p, size_t n) {
  uint64_t h = kSeed0 ^ (n * kSeed2);
  while (n > 8) {
    h = Mix(h ^ Load64(p), kSeed1);
    p += 8;
    n -= 8;
  }
  if (n > 0) h = Mix(h ^ LoadTail(p, n), kSeed1);
  return Mix(h, kSeed2);
}

void RankTable::Insert(uint32_t offset, uint32_t len, Token rank) {
  uint64_t h = Hash(bytes_.data() + offset, len);
  size_t mask = slots_.size() - 1;
  uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;
  size_t i = h & mask;
  while (slots_[i].tag != 0) i = (i + 1) & mask;
  slots_[i] = Slot{tag, offset, len, rank};
}

bool RankTable::Add(std::string_view bytes, Token rank) {
  if (slots_.empty()) slots_.resize(1024);
  if (count_ > 0 && Find(bytes) != kNoRank) return false;
  if ((count_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.tag != 0) Insert(s.offset, s.len, s.rank);
    }
  }
  uint32_t offset = static_cast<uint32_t>(bytes_.size());
  bytes_.append(bytes);
  Insert(offset, static_cast<uint32_t>(bytes.size()), rank);
  if (rank >= by_rank_.size()) by_rank_.resize(static_cast<size_t>(rank) + 1);
  by_rank_[rank] = Span{offset, static_cast<uint32_t>(bytes.size())};
  ++count_;
  return true;
}

void RankTable::Finish() {
  bytes_.shrink_to_fit();
  by_rank_.shrink_to_fit();
}

namespace {

// Pieces up to this many bytes merge with tiktoken's own O(n^2) scan, longer ones with a heap.
constexpr size_t kShortPiece = 128;

// tiktoken's algorithm on a vector of parts: O(n^2), fastest for the short pieces of real text.
void MergeShort(const RankTable& ranks, std::string_view piece, std::vector<uint32_t>* bounds) {
  struct Part {
    uint32_t start;
    Token rank;  // Rank of this part merged with the next one.
  };
  Part parts[kShortPiece + 2];
  size_t n = piece.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    parts[i] = {static_cast<uint32_t>(i), ranks.Find(piece.substr(i, 2))};
  }
  parts[n - 1] = {static_cast<uint32_t>(n - 1), kNoRank};
  parts[n] = {static_cast<uint32_t>(n), kNoRank};
  size_t count = n + 1;
  auto rank_at = [&](size_t i) {
    if (i + 3 >= count) return kNoRank;
    return ranks.Find(piece.substr(parts[i].start, parts[i + 3].start - parts[i].start));
  };
  while (true) {
    Token best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
      if (parts[i].rank < best) {
        best = parts[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    if (at > 0) parts[at - 1].rank = rank_at(at - 1);
    parts[at].rank = rank_at(at);
    std::memmove(&parts[at + 1], &parts[at + 2], (count - at - 2) * sizeof(Part));
    --count;
  }
  bounds->clear();
  for (size_t i = 0; i < count; ++i) bounds->push_back(parts[i].start);
}

// The same merge order, O(n log n): a heap of (rank, start) over a linked list of parts, with
// stale entries skipped. The pair chosen is always the lowest rank, leftmost on ties, as above.
void MergeLong(const RankTable& ranks, std::string_view piece, std::vector<uint32_t>* bounds) {
  size_t n = piece.size();
  std::vector<uint32_t> next(n + 1), prev(n + 1), version(n + 1, 0);
  std::vector<bool> alive(n + 1, true);
  for (size_t i = 0; i <= n; ++i) {
    next[i] = static_cast<uint32_t>(i + 1);
    prev[i] = static_cast<uint32_t>(i == 0 ? 0 : i - 1);
  }
  // Node i starts at byte i; node n is the end sentinel.
  auto pair_rank = [&](uint32_t i) {
    if (i >= n || next[i] >= n) return kNoRank;
    uint32_t end = next[next[i]];
    return ranks.Find(piece.substr(i, end - i));
  };
  using Entry = std::tuple<Token, uint32_t, uint32_t>;  // rank, start (= node), version
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (uint32_t i = 0; i + 1 < n; ++i) {
    Token r = pair_rank(i);
    if (r != kNoRank) heap.emplace(r, i, 0);
  }
  while (!heap.empty()) {
    auto [rank, node, ver] = heap.top();
    heap.pop();
    if (!alive[node] || ver != version[node]) continue;
    uint32_t gone = next[node];
    alive[gone] = false;
    next[node] = next[gone];
    prev[next[gone]] = node;
    ++version[node];
    if (Token r = pair_rank(node); r != kNoRank) heap.emplace(r, node, version[node]);
    if (node > 0) {
      uint32_t before = prev[node];
      ++version[before];
      if (Token r = pair_rank(before); r != kNoRank) heap.emplace(r, before, version[before]);
    }
  }
  bounds->clear();
  for (uint32_t i = 0; i < n; i = next[i]) bounds->push_back(i);
  bounds->push_back(static_cast<uint32_t>(n));
}

}  // namespace

void MergeBoundaries(const RankTable& ranks, std::string_view piece,
                     std::vector<uint32_t>* bounds) {
  if (piece.size() <= kShortPiece) {
    MergeShort(ranks, piece, bounds);
  } else {
    MergeLong(ranks, piece, bounds);
  }
}

}  // namespace llmkit::internal
