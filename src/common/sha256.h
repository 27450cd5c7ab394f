// SHA-256 (FIPS 180-4), for checking downloaded and cached files.

#ifndef LLMKIT_SRC_COMMON_SHA256_H_
#define LLMKIT_SRC_COMMON_SHA256_H_

#include <string>
#include <string_view>

namespace llmkit::internal {

// Lower-case hex digest of `data`. Uses the x86 SHA extensions when the CPU has them (about
// 5x the portable code), which the tests compare against the portable code and sha256sum.
std::string Sha256Hex(std::string_view data);

// Which compression Sha256Hex may use; for tests and benchmarks.
enum class Sha256Impl { kBest, kPortable };
std::string Sha256Hex(std::string_view data, Sha256Impl impl);

// Whether this CPU runs the SHA-extension code.
bool Sha256HasShaExtensions();

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_SHA256_H_
