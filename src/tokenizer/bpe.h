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

#include "absl/container/flat_hash_map.h"
#include "llmkit/tokenizer.h"

namespace llmkit::internal {

inline constexpr Token kNoRank = 0xFFFFFFFF;

// Open-addressing hash table from token bytes to rank, with the bytes of every rank for
// decoding. Immutable after Build.
class RankTable {
 public:
  // Adds a token. Returns false if `bytes` is already present. REQUIRES: rank < kMaxRank. Call
  // Finish after the last Add.
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
    uint64_t head = LoadTail(p, n < 8 ? n : 8);
    uint32_t length = n < kLongToken ? static_cast<uint32_t>(n) : kLongToken;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.rank_length == 0) return kNoRank;
      if (s.head != head || (s.rank_length & 0xFF) != length) continue;
      Token rank = s.rank_length >> 8;
      if (n <= 8) return rank;  // The head holds all the bytes.
      if (length == kLongToken && by_rank_[rank].len != n) continue;
      if (Equal(bytes_.data() + s.offset + 8, p + 8, n - 8)) return rank;
    }
  }

  // The bytes of `rank`, or false.
  bool Bytes(Token rank, std::string_view* out) const {
    if (rank >= by_rank_.size() || by_rank_[rank].len == kAbsent) return false;
    *out = std::string_view(bytes_.data() + by_rank_[rank].offset, by_rank_[rank].len);
    return true;
  }

  size_t size() const { return count_; }

  // Ranks are below this (Add refuses others).
  static constexpr Token kMaxRank = 1u << 24;

  // Tells this table from every other one in the process (set by Finish), so that per-thread
  // caches never serve one table's merges for another's.
  uint64_t id() const { return id_; }

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

  // Tokens of this many bytes or more keep this in their slot's length byte (their real length
  // is in by_rank_).
  static constexpr uint32_t kLongToken = 0xFF;
  // A token's first 8 bytes (zero-extended) are kept in its slot, so that the tokens of up to 8
  // bytes, most of them, are found without reading bytes_.
  struct Slot {
    uint64_t head = 0;
    uint32_t offset = 0;       // Of the token's bytes in bytes_.
    uint32_t rank_length = 0;  // rank << 8 | min(length, kLongToken); 0 marks an empty slot.
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
  uint64_t id_ = 0;
};

// A part of a piece after merging: where it starts in the piece and its token.
struct Part {
  uint32_t start;
  Token token;
  bool operator==(const Part&) const = default;
};

// Merges `piece` (not itself a token) as tiktoken's byte_pair_merge does — repeatedly the
// adjacent pair of lowest rank, leftmost first — into `parts`, in order.
void BytePairMerge(const RankTable& ranks, std::string_view piece, std::vector<Part>* parts);

// The merged parts of recently seen pieces, for one thread. Words and table borders repeat: a
// merge costs a table lookup per merged pair (and a scan of the parts per merge), a remembered
// piece one probe. Short pieces (up to kMaxPiece bytes, kMaxParts parts) live in a fixed
// direct-mapped table, longer ones up to kMaxLongPiece bytes in a map that is emptied when it
// holds kMaxLongBytes. Entries hold the piece's bytes, so a hit is exact. Not thread-safe: use
// one per thread.
class MergeCache {
 public:
  static constexpr size_t kMaxPiece = 32;
  static constexpr size_t kMaxParts = 16;
  static constexpr size_t kMaxLongPiece = 1024;
  static constexpr size_t kMaxLongBytes = 1 << 20;

  struct Entry {
    uint64_t table = 0;  // RankTable::id(); 0 marks an empty entry.
    uint8_t length = 0;
    uint8_t count = 0;
    uint8_t starts[kMaxParts];
    char bytes[kMaxPiece];
    Token tokens[kMaxParts];
  };

  // The entry for `piece` merged with `ranks`, merging (with `scratch`) and remembering it on a
  // miss; nullptr if the piece is too long or has too many parts to remember (then `scratch`
  // holds the parts).
  const Entry* Merge(const RankTable& ranks, std::string_view piece, std::vector<Part>* scratch);

  // The parts of a piece longer than kMaxPiece merged with `ranks`: remembered ones, or merged
  // now into `scratch` (and remembered when at most kMaxLongPiece bytes).
  const std::vector<Part>& MergeLong(const RankTable& ranks, std::string_view piece,
                                     std::vector<Part>* scratch);

 private:
  static constexpr size_t kEntries = 8192;
  std::vector<Entry> entries_;
  uint64_t long_table_ = 0;  // The RankTable::id() the long entries were merged with.
  size_t long_bytes_ = 0;
  absl::flat_hash_map<std::string, std::vector<Part>> long_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_TOKENIZER_BPE_H_
