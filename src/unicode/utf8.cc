// UTF-8 validation, counting and whitespace trimming for the chunkers.

#include "unicode/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "llmkit/status.h"
#include "simdjson.h"

namespace llmkit::internal {
namespace {

// The sequence at text[i]: its length if valid; otherwise the length of its maximal invalid
// subpart (Unicode 15 §3.9: the lead byte plus the continuation bytes that could still have
// completed it; at least 1), which one U+FFFD replaces.
struct Sequence {
  size_t length;
  bool valid;
};

Sequence SequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return {1, true};
  size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
  if (length == 0) return {1, false};
  // The second byte's range depends on the lead (excludes overlongs, surrogates, > U+10FFFF).
  unsigned char low = 0x80, high = 0xBF;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (i + 1 >= text.size() || byte(i + 1) < low || byte(i + 1) > high) return {1, false};
  size_t good = 2;
  while (good < length && i + good < text.size() && (byte(i + good) & 0xC0) == 0x80) ++good;
  return {good, good == length};
}

// Length of a valid sequence at text[i], or 0 if invalid there.
size_t ValidSequenceAt(std::string_view text, size_t i) {
  Sequence sequence = SequenceAt(text, i);
  return sequence.valid ? sequence.length : 0;
}

}  // namespace

std::string ReplaceInvalidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    Sequence sequence = SequenceAt(bytes, i);
    if (sequence.valid) {
      out.append(bytes.substr(i, sequence.length));
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += sequence.length;
  }
  return out;
}

absl::Status CheckUtf8(std::string_view text) {
  size_t bad = FindInvalidUtf8(text);
  if (bad == std::string_view::npos) return absl::OkStatus();
  return WithPayload(absl::InvalidArgumentError(absl::StrCat(
                         "invalid UTF-8 at byte offset ", bad, " (byte 0x",
                         absl::Hex(static_cast<unsigned char>(text[bad]), absl::kZeroPad2), ")")),
                     kPayloadByteOffset, absl::StrCat(bad));
}

size_t FindInvalidUtf8(std::string_view text) {
  if (simdjson::validate_utf8(text.data(), text.size())) return std::string_view::npos;
  size_t i = 0;
  while (i < text.size()) {
    size_t length = ValidSequenceAt(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
constexpr uint64_t kOnes = 0x0101010101010101ULL;

// Number of bytes whose high bit is set in `marks` (a mask of 0x80 bits), via one multiply.
inline size_t CountMarked(uint64_t marks) { return ((marks >> 7) * kOnes) >> 56; }

// Counts continuation bytes (10xxxxxx). With SSE2 (every x86-64) and at least 16 bytes: 16 bytes
// a step, as signed bytes below -64 (0x80..0xBF), summed per byte lane for up to 255 steps and
// folded with psadbw; the last partial step reloads the final 16 bytes with the ones already
// counted masked off, so short texts pay no byte-by-byte tail. Otherwise eight bytes at a time:
// shifting left moves bit 6 of each byte into bit 7 of the same byte; what crosses into the next
// byte lands in bit 0, masked off.
size_t CountContinuationBytes(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0, count = 0;
#if defined(__SSE2__)
  if (n >= 16) {
    const __m128i below = _mm_set1_epi8(-64);
    const __m128i index = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    while (i < n) {
      __m128i lanes = _mm_setzero_si128();
      const size_t steps = std::min<size_t>((n - i) / 16, 255);
      for (size_t step = 0; step < steps; ++step, i += 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + i));
        lanes = _mm_sub_epi8(lanes, _mm_cmpgt_epi8(below, x));  // A match is -1.
      }
      if (steps < 255 && i < n) {  // 1..15 bytes left; a lane then holds at most 255.
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + n - 16));
        __m128i fresh = _mm_cmpgt_epi8(index, _mm_set1_epi8(static_cast<char>(15 - (n - i))));
        lanes = _mm_sub_epi8(lanes, _mm_and_si128(_mm_cmpgt_epi8(below, x), fresh));
        i = n;
      }
      __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
      count += static_cast<size_t>(_mm_cvtsi128_si64(sums)) +
               static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
    }
    return count;
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, bytes + i, 8);
    count += CountMarked(x & ~(x << 1) & kHighBits);
  }
  for (; i < n; ++i) count += (bytes[i] & 0xC0) == 0x80;
  return count;
}

}  // namespace

size_t CountCodePoints(std::string_view text) { return text.size() - CountContinuationBytes(text); }

size_t CountUtf16Units(std::string_view text) {
  // Continuation bytes add no unit; a 4-byte lead (11110xxx) adds one (a surrogate pair).
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t continuation = 0, four_byte = 0, i = 0, n = text.size();
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, bytes + i, 8);
    if ((x & kHighBits) == 0) continue;  // All ASCII.
    continuation += CountMarked(x & ~(x << 1) & kHighBits);
    four_byte += CountMarked(x & (x << 1) & (x << 2) & (x << 3) & ~(x << 4) & kHighBits);
  }
  for (; i < n; ++i) {
    continuation += (bytes[i] & 0xC0) == 0x80;
    four_byte += (bytes[i] & 0xF8) == 0xF0;
  }
  return n - continuation + four_byte;
}

namespace {

bool IsAsciiJsWhitespace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Multi-byte members of the set: U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000, U+FEFF. Returns the sequence length if `text` starts with one, else 0.
size_t MultiByteWhitespaceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  size_t left = text.size() - i;
  if (left >= 2 && byte(0) == 0xC2 && byte(1) == 0xA0) return 2;
  if (left < 3) return 0;
  unsigned char a = byte(0), b = byte(1), c = byte(2);
  if (a == 0xE1 && b == 0x9A && c == 0x80) return 3;
  if (a == 0xE2 && b == 0x80 && (c <= 0x8A || c == 0xA8 || c == 0xA9 || c == 0xAF)) return 3;
  if (a == 0xE2 && b == 0x81 && c == 0x9F) return 3;
  if (a == 0xE3 && b == 0x80 && c == 0x80) return 3;
  if (a == 0xEF && b == 0xBB && c == 0xBF) return 3;
  return 0;
}

}  // namespace

size_t LeadingJsWhitespace(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (!IsAsciiJsWhitespace(c)) break;
      ++i;
      continue;
    }
    size_t length = MultiByteWhitespaceAt(text, i);
    if (length == 0) break;
    i += length;
  }
  return i;
}

size_t TrailingJsWhitespace(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    unsigned char c = static_cast<unsigned char>(text[end - 1]);
    if (c < 0x80) {
      if (!IsAsciiJsWhitespace(c)) break;
      --end;
      continue;
    }
    // Step back to the lead byte of the last sequence.
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t length = MultiByteWhitespaceAt(text.substr(0, end), start);
    if (length == 0 || start + length != end) break;
    end = start;
  }
  return text.size() - end;
}

}  // namespace llmkit::internal
