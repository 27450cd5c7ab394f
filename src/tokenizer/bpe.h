// The byte-pair merge of one piece and the byte string → rank table it runs on.

#ifndef LLMKIT_SRC_TOKENIZER_BPE_H_
#define LLMKIT_SRC_TOKENIZER_BPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/tokenizer.h"

namespace llmkit::internal {

inline constexpr Token kNoRank = 0xFFFFFFFF;

// Open-addressing hash table from token bytes to rank, with the bytes of every rank for
// decoding. Immutable after Build.
class RankTable {
 public:
  // Adds a token. Returns false if `bytes` is already present. Call Finish after the last Add.
  bool Add(std::string_view bytes, Token rank);
  void Finish();

  Token Find(std::string_view bytes) const {
    uint64_t h = Hash(bytes.data(), bytes.size());
    size_t mask = slots_.size() - 1;
    uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;  // 0 marks an empty slot.
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return kNoRank;
      if (s.tag == tag && s.len == bytes.size() &&
          std::string_view(bytes_.data() + s.offset, s.len) == bytes) {
        return s.rank;
      }
    }
  }

  // The bytes of `rank`, or an empty view with ok = false.
  bool Bytes(Token rank, std::string_view* out) const {
    if (rank >= by_rank_.size() || by_rank_[rank].len == kAbsent) return false;
    *out = std::string_view(bytes_.data() + by_rank_[rank].offset, by_rank_[rank].len);
    return true;
  }

  size_t size() const { return count_; }
  Token max_rank() const { return by_rank_.empty() ? 0 : static_cast<Token>(by_rank_.size() - 1); }

  static uint64_t Hash(const char* p, size_t n);

 private:
  static constexpr uint32_t kAbsent = 0xFFFFFFFF;
  struct Slot {
    uint32_t tag = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    Token rank = 0;
  };
  struct Span {
    uint32_t offset = 0;
    uint32_t len = kAbsent;
  };
  void Insert(uint32_t offset, uint32_t len, Token rank);

  std::string bytes_;
  std::vector<Span> by_rank_;
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

// Merges `piece` (not itself a token) as tiktoken's byte_pair_merge does — repeatedly the
// adjacent pair of lowest rank, leftmost first — and calls emit(token, begin_offset_in_piece)
// for each resulting token in order.
template <typename Emit>
void BytePairMerge(const RankTable& ranks, std::string_view piece, Emit&& emit);

// Implementation detail: the part boundaries after merging (size = tokens + 1).
void MergeBoundaries(const RankTable& ranks, std::string_view piece,
                     std::vector<uint32_t>* bounds);

template <typename Emit>
void BytePairMerge(const RankTable& ranks, std::string_view piece, Emit&& emit) {
  thread_local std::vector<uint32_t> bounds;
  MergeBoundaries(ranks, piece, &bounds);
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    emit(ranks.Find(piece.substr(bounds[i], bounds[i + 1] - bounds[i])), bounds[i]);
  }
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_TOKENIZER_BPE_H_
