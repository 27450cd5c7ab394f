// llmkit error conventions.
//
// Every fallible public call in llmkit returns `absl::Status` or `absl::StatusOr<T>`; no exception
// crosses the public API. The code carries the meaning (see DESIGN.md); structured facts such as
// the HTTP status or a server's Retry-After travel as payloads under the keys below, never only
// inside the message text, so callers and the retry layer decide from `code()` and payloads.
//
//   absl::StatusOr<size_t> CountChunks(std::string_view text) {
//     LLMKIT_ASSIGN_OR_RETURN(auto splitter, llmkit::RecursiveCharacterSplitter::Create({}));
//     LLMKIT_ASSIGN_OR_RETURN(std::vector<llmkit::Chunk> chunks, splitter.Split(text));
//     return chunks.size();
//   }
//
// Thread safety: everything here is a free function or a constant.

#ifndef LLMKIT_STATUS_H_
#define LLMKIT_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmkit {

// Payload keys (type URLs) attached to statuses. Values are UTF-8 text.
inline constexpr std::string_view kPayloadHttpStatus = "llmkit/http_status";  // "429"
inline constexpr std::string_view kPayloadRetryAfter = "llmkit/retry_after";  // header value
inline constexpr std::string_view kPayloadRetryAfterMs = "llmkit/retry_after_ms";
inline constexpr std::string_view kPayloadShouldRetry = "llmkit/should_retry";  // "true"/"false"
inline constexpr std::string_view kPayloadProviderError = "llmkit/provider_error";  // body
inline constexpr std::string_view kPayloadByteOffset = "llmkit/byte_offset";        // "17"
inline constexpr std::string_view kPayloadAttempts = "llmkit/attempts";  // calls made, "3"
// A provider refused on content-policy grounds ("true").
inline constexpr std::string_view kPayloadContentPolicy = "llmkit/content_policy";
// Failed fast by a resilience decorator, not by the provider: an open circuit breaker (its name),
// a rate limiter that would not wait, every fallback cooling down, a spent retry budget.
inline constexpr std::string_view kPayloadCircuitOpen = "llmkit/circuit_open";
inline constexpr std::string_view kPayloadRateLimited = "llmkit/rate_limited";
inline constexpr std::string_view kPayloadCoolingDown = "llmkit/cooling_down";
inline constexpr std::string_view kPayloadRetryBudget = "llmkit/retry_budget";  // "exhausted"
// The provider calls of a failed call that used tokens (a stream cut after the provider counted
// its input, an error event mid-stream, an answer a guard refused): a JSON array of
// {"model", "input_tokens", "output_tokens", "total_tokens", "cached_input_tokens",
// "cache_creation_input_tokens", "reasoning_tokens", "failure", "estimated"}. Read it with
// SpentOf (chat.h).
inline constexpr std::string_view kPayloadSpent = "llmkit/spent";
// What those calls cost in US dollars ("0.000123000"), set by WithBudget (cost.h).
inline constexpr std::string_view kPayloadSpentUsd = "llmkit/spent_usd";

// Returns `status` with `value` attached under `key`.
absl::Status WithPayload(absl::Status status, std::string_view key, std::string_view value);

// Returns the payload under `key` as text, or nullopt if `status` carries none.
std::optional<std::string> GetPayload(const absl::Status& status, std::string_view key);

// Returns the byte offset a status names (payload kPayloadByteOffset), or nullopt.
std::optional<int64_t> GetByteOffset(const absl::Status& status);

}  // namespace llmkit

// Evaluates `expr` (an absl::Status or StatusOr) and returns its status from the enclosing
// function if it is not OK.
#define LLMKIT_RETURN_IF_ERROR(expr)                                                      \
  do {                                                                                    \
    if (auto llmkit_status_ = ::llmkit::internal::ToStatus(expr); !llmkit_status_.ok()) { \
      return llmkit_status_;                                                              \
    }                                                                                     \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from the enclosing
// function, otherwise move-assigns the value to `lhs` (which may be a declaration: `auto x`).
#define LLMKIT_ASSIGN_OR_RETURN(lhs, rexpr) \
  LLMKIT_ASSIGN_OR_RETURN_IMPL_(LLMKIT_CONCAT_(llmkit_statusor_, __LINE__), lhs, rexpr)

// Implementation details of the macros above.
#define LLMKIT_CONCAT_INNER_(a, b) a##b
#define LLMKIT_CONCAT_(a, b) LLMKIT_CONCAT_INNER_(a, b)
#define LLMKIT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

namespace llmkit::internal {
inline const absl::Status& ToStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace llmkit::internal

#endif  // LLMKIT_STATUS_H_
