#include "chat/anthropic_wire.h"

#include "absl/strings/str_cat.h"
#include "chat/provider_error.h"
#include "common/absl_compat.h"

namespace llmkit::internal {
namespace {

Usage MakeUsage(int64_t input, int64_t output, int64_t cache_read, int64_t cache_creation) {
  Usage usage;
  usage.input_tokens = input + cache_read + cache_creation;
  usage.output_tokens = output;
  usage.total_tokens = usage.input_tokens + output;
  usage.cached_input_tokens = cache_read;
  usage.cache_creation_input_tokens = cache_creation;
  return usage;
}

// The HTTP status an error type stands for (Anthropic's documented error types).
int StatusForErrorType(std::string_view type) {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "timeout_error") return 504;
  if (type == "overloaded_error") return 529;
  return 500;  // api_error and anything new.
}

}  // namespace

absl::StatusOr<ChatResponse> ParseAnthropicResponse(std::string_view text) {
  absl::StatusOr<Json> body = Json::Parse(text);
  if (!body.ok()) return MalformedResponse(kAnthropicProvider, ToStd(body.status().message()));
  const Json* content = body->Find("content");
  if (content == nullptr || !content->is_array()) {
    return MalformedResponse(kAnthropicProvider, "no content");
  }
  ChatResponse out;
  out.id = StringAt(*body, "id");
  out.model = StringAt(*body, "model");
  out.finish_reason = StringAt(*body, "stop_reason");
  out.message.role = "assistant";
  for (const Json& block : content->as_array()) {
    std::string type = StringAt(block, "type");
    if (type == "text") {
      out.message.content += StringAt(block, "text");
    } else if (type == "tool_use") {
      ToolCall call;
      call.id = StringAt(block, "id");
      call.name = StringAt(block, "name");
      const Json* input = block.Find("input");
      call.arguments = input != nullptr ? input->Dump() : "{}";
      out.message.tool_calls.push_back(std::move(call));
    }  // thinking and other blocks are not part of the answer text.
  }
  out.text = out.message.content;
  const Json* usage = body->Find("usage");
  out.usage = MakeUsage(IntAt(usage, "input_tokens"), IntAt(usage, "output_tokens"),
                        IntAt(usage, "cache_read_input_tokens"),
                        IntAt(usage, "cache_creation_input_tokens"));
  return out;
}

bool AnthropicStreamDecoder::UpdateUsage(const Json& usage) {
  auto update = [&](std::string_view key, int64_t& field) {
    if (const Json* v = usage.Find(key); v != nullptr && v->is_int()) field = v->as_int();
  };
  update("input_tokens", raw_.input);
  update("output_tokens", raw_.output);  // Cumulative in message_delta.
  update("cache_read_input_tokens", raw_.cache_read);
  update("cache_creation_input_tokens", raw_.cache_creation);
  out_.usage = MakeUsage(raw_.input, raw_.output, raw_.cache_read, raw_.cache_creation);
  return true;
}

