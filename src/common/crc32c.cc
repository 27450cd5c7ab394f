// CRC-32C with the SSE4.2 CRC32 instruction when present, else a byte table (see crc32c.h).

#include "common/crc32c.h"

#include <array>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/cpu_features.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace llmkit::internal {
namespace {

constexpr uint32_t kPolynomial = 0x82f63b78;  // Castagnoli, reflected.

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

#if defined(__x86_64__)
// The CRC32 instruction takes three cycles but starts one every cycle: three CRCs over
// consecutive stretches of kStride bytes run side by side, nearly three times as fast as one.
// The register's update is linear over GF(2), so the CRC of the three stretches is
// Z2(a) ^ Z1(b) ^ c, where a is the first stretch's register (begun from the CRC so far), b
// and c the others' (begun from 0), and Z1, Z2 the effect of kStride and 2 kStride zero bytes.
constexpr size_t kStride = 4096;  // A multiple of 8.

// The effect of a fixed number of zero bytes on the register: a 32 x 32 matrix over GF(2),
// applied a byte of the register at a time.
struct ZeroBytes {
  uint32_t table[4][256];
  uint32_t operator()(uint32_t crc) const {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
  }
};

__attribute__((target("sse4.2"))) ZeroBytes MakeZeroBytes(size_t n) {
  uint32_t column[32];  // Where each bit of the register goes.
  for (int bit = 0; bit < 32; ++bit) {
    uint64_t crc = uint64_t{1} << bit;
    for (size_t i = 0; i < n; i += 8) crc = _mm_crc32_u64(crc, 0);
    column[bit] = static_cast<uint32_t>(crc);
  }
  ZeroBytes zeros;
  for (int k = 0; k < 4; ++k) {
    for (uint32_t byte = 0; byte < 256; ++byte) {
      uint32_t image = 0;
      for (int j = 0; j < 8; ++j) {
        if ((byte >> j) & 1) image ^= column[8 * k + j];
      }
      zeros.table[k][byte] = image;
    }
  }
  return zeros;
}

inline uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(std::string_view data, uint32_t crc) {
  uint64_t state = ~crc;
  const char* p = data.data();
  size_t n = data.size();
  if (n >= 3 * kStride) {
    static const ZeroBytes* const kOne = new ZeroBytes(MakeZeroBytes(kStride));
    static const ZeroBytes* const kTwo = new ZeroBytes(MakeZeroBytes(2 * kStride));
    for (; n >= 3 * kStride; p += 3 * kStride, n -= 3 * kStride) {
      uint64_t second = 0, third = 0;
      for (size_t i = 0; i < kStride; i += 8) {
        state = _mm_crc32_u64(state, Load64(p + i));
        second = _mm_crc32_u64(second, Load64(p + kStride + i));
        third = _mm_crc32_u64(third, Load64(p + 2 * kStride + i));
      }
      state = (*kTwo)(static_cast<uint32_t>(state)) ^ (*kOne)(static_cast<uint32_t>(second)) ^
              static_cast<uint32_t>(third);
    }
  }
  for (; n >= 8; p += 8, n -= 8) state = _mm_crc32_u64(state, Load64(p));
  uint32_t tail = static_cast<uint32_t>(state);
  for (; n > 0; ++p, --n) tail = _mm_crc32_u8(tail, static_cast<uint8_t>(*p));
  return ~tail;
}
#endif

}  // namespace

uint32_t Crc32cPortable(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char c : data) crc = (crc >> 8) ^ kTable[(crc ^ static_cast<uint8_t>(c)) & 0xff];
  return ~crc;
}

uint32_t Crc32c(std::string_view data, uint32_t crc) {
#if defined(__x86_64__)
  if (Cpu().sse42) return Crc32cHardware(data, crc);
#endif
  return Crc32cPortable(data, crc);
}

std::string Crc32cHex(std::string_view data) { return absl::StrFormat("%08x", Crc32c(data)); }

}  // namespace llmkit::internal
