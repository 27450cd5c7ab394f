#include "chat/openai_wire.h"

#include "absl/strings/str_cat.h"
#include "chat/provider_error.h"
#include "common/absl_compat.h"

namespace llmkit::internal {
namespace {

Usage ParseUsage(const Json& usage) {
  Usage out;
  out.input_tokens = IntAt(&usage, "prompt_tokens");
  out.output_tokens = IntAt(&usage, "completion_tokens");
  out.total_tokens = IntAt(&usage, "total_tokens");
  out.cached_input_tokens = IntAt(usage.Find("prompt_tokens_details"), "cached_tokens");
  out.reasoning_tokens = IntAt(usage.Find("completion_tokens_details"), "reasoning_tokens");
  return out;
}

}  // namespace

HttpHeaders OpenAIHeaders(const OpenAIOptions& options, const std::string& api_key,
                          std::string_view accept) {
  HttpHeaders headers = {{"Content-Type", "application/json"}, {"Accept", std::string(accept)}};
  if (!api_key.empty()) headers.emplace_back("Authorization", "Bearer " + api_key);
  if (!options.organization.empty())
    headers.emplace_back("OpenAI-Organization", options.organization);
  if (!options.project.empty()) headers.emplace_back("OpenAI-Project", options.project);
  for (const auto& header : options.extra_headers) headers.push_back(header);
  return headers;
}

absl::Status CheckOpenAIOptions(const OpenAIOptions& options) {
  if (options.request_timeout.count() < 0) {
    return absl::InvalidArgumentError("OpenAIOptions::request_timeout must be >= 0 (0: none)");
  }
  return absl::OkStatus();
}

std::string ResolveOpenAIOptions(OpenAIOptions& options) {
  options.base_url =
      OptionOrEnv(std::move(options.base_url), "OPENAI_BASE_URL", "https://api.openai.com/v1");
  while (options.base_url.size() > 1 && options.base_url.back() == '/') options.base_url.pop_back();
  std::string key = OptionOrEnv(std::move(options.api_key), "OPENAI_API_KEY", "");
  options.api_key.clear();
  return key;
}

absl::StatusOr<ChatResponse> ParseOpenAIResponse(std::string_view text) {
  absl::StatusOr<Json> body = Json::Parse(text);
  if (!body.ok()) return MalformedResponse(kOpenAIProvider, ToStd(body.status().message()));
  ChatResponse out;
  out.id = StringAt(*body, "id");
  out.model = StringAt(*body, "model");
  const Json* choices = body->Find("choices");
  if (choices == nullptr || !choices->is_array() || choices->size() == 0) {
    return MalformedResponse(kOpenAIProvider, "no choices");
  }
  const Json& choice = choices->as_array()[0];
  out.finish_reason = StringAt(choice, "finish_reason");
  const Json* message = choice.Find("message");
  if (message == nullptr || !message->is_object()) {
    return MalformedResponse(kOpenAIProvider, "no message");
  }
  out.message.role = "assistant";
  out.message.content = StringAt(*message, "content");
  if (const Json* calls = message->Find("tool_calls"); calls != nullptr && calls->is_array()) {
    for (const Json& call : calls->as_array()) {
      ToolCall parsed;
      parsed.id = StringAt(call, "id");
      if (const Json* f = call.Find("function"); f != nullptr) {
        parsed.name = StringAt(*f, "name");
        parsed.arguments = StringAt(*f, "arguments");
      }
      out.message.tool_calls.push_back(std::move(parsed));
    }
  }
  out.text = out.message.content;
  if (const Json* usage = body->Find("usage"); usage != nullptr && usage->is_object()) {
    out.usage = ParseUsage(*usage);
  }
  return out;
}

bool OpenAIStreamDecoder::OnEvent(const SseEvent& event) {
  if (event.data == "[DONE]") {
    done_ = true;
    return true;
  }
  if (event.data.empty()) return true;  // A comment-only or empty event.
  absl::StatusOr<Json> chunk = Json::Parse(event.data);
  if (!chunk.ok()) {
    return Fail(Malformed(absl::StrCat("a stream chunk is not JSON: ", chunk.status().message())));
  }
  if (const Json* e = chunk->Find("error"); e != nullptr && !e->is_null()) {
    return Fail(ProviderError(provider_, 500, {}, event.data));
  }
  started_ = true;
  if (out_.id.empty()) out_.id = StringAt(*chunk, "id");
  if (out_.model.empty()) out_.model = StringAt(*chunk, "model");
  if (const Json* usage = chunk->Find("usage"); usage != nullptr && usage->is_object()) {
    out_.usage = ParseUsage(*usage);
    input_reported_ = true;
    StreamEvent ev;
    ev.kind = StreamEvent::Kind::kUsage;
    ev.usage = out_.usage;
    if (!Emit(ev)) return false;
  }
  const Json* choices = chunk->Find("choices");
  if (choices == nullptr || !choices->is_array() || choices->size() == 0) return true;
  const Json& choice = choices->as_array()[0];
  if (std::string reason = StringAt(choice, "finish_reason"); !reason.empty()) {
    out_.finish_reason = reason;
  }
  const Json* delta = choice.Find("delta");
  if (delta == nullptr || !delta->is_object()) return true;
  if (std::string text = StringAt(*delta, "content"); !text.empty()) {
    out_.message.content += text;
    StreamEvent ev;
    ev.kind = StreamEvent::Kind::kTextDelta;
    ev.text = std::move(text);
    if (!Emit(ev)) return false;
  }
  if (const Json* calls = delta->Find("tool_calls"); calls != nullptr && calls->is_array()) {
    for (const Json& call : calls->as_array()) {
      const Json* index = call.Find("index");
      int64_t i = index != nullptr && index->is_int() ? index->as_int() : 0;
      if (i < 0 || i > 1024) return Fail(Malformed("tool call index out of range"));
      ToolCall& acc = Call(static_cast<int>(i));
      StreamEvent ev;
      ev.kind = StreamEvent::Kind::kToolCallDelta;
      ev.tool_index = static_cast<int>(i);
      ev.tool_id = StringAt(call, "id");
      if (!ev.tool_id.empty()) acc.id = ev.tool_id;
      if (const Json* f = call.Find("function"); f != nullptr) {
        ev.tool_name = StringAt(*f, "name");
        ev.arguments_delta = StringAt(*f, "arguments");
      }
      if (!ev.tool_name.empty()) acc.name += ev.tool_name;
      acc.arguments += ev.arguments_delta;
      if (!Emit(ev)) return false;
    }
  }
  return true;
}

}  // namespace llmkit::internal
