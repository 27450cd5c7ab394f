// The byte-pair merge of one piece and the byte string → rank table it runs on.

#ifndef LLMKIT_SRC_TOKENIZER_BPE_H_
#define LLMKIT_SRC_TOKENIZER_BPE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
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
  // Sizes the table for `tokens` tokens of `bytes` bytes in total (avoids rehashing).
  void Reserve(size_t tokens, size_t bytes);

  Token Find(std::string_view bytes) const {
    if (bytes.size() == 2) {
      return pairs_[(static_cast<unsigned char>(bytes[0]) << 8) |
                    static_cast<unsigned char>(bytes[1])];
    }
    if (bytes.size() == 1) return singles_[static_cast<unsigned char>(bytes[0])];
    return FindInTable(bytes.data(), bytes.size());
  }

  Token FindInTable(const char* p, size_t n) const {
    uint64_t h = Hash(p, n);
    size_t mask = slots_.size() - 1;
    uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;  // 0 marks an empty slot.
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return kNoRank;
      if (s.tag == tag && s.len == n && Equal(bytes_.data() + s.offset, p, n)) return s.rank;
    }
  }

  // The bytes of `rank`, or false.
  bool Bytes(Token rank, std::string_view* out) const {
    if (rank >= by_rank_.size() || by_rank_[rank].len == kAbsent) return false;
    *out = std::string_view(bytes_.data() + by_rank_[rank].offset, by_rank_[rank].len);
    return true;
  }

  size_t size() const { return count_; }

  static uint64_t Hash(const char* p, size_t n) {
    uint64_t h = kSeed0 ^ (n * kSeed2);
    while (n > 8) {
      h = Mix(h ^ Load64(p), kSeed1);
      p += 8;
      n -= 8;
    }
    return Mix(Mix(h ^ LoadTail(p, n), kSeed1), kSeed2);
  }

 private:
  static constexpr uint32_t kAbsent = 0xFFFFFFFF;
  static constexpr uint64_t kSeed0 = 0xa0761d6478bd642full;
  static constexpr uint64_t kSeed1 = 0xe7037ed1a0b428dbull;
  static constexpr uint64_t kSeed2 = 0x8ebc6af09c88c6e3ull;

  static uint64_t Load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  // 0..8 bytes, zero-extended.
  static uint64_t LoadTail(const char* p, size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    return v;
  }
  static uint64_t Mix(uint64_t a, uint64_t b) {
    __uint128_t r = static_cast<__uint128_t>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  }
  static bool Equal(const char* a, const char* b, size_t n) {
    while (n >= 8) {
      if (Load64(a) != Load64(b)) return false;
      a += 8;
      b += 8;
      n -= 8;
    }
    return LoadTail(a, n) == LoadTail(b, n);
  }

  struct Slot {
    uint32_t tag = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    Token rank = 0;
  };
  // Zeroed slots in anonymous memory with transparent huge pages requested: the table is
  // megabytes of random access, so 2 MB pages save page faults at load and TLB misses later.
  class SlotArray {
   public:
    SlotArray() = default;
    explicit SlotArray(size_t n);
    ~SlotArray();
    SlotArray(const SlotArray&) = delete;
    SlotArray& operator=(const SlotArray&) = delete;
    void swap(SlotArray& other) {
      std::swap(data_, other.data_);
      std::swap(size_, other.size_);
    }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    Slot& operator[](size_t i) { return data_[i]; }
    const Slot& operator[](size_t i) const { return data_[i]; }
    const Slot* begin() const { return data_; }
    const Slot* end() const { return data_ + size_; }

   private:
    Slot* data_ = nullptr;
    size_t size_ = 0;
  };
  struct Span {
    uint32_t offset = 0;
    uint32_t len = kAbsent;
  };
  // Inserts bytes_[offset, offset + len); false if those bytes are already present.
  bool Insert(uint32_t offset, uint32_t len, Token rank);

  std::string bytes_;
  std::vector<Span> by_rank_;
  SlotArray slots_;
  std::vector<Token> pairs_ = std::vector<Token>(65536, kNoRank);  // Two-byte tokens.
  std::vector<Token> singles_ = std::vector<Token>(256, kNoRank);  // One-byte tokens.
  size_t count_ = 0;
};

// A part of a piece after merging: where it starts in the piece and its token.
struct Part {
  uint32_t start;
  Token token;
};

// Merges `piece` (not itself a token) as tiktoken's byte_pair_merge does — repeatedly the
// adjacent pair of lowest rank, leftmost first — into `parts`, in order.
void BytePairMerge(const RankTable& ranks, std::string_view piece, std::vector<Part>* parts);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_TOKENIZER_BPE_H_
