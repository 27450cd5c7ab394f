// Bm25Index's state, shared by the index (bm25.cc) and its snapshots (bm25_snapshot.cc).

#ifndef LLMKIT_SRC_BM25_BM25_IMPL_H_
#define LLMKIT_SRC_BM25_BM25_IMPL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "common/shared_bytes.h"
#include "common/string_section.h"
#include "llmkit/bm25.h"
#include "unicode/py_text.h"
#include "unicode/unicode_classes.h"
#include "unicode/utf8.h"

namespace llmkit {
namespace internal {

// Lucene's EnglishAnalyzer stop set.
constexpr std::string_view kStopWords[] = {
    "a",   "an",    "and",  "are",   "as",    "at",   "be",   "but", "by",  "for",  "if",
    "in",  "into",  "is",   "it",    "no",    "not",  "of",   "on",  "or",  "such", "that",
    "the", "their", "then", "there", "these", "they", "this", "to",  "was", "will", "with"};

inline bool IsStopWord(std::string_view word) {
  for (std::string_view stop : kStopWords) {
    if (word == stop) return true;
  }
  return false;
}

inline bool IsWordCodePoint(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  uint8_t cls = internal::CodePointClass(cp);
  if (cls & (internal::kLetter | internal::kNumber)) return true;
  // Combining marks sit in both case classes without being letters.
  return (cls & internal::kUpper) && (cls & internal::kLower);
}

}  // namespace internal

struct Bm25Posting {
  uint32_t doc;
  uint32_t tf;
};

// A snapshot (Bm25Index::Save) read in place from its mapped file: what Search needs, with no
// copy. Thaw turns it into Impl's structures before a write.
struct FrozenBm25 {
  std::shared_ptr<const internal::SharedBytes> bytes;
  size_t slots = 0;
  const uint8_t* live = nullptr;
  const uint32_t* length = nullptr;
  internal::StringSection ids;
  internal::StringSection terms;  // Sorted, distinct.
  const uint32_t* df = nullptr;
  const uint64_t* posting_offsets = nullptr;  // terms.size() + 1, checked when opened.
  const Bm25Posting* postings = nullptr;

  std::optional<uint32_t> FindTerm(std::string_view term) const;
  absl::Span<const Bm25Posting> PostingsOf(uint32_t term) const {
    return {postings + posting_offsets[term], posting_offsets[term + 1] - posting_offsets[term]};
  }
};

class Bm25Index::Impl {
 public:
  explicit Impl(const Bm25Options& o) : options(o) {}

  // Calls `emit(term)` for each analyzed term of `text` (valid UTF-8).
  template <typename Emit>
  void AnalyzeInto(std::string_view text, Emit&& emit) const {
    std::string word;
    size_t i = 0;
    while (i < text.size()) {
      size_t start = i;
      uint32_t cp = internal::DecodeAt(text, &i);
      if (!internal::IsWordCodePoint(cp)) continue;
      bool ascii = cp < 0x80;
      size_t end = i;
      while (end < text.size()) {
        size_t next = end;
        uint32_t c = internal::DecodeAt(text, &next);
        if (!internal::IsWordCodePoint(c)) break;
        ascii &= c < 0x80;
        end = next;
      }
      i = end;
      std::string_view raw = text.substr(start, end - start);
      if (ascii) {
        word.assign(raw);
        for (char& c : word) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
      } else {
        word = internal::ToLower(raw);
      }
      if (options.english_stop_words && internal::IsStopWord(word)) continue;
      if (options.stemming) word = internal::PorterStem(word);
      emit(word);
    }
  }

  absl::Status Write(absl::Span<const std::string> new_ids, absl::Span<const std::string> texts,
                     bool upsert);
  void Tombstone(uint32_t doc);
  void MaybeCompact();

  // Turns a snapshot read in place into the structures below (bm25_snapshot.cc). Before the
  // first write; holds mu.
  void Thaw();
  // The snapshot's verification result (OK when there is none); waits for it.
  absl::Status Verified() const;

  const Bm25Options options;
  mutable std::shared_mutex mu;  // Guards everything below: shared for reads, unique for writes.
  // An opened snapshot, searched in place until the first write (then null).
  std::unique_ptr<FrozenBm25> frozen;
  // Its checksum and structure, verified on another thread (bm25_snapshot.cc).
  std::unique_ptr<internal::BackgroundCheck> verification;
  absl::flat_hash_map<std::string, uint32_t> term_of;
  std::vector<std::vector<Bm25Posting>> postings;  // By term.
  std::vector<uint32_t> df;                        // Live documents per term.
  std::vector<std::string> ids;                    // By document slot.
  std::vector<uint32_t> length;
  std::vector<std::vector<uint32_t>> terms_of;  // Distinct terms per slot.
  std::vector<uint8_t> live;
  absl::flat_hash_map<std::string, uint32_t> slot_of;
  size_t live_count = 0;
  uint64_t live_length = 0;
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_BM25_BM25_IMPL_H_
