// CRC-32C (Castagnoli, as in iSCSI, ext4 and LevelDB): the checksum of llmkit's persisted
// index files, verified whenever a file is opened. It detects accidental damage (any burst up
// to 32 bits, and all other damage but 1 in 2^32) at the speed of the CPU's CRC32 instruction,
// several times faster than SHA-256, so that verifying a large index costs little.

#ifndef LLMKIT_SRC_COMMON_CRC32C_H_
#define LLMKIT_SRC_COMMON_CRC32C_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace llmkit::internal {

// The CRC-32C of `data`, continuing from the CRC of the bytes before it (`crc`, 0 at the
// start): Crc32c(b, Crc32c(a)) == Crc32c(a + b).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);
// The same without the CRC32 instruction (for tests, and CPUs without SSE4.2).
uint32_t Crc32cPortable(std::string_view data, uint32_t crc = 0);
// Eight lower-case hex digits, as the files record it.
std::string Crc32cHex(std::string_view data);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_CRC32C_H_
