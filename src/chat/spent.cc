// Spent attempts on a failed call's status (payload kPayloadSpent), the usage arithmetic the
// decorators that pass them on share, and the prompt-size estimate they and budgets use.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/absl_compat.h"
#include "llmkit/chat.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

// The members of the payload's objects, with the Usage field each one is.
struct Field {
  std::string_view name;
  int64_t Usage::*count;
};
constexpr Field kFields[] = {
    {"input_tokens", &Usage::input_tokens},
    {"output_tokens", &Usage::output_tokens},
    {"total_tokens", &Usage::total_tokens},
    {"cached_input_tokens", &Usage::cached_input_tokens},
    {"cache_creation_input_tokens", &Usage::cache_creation_input_tokens},
    {"reasoning_tokens", &Usage::reasoning_tokens},
};

}  // namespace

Json UsageToJson(const Usage& usage) {
  Json out = Json::MakeObject();
  for (const Field& field : kFields) out.Set(field.name, usage.*field.count);
  return out;
}

Usage UsageFromJson(const Json& json) {
  Usage usage;
  for (const Field& field : kFields) {
    if (const Json* count = json.Find(field.name); count != nullptr && count->is_int()) {
      usage.*field.count = count->as_int();
    }
  }
  return usage;
}

void AddUsage(Usage* usage, const Usage& other) {
  for (const Field& field : kFields) usage->*field.count += other.*field.count;
}

int64_t EstimatePromptTokens(const ChatRequest& request,
                             const std::function<int64_t(std::string_view)>& count) {
  auto tokens_of = [&](std::string_view text) -> int64_t {
    return count ? count(text) : static_cast<int64_t>((text.size() + 3) / 4);
  };
  int64_t tokens = 3;
  for (const Message& message : request.messages) {
    tokens += 4 + tokens_of(message.content);
    for (const ContentPart& part : message.parts) {
      tokens += part.type == "text" ? tokens_of(part.text) : 1000;
    }
    for (const ToolCall& call : message.tool_calls) {
      tokens += 4 + tokens_of(call.name) + tokens_of(call.arguments);
    }
  }
  for (const ToolSpec& tool : request.tools) {
    tokens +=
        8 + tokens_of(tool.name) + tokens_of(tool.description) + tokens_of(tool.parameters.Dump());
  }
  return tokens;
}

std::vector<SpentAttempt> CallsOf(const ChatResponse& response, std::string_view failure) {
  std::vector<SpentAttempt> calls = response.spent_attempts;
  SpentAttempt own{response.model, response.usage, std::string(failure), false};
  for (const SpentAttempt& earlier : response.spent_attempts) {
    for (const Field& field : kFields) own.usage.*field.count -= earlier.usage.*field.count;
  }
  calls.push_back(std::move(own));
  return calls;
}

std::vector<SpentAttempt> SpentOf(const absl::Status& status) {
  std::vector<SpentAttempt> spent;
  std::optional<std::string> payload = GetPayload(status, kPayloadSpent);
  if (!payload) return spent;
  absl::StatusOr<Json> parsed = Json::Parse(*payload);
  if (!parsed.ok() || !parsed->is_array()) return spent;
  for (const Json& item : parsed->as_array()) {
    if (!item.is_object()) return {};
    SpentAttempt attempt;
    if (const Json* model = item.Find("model"); model != nullptr && model->is_string()) {
      attempt.model = model->as_string();
    }
    attempt.usage = UsageFromJson(item);
    if (const Json* failure = item.Find("failure"); failure != nullptr && failure->is_string()) {
      attempt.failure = failure->as_string();
    }
    if (const Json* estimated = item.Find("estimated"); estimated != nullptr) {
      attempt.estimated = estimated->is_bool() && estimated->as_bool();
    }
    spent.push_back(std::move(attempt));
  }
  return spent;
}

absl::Status WithSpent(absl::Status status, const std::vector<SpentAttempt>& spent) {
  if (status.ok()) return status;
  if (spent.empty()) {
    status.ErasePayload(internal::ToAbsl(kPayloadSpent));
    return status;
  }
  Json items = Json::MakeArray();
  for (const SpentAttempt& attempt : spent) {
    Json item = Json::MakeObject();
    item.Set("model", attempt.model);
    for (const Field& field : kFields) item.Set(field.name, attempt.usage.*field.count);
    item.Set("failure", attempt.failure);
    item.Set("estimated", attempt.estimated);
    items.push_back(std::move(item));
  }
  return WithPayload(std::move(status), kPayloadSpent, items.Dump());
}

}  // namespace llmkit
