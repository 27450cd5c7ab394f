// Substring search for short needles (the chunkers' separators) that visits every occurrence in
// one sweep: SSE2 compares the needle's first and last bytes at 16 positions a step, so "\n\n"
// is not stopped at by every "\n", and a caller cutting a text at each occurrence pays no call
// per occurrence.

#ifndef LLMKIT_SRC_COMMON_FIND_BYTES_H_
#define LLMKIT_SRC_COMMON_FIND_BYTES_H_

#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmkit::internal {

// Calls `visit(p)` for each p >= from, in order, with text.substr(p, needle.size()) == needle.
// `visit` returns where the search resumes (occurrences before it are skipped: p + 1 visits
// overlapping ones, p + needle.size() does not), or npos to stop there. Returns the position
// whose visit stopped the search, else npos. REQUIRES: needle is not empty.
template <typename Visit>
size_t ForEachOccurrence(std::string_view text, std::string_view needle, size_t from,
                         Visit&& visit) {
  constexpr size_t npos = std::string_view::npos;
  const size_t n = needle.size();
  if (from > text.size() || text.size() - from < n) return npos;
  const char* data = text.data();
  const size_t last_start = text.size() - n;  // Occurrences start in [from, last_start].
  auto matches = [&](size_t at) {
    return n <= 2 || std::memcmp(data + at + 1, needle.data() + 1, n - 2) == 0;
  };
  size_t pos = from;
  size_t resume_at = from;  // Occurrences before it are skipped.
  auto visit_at = [&](size_t at) {
    const size_t resume = visit(at);
    if (resume == npos) return false;
    resume_at = resume > at ? resume : at + 1;
    return true;
  };
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(needle[0]);
  const __m128i last = _mm_set1_epi8(needle[n - 1]);
  while (pos + 15 <= last_start) {
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos));
    const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos + n - 1));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(head, first), _mm_cmpeq_epi8(tail, last))));
    while (mask != 0) {
      const size_t at = pos + static_cast<size_t>(__builtin_ctz(mask));
      mask &= mask - 1;
      if (at >= resume_at && matches(at) && !visit_at(at)) return at;
    }
    pos = resume_at > pos + 16 ? resume_at : pos + 16;
  }
#endif
  if (pos < resume_at) pos = resume_at;
  for (; pos <= last_start; ++pos) {
    if (data[pos] != needle[0] || data[pos + n - 1] != needle[n - 1] || !matches(pos)) continue;
    if (!visit_at(pos)) return pos;
    pos = resume_at - 1;  // The loop's ++pos lands on resume_at.
  }
  return npos;
}

// The first position p >= from where `needle` occurs, or npos.
inline size_t FindBytes(std::string_view text, std::string_view needle, size_t from) {
  return ForEachOccurrence(text, needle, from, [](size_t) { return std::string_view::npos; });
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_FIND_BYTES_H_
