// Percent-decoding (RFC 3986 section 2.1), shared by the URI handling of JSON Schema references
// and the W3C Baggage-format OTEL_* variables.

#ifndef LLMKIT_SRC_COMMON_PERCENT_H_
#define LLMKIT_SRC_COMMON_PERCENT_H_

#include <string>
#include <string_view>

namespace llmkit::internal {

// `text` with each %XX (two hex digits, either case) decoded to its byte; a % not followed by
// two hex digits stays as it is.
std::string PercentDecoded(std::string_view text);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_PERCENT_H_
