#include "tokenizer/bpe.h"

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <new>
#include <queue>
#include <tuple>

#include "common/absl_compat.h"

namespace llmkit::internal {

RankTable::SlotArray::SlotArray(size_t n) : size_(n) {
  size_t bytes = n * sizeof(Slot);
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  madvise(memory, bytes, MADV_HUGEPAGE);  // Advice only; fine if refused.
  data_ = static_cast<Slot*>(memory);
}

RankTable::SlotArray::~SlotArray() {
  if (data_ != nullptr) munmap(data_, size_ * sizeof(Slot));
}

bool RankTable::Insert(uint32_t offset, uint32_t len, Token rank) {
  const char* p = bytes_.data() + offset;
  if (FindInTable(p, len) != kNoRank) return false;
  size_t mask = slots_.size() - 1;
  size_t i = Hash(p, len) & mask;
  while (slots_[i].rank_length != 0) i = (i + 1) & mask;
  slots_[i] = Slot{LoadTail(p, len < 8 ? len : 8), offset,
                   rank << 8 | (len < kLongToken ? len : kLongToken)};
  return true;
}

bool RankTable::Add(std::string_view bytes, Token rank) {
  if (slots_.empty()) SlotArray(1024).swap(slots_);
  if ((count_ + 1) * 2 > slots_.size()) {
    SlotArray old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.rank_length == 0) continue;
      Token r = s.rank_length >> 8;
      Insert(s.offset, by_rank_[r].len, r);
    }
  }
  uint32_t offset = static_cast<uint32_t>(bytes_.size());
  bytes_.append(bytes);
  if (rank >= by_rank_.size()) by_rank_.resize(static_cast<size_t>(rank) + 1);
  if (by_rank_[rank].len != kAbsent || !Insert(offset, static_cast<uint32_t>(bytes.size()), rank)) {
    bytes_.resize(offset);
    return false;
  }
  by_rank_[rank] = Span{offset, static_cast<uint32_t>(bytes.size())};
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() == 1) singles_[b[0]] = rank;
  if (bytes.size() == 2) pairs_[(b[0] << 8) | b[1]] = rank;
  ++count_;
  return true;
}

void RankTable::Reserve(size_t tokens, size_t bytes) {
  if (count_ != 0) return;
  size_t slots = 1024;
  while (slots < tokens * 2) slots *= 2;
  SlotArray(slots).swap(slots_);
  bytes_.reserve(bytes);
  by_rank_.reserve(tokens);
}