bool AnthropicStreamDecoder::OnEvent(const SseEvent& event) {
  if (event.event == "ping" || event.event.empty()) return true;  // As the official SDK.
  if (event.event == "error") {
    std::string type;
    if (absl::StatusOr<Json> body = Json::Parse(event.data); body.ok()) {
      if (const Json* error = body->Find("error"); error != nullptr)
        type = StringAt(*error, "type");
    }
    return Fail(ProviderError(provider_, StatusForErrorType(type), {}, event.data));
  }
  if (event.data.empty()) return true;
  absl::StatusOr<Json> parsed = Json::Parse(event.data);
  if (!parsed.ok()) {
    return Fail(Malformed(absl::StrCat("a stream event is not JSON: ", parsed.status().message())));
  }
  const Json& data = *parsed;
  std::string type = StringAt(data, "type");
  if (type.empty()) type = std::string(event.event);
  const Json* index_json = data.Find("index");
  int64_t block = index_json != nullptr && index_json->is_int() ? index_json->as_int() : -1;

  if (type == "message_start") {
    const Json* message = data.Find("message");
    if (message == nullptr || !message->is_object()) return Fail(Malformed("message_start"));
    out_.id = StringAt(*message, "id");
    out_.model = StringAt(*message, "model");
    started_ = true;
    if (const Json* usage = message->Find("usage"); usage != nullptr && usage->is_object()) {
      input_reported_ = usage->Find("input_tokens") != nullptr;
      UpdateUsage(*usage);
    }
    return true;
  }
  if (type == "content_block_start") {
    const Json* content = data.Find("content_block");
    if (content == nullptr || !content->is_object()) return Fail(Malformed("content_block_start"));
    std::string block_type = StringAt(*content, "type");
    if (block_type == "text") {
      std::string text = StringAt(*content, "text");
      if (text.empty()) return true;
      out_.message.content += text;
      StreamEvent ev;
      ev.text = std::move(text);
      return Emit(ev);
    }
    if (block_type != "tool_use") return true;
    int ordinal = static_cast<int>(tool_of_block_.size());
    if (!tool_of_block_.emplace(block, ordinal).second) {
      return Fail(Malformed("a content block index repeats"));
    }
    ToolCall& call = Call(ordinal);
    call.id = StringAt(*content, "id");
    call.name = StringAt(*content, "name");
    StreamEvent ev;
    ev.kind = StreamEvent::Kind::kToolCallDelta;
    ev.tool_index = ordinal;
    ev.tool_id = call.id;
    ev.tool_name = call.name;
    return Emit(ev);
  }
  if (type == "content_block_delta") {
    const Json* delta = data.Find("delta");
    if (delta == nullptr || !delta->is_object()) return Fail(Malformed("content_block_delta"));
    std::string delta_type = StringAt(*delta, "type");
    if (delta_type == "text_delta") {
      StreamEvent ev;
      ev.text = StringAt(*delta, "text");
      out_.message.content += ev.text;
      return ev.text.empty() || Emit(ev);
    }
    if (delta_type == "input_json_delta") {
      auto it = tool_of_block_.find(block);
      if (it == tool_of_block_.end()) return Fail(Malformed("input_json_delta for no tool_use"));
      StreamEvent ev;
      ev.kind = StreamEvent::Kind::kToolCallDelta;
      ev.tool_index = it->second;
      ev.arguments_delta = StringAt(*delta, "partial_json");
      Call(it->second).arguments += ev.arguments_delta;
      return Emit(ev);
    }
    return true;  // thinking_delta, signature_delta, citations: not part of the answer.
  }
  if (type == "content_block_stop") {
    auto it = tool_of_block_.find(block);
    if (it == tool_of_block_.end()) return true;
    // The same compact text the plain response gives for the parsed input.
    std::string& arguments = Call(it->second).arguments;
    if (arguments.empty()) {
      arguments = "{}";
      return true;
    }
    absl::StatusOr<Json> input = Json::Parse(arguments);
    if (!input.ok()) return Fail(Malformed("a tool_use input is not JSON"));
    arguments = input->Dump();
    return true;
  }
  if (type == "message_delta") {
    if (const Json* delta = data.Find("delta"); delta != nullptr) {
      if (std::string reason = StringAt(*delta, "stop_reason"); !reason.empty()) {
        out_.finish_reason = std::move(reason);
      }
    }
    if (const Json* usage = data.Find("usage"); usage != nullptr && usage->is_object()) {
      UpdateUsage(*usage);
      StreamEvent ev;
      ev.kind = StreamEvent::Kind::kUsage;
      ev.usage = out_.usage;
      return Emit(ev);
    }
    return true;
  }
  if (type == "message_stop") done_ = true;
  return true;  // Unknown event types are skipped, as the SDK does.
}

}  // namespace llmkit::internal
