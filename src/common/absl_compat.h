// Debian's Abseil 20220623 is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), a type distinct from std::string_view. llmkit's API speaks std::string_view; these
// convert at the calls into Abseil.

#ifndef LLMKIT_SRC_COMMON_ABSL_COMPAT_H_
#define LLMKIT_SRC_COMMON_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace llmkit::internal {

inline absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}
inline std::string_view ToStd(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_ABSL_COMPAT_H_
