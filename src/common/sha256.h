// SHA-256 (FIPS 180-4), for checking downloaded and cached files.

#ifndef LLMKIT_SRC_COMMON_SHA256_H_
#define LLMKIT_SRC_COMMON_SHA256_H_

#include <string>
#include <string_view>

namespace llmkit::internal {

// Lower-case hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_SHA256_H_
