// The helpers the decorators share: token estimates, attempt counts, failure classes.

#include "resilience/decorator.h"

#include <cmath>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit::internal {
namespace {

int64_t CountText(std::string_view text, const Tokenizer* tokenizer) {
  if (tokenizer == nullptr) return static_cast<int64_t>((text.size() + 3) / 4);
  absl::StatusOr<size_t> count = tokenizer->Count(text);
  // Text that is not UTF-8 fails at the provider anyway; estimate it by bytes.
  return count.ok() ? static_cast<int64_t>(*count) : static_cast<int64_t>((text.size() + 3) / 4);
}

}  // namespace

int64_t ChatKind::EstimateTokens(const ChatRequest& r, const Tokenizer* tokenizer) {
  int64_t tokens = 3;
  for (const Message& m : r.messages) {
    tokens += 3 + CountText(m.content, tokenizer);
    for (const ContentPart& part : m.parts) tokens += CountText(part.text, tokenizer);
    for (const ToolCall& call : m.tool_calls) {
      tokens += CountText(call.name, tokenizer) + CountText(call.arguments, tokenizer);
    }
  }
  return tokens + r.max_tokens.value_or(0);
}

void ChatKind::AddSpent(ChatResponse& response, std::vector<SpentAttempt> spent) {
  for (const SpentAttempt& attempt : spent) AddUsage(&response.usage, attempt.usage);
  spent.insert(spent.end(), std::make_move_iterator(response.spent_attempts.begin()),
               std::make_move_iterator(response.spent_attempts.end()));
  response.spent_attempts = std::move(spent);
}

int64_t EmbeddingKind::EstimateTokens(const EmbedCall& r, const Tokenizer* tokenizer) {
  int64_t tokens = 0;
  for (const std::string& input : r.inputs) tokens += CountText(input, tokenizer);
  return tokens;
}

int AttemptsOf(const absl::Status& status) {
  int attempts = 1;
  if (auto text = GetPayload(status, kPayloadAttempts)) {
    if (!absl::SimpleAtoi(*text, &attempts) || attempts < 1) attempts = 1;
  }
  return attempts;
}

absl::Status WithAttempts(absl::Status status, int attempts) {
  return WithPayload(std::move(status), kPayloadAttempts, absl::StrCat(attempts));
}

absl::Status FieldError(std::string_view field, std::string_view range, double value) {
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(field), " must be ", ToAbsl(range), ", not ", value));
}

absl::Status InRange(std::string_view field, double value, double low, double high,
                     std::string_view range) {
  if (std::isfinite(value) && value >= low && value <= high) return absl::OkStatus();
  return FieldError(field, range, value);
}

absl::Status NotNegative(std::string_view field, std::chrono::milliseconds value) {
  if (value.count() >= 0) return absl::OkStatus();
  return FieldError(field, ">= 0 ms", static_cast<double>(value.count()));
}

absl::Status Annotate(const absl::Status& status, std::string_view note) {
  absl::Status out(status.code(), absl::StrCat(status.message(), ToAbsl(note)));
  status.ForEachPayload(
      [&](absl::string_view key, const absl::Cord& value) { out.SetPayload(key, value); });
  return out;
}

bool IsLocalRejection(const absl::Status& status) {
  for (std::string_view key :
       {kPayloadCircuitOpen, kPayloadRateLimited, kPayloadCoolingDown, kPayloadRetryBudget}) {
    if (status.GetPayload(ToAbsl(key)).has_value()) return true;
  }
  return false;
}

bool IsProviderFailure(const absl::Status& status) {
  if (IsLocalRejection(status)) return false;
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace llmkit::internal