void RankTable::Finish() {
  bytes_.shrink_to_fit();
  by_rank_.shrink_to_fit();
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// Pieces up to this many bytes merge with tiktoken's own O(n^2) scan, longer ones with a heap.
constexpr size_t kShortPiece = 128;

// tiktoken's algorithm on an array of parts: O(n^2), fastest for the short pieces of real text.
void MergeShort(const RankTable& ranks, std::string_view piece, std::vector<Part>* out) {
  struct Node {
    uint32_t start;
    Token token;      // Token of this part.
    Token pair_rank;  // Rank of this part merged with the next one.
  };
  Node parts[kShortPiece + 1];
  size_t n = piece.size();
  for (size_t i = 0; i < n; ++i) {
    parts[i].start = static_cast<uint32_t>(i);
    parts[i].token = ranks.Find(piece.substr(i, 1));
    parts[i].pair_rank = i + 1 < n ? ranks.Find(piece.substr(i, 2)) : kNoRank;
  }
  parts[n] = {static_cast<uint32_t>(n), kNoRank, kNoRank};
  size_t count = n + 1;  // Parts plus the end marker.
  // The rank of parts i and i+1 merged with part i+2 (after the merge removes i+1).
  auto rank_at = [&](size_t i) {
    if (i + 3 >= count) return kNoRank;
    return ranks.Find(piece.substr(parts[i].start, parts[i + 3].start - parts[i].start));
  };
  while (true) {
    Token best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
      if (parts[i].pair_rank < best) {
        best = parts[i].pair_rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    if (at > 0) parts[at - 1].pair_rank = rank_at(at - 1);
    parts[at].pair_rank = rank_at(at);
    parts[at].token = best;
    std::memmove(&parts[at + 1], &parts[at + 2], (count - at - 2) * sizeof(Node));
    --count;
  }
  out->clear();
  for (size_t i = 0; i + 1 < count; ++i) out->push_back(Part{parts[i].start, parts[i].token});
}

// The same merge order, O(n log n): a heap of (rank, start) over a linked list of parts, with
// stale entries skipped. The pair chosen is always the lowest rank, leftmost on ties, as above.
void MergeLong(const RankTable& ranks, std::string_view piece, std::vector<Part>* out) {
  size_t n = piece.size();
  std::vector<uint32_t> next(n + 1), prev(n + 1), version(n + 1, 0);
  std::vector<Token> token(n);
  std::vector<bool> alive(n + 1, true);
  for (size_t i = 0; i <= n; ++i) {
    next[i] = static_cast<uint32_t>(i + 1);
    prev[i] = static_cast<uint32_t>(i == 0 ? 0 : i - 1);
    if (i < n) token[i] = ranks.Find(piece.substr(i, 1));
  }
  // Node i starts at byte i; node n is the end marker.
  auto pair_rank = [&](uint32_t i) {
    if (i >= n || next[i] >= n) return kNoRank;
    return ranks.Find(piece.substr(i, next[next[i]] - i));
  };
  using Entry = std::tuple<Token, uint32_t, uint32_t>;  // rank, start (= node), version
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (uint32_t i = 0; i + 1 < n; ++i) {
    if (Token r = pair_rank(i); r != kNoRank) heap.emplace(r, i, 0);
  }
  while (!heap.empty()) {
    auto [rank, node, ver] = heap.top();
    heap.pop();
    if (!alive[node] || ver != version[node]) continue;
    uint32_t gone = next[node];
    alive[gone] = false;
    next[node] = next[gone];
    prev[next[gone]] = node;
    token[node] = rank;
    ++version[node];
    if (Token r = pair_rank(node); r != kNoRank) heap.emplace(r, node, version[node]);
    if (node > 0) {
      uint32_t before = prev[node];
      ++version[before];
      if (Token r = pair_rank(before); r != kNoRank) heap.emplace(r, before, version[before]);
    }
  }
  out->clear();
  for (uint32_t i = 0; i < n; i = next[i]) out->push_back(Part{i, token[i]});
}

}  // namespace

void BytePairMerge(const RankTable& ranks, std::string_view piece, std::vector<Part>* parts) {
  if (piece.size() <= kShortPiece) {
    MergeShort(ranks, piece, parts);
  } else {
    MergeLong(ranks, piece, parts);
  }
}

const MergeCache::Entry* MergeCache::Merge(const RankTable& ranks, std::string_view piece,
                                           std::vector<Part>* scratch) {
  if (entries_.empty()) entries_.resize(kEntries);
  Entry& entry = entries_[RankTable::Hash(piece.data(), piece.size()) & (kEntries - 1)];
  if (entry.table == ranks.id() && entry.length == piece.size() &&
      std::memcmp(entry.bytes, piece.data(), piece.size()) == 0) {
    return &entry;
  }
  BytePairMerge(ranks, piece, scratch);
  if (scratch->size() > kMaxParts) return nullptr;
  entry.table = ranks.id();
  entry.length = static_cast<uint8_t>(piece.size());
  entry.count = static_cast<uint8_t>(scratch->size());
  std::memcpy(entry.bytes, piece.data(), piece.size());
  for (size_t i = 0; i < scratch->size(); ++i) {
    entry.starts[i] = static_cast<uint8_t>((*scratch)[i].start);
    entry.tokens[i] = (*scratch)[i].token;
  }
  return &entry;
}

const std::vector<Part>& MergeCache::MergeLong(const RankTable& ranks, std::string_view piece,
                                               std::vector<Part>* scratch) {
  if (piece.size() > kMaxLongPiece) {
    BytePairMerge(ranks, piece, scratch);
    return *scratch;
  }
  if (long_table_ != ranks.id() || long_bytes_ > kMaxLongBytes) {
    long_.clear();
    long_table_ = ranks.id();
    long_bytes_ = 0;
  }
  auto found = long_.find(ToAbsl(piece));
  if (found != long_.end()) return found->second;
  BytePairMerge(ranks, piece, scratch);
  long_bytes_ += piece.size() + scratch->size() * sizeof(Part) + 64;
  return long_.emplace(std::string(piece), *scratch).first->second;
}

}  // namespace llmkit::internal
