// Sizing of a response body buffer, shared by the curl transport and the handlers that collect
// a body themselves.

#ifndef LLMKIT_SRC_HTTP_BODY_H_
#define LLMKIT_SRC_HTTP_BODY_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "common/absl_compat.h"
#include "llmkit/http.h"

namespace llmkit::internal {

// Reserves room for the body the headers announce (Content-Length, up to 256 MB) plus
// kBodyPadding spare bytes, so it arrives in one allocation that simdjson can parse in place.
inline void ReserveBody(const HttpHeaders& headers, std::string* body) {
  uint64_t bytes = 0;
  if (auto length = FindHeader(headers, "content-length");
      length && absl::SimpleAtoi(ToAbsl(*length), &bytes)) {
    body->reserve(std::min<uint64_t>(bytes, 1 << 28) + kBodyPadding);
  }
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_HTTP_BODY_H_
