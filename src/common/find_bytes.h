// Substring search for short needles (the chunkers' separators) that visits every occurrence in
// one sweep: SSE2 compares the needle's first and last bytes at 16 positions a step, so "\n\n"
// is not stopped at by every "\n", and a caller cutting a text at each occurrence pays no call
// per occurrence. On request the sweep also counts UTF-8 continuation bytes, so a caller can
// measure the pieces between occurrences in code points without reading them again.

#ifndef LLMKIT_SRC_COMMON_FIND_BYTES_H_
#define LLMKIT_SRC_COMMON_FIND_BYTES_H_

#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmkit::internal {

// Calls `visit(p, c)` for each p >= from, in order, with text.substr(p, needle.size()) == needle.
// `visit` returns where the search resumes (occurrences before it are skipped: p + 1 visits
// overlapping ones, p + needle.size() does not), or npos to stop there. Returns the position
// whose visit stopped the search, else npos. REQUIRES: needle is not empty.
//
// `c` is 0 unless kCountContinuation; then it is the number of continuation bytes (10xxxxxx) in
// text[from, p), and when the sweep ends without a stop `*continuation_total` (if set) is the
// number in text[from, text.size()).
template <bool kCountContinuation = false, typename Visit>
size_t ForEachOccurrence(std::string_view text, std::string_view needle, size_t from, Visit&& visit,
                         size_t* continuation_total = nullptr) {
  constexpr size_t npos = std::string_view::npos;
  const size_t n = needle.size();
  if (from > text.size()) return npos;
  const char* data = text.data();
  // Occurrences start in [from, last_start]; none when the text is shorter than the needle.
  const size_t last_start = text.size() >= n ? text.size() - n : 0;
  const bool none = text.size() - from < n;
  auto matches = [&](size_t at) {
    return n <= 2 || std::memcmp(data + at + 1, needle.data() + 1, n - 2) == 0;
  };
  size_t pos = from;
  size_t resume_at = from;  // Occurrences before it are skipped.
  size_t continuation = 0;  // In text[from, pos) (with SSE2: before the pending lanes).
  auto visit_at = [&](size_t at, size_t counted) {
    const size_t resume = visit(at, counted);
    if (resume == npos) return false;
    resume_at = resume > at ? resume : at + 1;
    return true;
  };
#if defined(__SSE2__)
  if (!none) {
    const __m128i first = _mm_set1_epi8(needle[0]);
    const __m128i last = _mm_set1_epi8(needle[n - 1]);
    const __m128i below = _mm_set1_epi8(-64);  // Continuation bytes are signed -128..-65.
    const __m128i index = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i lanes = _mm_setzero_si128();  // Per-lane continuation counts, at most 254 each.
    int steps = 0;
    auto sum = [](__m128i counts) {
      const __m128i sums = _mm_sad_epu8(counts, _mm_setzero_si128());
      return static_cast<size_t>(_mm_cvtsi128_si64(sums)) +
             static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
    };
    while (pos + 15 <= last_start) {
      const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos));
      const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos + n - 1));
      auto mask = static_cast<unsigned>(_mm_movemask_epi8(
          _mm_and_si128(_mm_cmpeq_epi8(head, first), _mm_cmpeq_epi8(tail, last))));
      __m128i marks = _mm_setzero_si128();
      if constexpr (kCountContinuation) marks = _mm_cmpgt_epi8(below, head);
      while (mask != 0) {
        const size_t at = pos + static_cast<size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        if (at < resume_at || !matches(at)) continue;
        size_t counted = 0;
        if constexpr (kCountContinuation) {
          const __m128i before = _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(at - pos)), index);
          counted = continuation + sum(_mm_sub_epi8(lanes, _mm_and_si128(marks, before)));
        }
        if (!visit_at(at, counted)) return at;
      }
      if constexpr (kCountContinuation) {
        lanes = _mm_sub_epi8(lanes, marks);
        if (++steps == 254) {
          continuation += sum(lanes);
          lanes = _mm_setzero_si128();
          steps = 0;
        }
        pos += 16;  // Every byte is counted, so no skipping ahead.
      } else {
        pos = resume_at > pos + 16 ? resume_at : pos + 16;
      }
    }
    if constexpr (kCountContinuation) continuation += sum(lanes);
  }
#endif
  auto is_continuation = [&](size_t at) {
    return (static_cast<unsigned char>(data[at]) & 0xC0) == 0x80;
  };
  if constexpr (kCountContinuation) {
    for (; pos < resume_at && pos < text.size(); ++pos) continuation += is_continuation(pos);
  } else if (pos < resume_at) {
    pos = resume_at;
  }
  for (; !none && pos <= last_start; ++pos) {
    if (pos >= resume_at && data[pos] == needle[0] && data[pos + n - 1] == needle[n - 1] &&
        matches(pos) && !visit_at(pos, continuation)) {
      return pos;
    }
    if constexpr (kCountContinuation) continuation += is_continuation(pos);
  }
  if constexpr (kCountContinuation) {
    for (; pos < text.size(); ++pos) continuation += is_continuation(pos);
    if (continuation_total != nullptr) *continuation_total = continuation;
  }
  return npos;
}

// The first position p >= from where `needle` occurs, or npos.
inline size_t FindBytes(std::string_view text, std::string_view needle, size_t from) {
  return ForEachOccurrence(text, needle, from,
                           [](size_t, size_t) { return std::string_view::npos; });
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_FIND_BYTES_H_
