// Payload helpers for llmkit statuses.

#include "llmkit/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/types/optional.h"
#include "common/absl_compat.h"

namespace llmkit {

absl::Status WithPayload(absl::Status status, std::string_view key, std::string_view value) {
  status.SetPayload(internal::ToAbsl(key), absl::Cord(internal::ToAbsl(value)));
  return status;
}

std::optional<std::string> GetPayload(const absl::Status& status, std::string_view key) {
  absl::optional<absl::Cord> payload = status.GetPayload(internal::ToAbsl(key));
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

std::optional<int64_t> GetByteOffset(const absl::Status& status) {
  std::optional<std::string> text = GetPayload(status, kPayloadByteOffset);
  int64_t offset = 0;
  if (!text.has_value() || !absl::SimpleAtoi(*text, &offset)) return std::nullopt;
  return offset;
}

}  // namespace llmkit
