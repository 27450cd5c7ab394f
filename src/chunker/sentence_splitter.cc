// SentenceSplitter: token-sized chunks that end at paragraph, sentence, word or character
// boundaries, in that order of preference, with whole-unit overlap and exact offsets.

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chunker/token_sizes.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"
#include "unicode/utf8.h"

namespace llmkit {
namespace {

enum Level { kParagraph, kSentence, kWord, kCharacter };

struct Unit {
  size_t begin;
  size_t end;
  size_t tokens;
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// End of the run of ASCII whitespace from `pos`; `newlines` counts the '\n' in it.
size_t SpaceRun(std::string_view text, size_t pos, size_t end, int* newlines) {
  *newlines = 0;
  while (pos < end && IsSpace(text[pos])) {
    *newlines += text[pos] == '\n';
    ++pos;
  }
  return pos;
}

bool StartsWith(std::string_view text, size_t pos, std::string_view what) {
  return text.substr(pos, what.size()) == what;
}

// Byte positions in (begin, end) where units of `level` end. Separators stay with the unit they
// end, so units tile the range.
std::vector<size_t> Cuts(std::string_view text, size_t begin, size_t end, Level level) {
  std::vector<size_t> cuts;
  size_t pos = begin;
  while (pos < end) {
    char c = text[pos];
    size_t next = pos + internal::SequenceLength(static_cast<unsigned char>(c));
    if (level == kCharacter) {
      cuts.push_back(next);
      pos = next;
      continue;
    }
    if (IsSpace(c)) {
      int newlines = 0;
      size_t after = SpaceRun(text, pos, end, &newlines);
      bool cut = level == kWord || (level == kParagraph && newlines >= 2) ||
                 (level == kSentence && newlines >= 1);
      if (cut) cuts.push_back(after);
      pos = after;
      continue;
    }
    if (level == kSentence) {
      if (c == '.' || c == '!' || c == '?') {
        size_t after = pos + 1;
        while (after < end &&
               std::string_view(")]\"'").find(text[after]) != std::string_view::npos) {
          ++after;
        }
        for (std::string_view closer : {"\xE2\x80\x9D", "\xE2\x80\x99", "\xC2\xBB"}) {  // ” ’ »
          if (StartsWith(text, after, closer)) after += closer.size();
        }
        int newlines = 0;
        size_t run_end = SpaceRun(text, after, end, &newlines);
        if (run_end > after) {
          cuts.push_back(run_end);
          pos = run_end;
          continue;
        }
        pos = after;
        continue;
      }
      bool cjk_stop = false;
      for (std::string_view stop : {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"}) {  // 。！？
        if (StartsWith(text, pos, stop)) cjk_stop = true;
      }
      if (cjk_stop) {
        int newlines = 0;
        size_t run_end = SpaceRun(text, pos + 3, end, &newlines);
        cuts.push_back(run_end);
        pos = run_end;
        continue;
      }
    }
    pos = next;
  }
  if (!cuts.empty() && cuts.back() >= end) cuts.pop_back();
  return cuts;
}

class Splitting {
 public:
  Splitting(const Tokenizer& tokenizer, const SentenceSplitterOptions& options,
            std::string_view text)
      : tokenizer_(tokenizer), options_(options), text_(text) {}

  size_t Count(size_t begin, size_t end) const {
    return tokenizer_.CountValidUtf8(text_.substr(begin, end - begin));
  }

  // Appends units of at most chunk_size tokens covering [begin, end).
  absl::Status Units(size_t begin, size_t end, Level level, std::vector<Unit>* out) const {
    size_t tokens =
        tokenizer_.CountValidUtf8(text_.substr(begin, end - begin), options_.chunk_size);
    if (tokens <= options_.chunk_size) {
      out->push_back({begin, end, tokens});
      return absl::OkStatus();
    }
    size_t first_char_end =
        begin + internal::SequenceLength(static_cast<unsigned char>(text_[begin]));
    if (first_char_end >= end) {
      return WithPayload(absl::InvalidArgumentError(absl::StrCat(
                             "the character at byte offset ", begin, " alone needs more than ",
                             options_.chunk_size, " tokens (chunk_size)")),
                         kPayloadByteOffset, absl::StrCat(begin));
    }
    Level deeper = level == kCharacter ? kCharacter : static_cast<Level>(level + 1);
    size_t start = begin;
    for (size_t cut : Cuts(text_, begin, end, level)) {
      LLMKIT_RETURN_IF_ERROR(Units(start, cut, deeper, out));
      start = cut;
    }
    return Units(start, end, deeper, out);
  }

  // [begin, end) without surrounding whitespace.
  std::pair<size_t, size_t> Trim(size_t begin, size_t end) const {
    std::string_view span = text_.substr(begin, end - begin);
    size_t leading = internal::LeadingJsWhitespace(span);
    if (leading == span.size()) return {begin, begin};
    size_t trailing = internal::TrailingJsWhitespace(span);
    return {begin + leading, end - trailing};
  }

  size_t TrimmedCount(const std::vector<Unit>& units, size_t first, size_t last) const {
    auto [b, e] = Trim(units[first].begin, units[last - 1].end);
    return Count(b, e);
  }

  absl::StatusOr<std::vector<Chunk>> Run() const {
    std::vector<Unit> units;
    LLMKIT_RETURN_IF_ERROR(Units(0, text_.size(), kParagraph, &units));
    std::vector<Chunk> chunks;
    const size_t n = units.size();
    size_t prev_first = 0;  // First unit of the previous chunk.
    size_t start = 0;       // First unit not yet in any chunk.
    bool first_chunk = true;
    while (start < n) {
      // Overlap: whole units from the end of the previous chunk, within chunk_overlap tokens.
      size_t first = start, overlap = 0;
      while (!first_chunk && first > prev_first + 1 &&
             overlap + units[first - 1].tokens <= options_.chunk_overlap) {
        overlap += units[--first].tokens;
      }
      // Grow by the sum of unit counts, then by exact counts of the chunk's text.
      size_t last = start, total = overlap;
      while (last < n && total + units[last].tokens <= options_.chunk_size) {
        total += units[last++].tokens;
      }
      if (last == start) {  // Even one new unit does not fit beside the overlap.
        first = start;
        last = start + 1;
      }
      while (TrimmedCount(units, first, last) > options_.chunk_size) {
        if (last - 1 > start) {
          --last;
        } else if (first < start) {
          ++first;
        } else {
          break;  // One unit alone: fits by construction (trimming never adds tokens here).
        }
      }
      // Then take more units while the exact count still fits (merged text usually needs fewer
      // tokens than its units' sum): gallop, then binary search; every accepted end fits.
      auto fits = [&](size_t end) {
        return TrimmedCount(units, first, end) <= options_.chunk_size;
      };
      size_t step = 1;
      while (last + step <= n && fits(last + step)) {
        last += step;
        step *= 2;
      }
      size_t hi = std::min(n + 1, last + step);  // Does not fit (or past the end).
      while (hi - last > 1) {
        size_t mid = last + (hi - last) / 2;
        if (mid <= n && fits(mid)) {
          last = mid;
        } else {
          hi = mid;
        }
      }
      auto [b, e] = Trim(units[first].begin, units[last - 1].end);
      if (e > b) {
        Chunk chunk;
        chunk.text = std::string(text_.substr(b, e - b));
        chunk.begin = b;
        chunk.end = e;
        chunks.push_back(std::move(chunk));
      }
      prev_first = first;
      start = last;
      first_chunk = false;
    }
    return chunks;
  }

 private:
  const Tokenizer& tokenizer_;
  const SentenceSplitterOptions& options_;
  std::string_view text_;
};

}  // namespace

absl::StatusOr<SentenceSplitter> SentenceSplitter::Create(
    std::shared_ptr<const Tokenizer> tokenizer, SentenceSplitterOptions options) {
  LLMKIT_RETURN_IF_ERROR(
      internal::CheckTokenChunkSizes(tokenizer.get(), options.chunk_size, options.chunk_overlap));
  return SentenceSplitter(std::move(tokenizer), options);
}

absl::StatusOr<std::vector<Chunk>> SentenceSplitter::Split(std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(text));
  return Splitting(*tokenizer_, options_, text).Run();
}

}  // namespace llmkit
