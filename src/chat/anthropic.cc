// The Anthropic Messages client: maps chat.h requests to the Messages API body and sends them.

#include "llmkit/anthropic.h"

#include "absl/strings/str_cat.h"
#include "chat/anthropic_wire.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

// {"type":"image","source":...} from a URL; data: URLs become base64 sources.
Json ImageBlock(const std::string& url) {
  Json source = Json::MakeObject();
  constexpr std::string_view kData = "data:";
  size_t marker = url.find(";base64,");
  if (url.compare(0, kData.size(), kData) == 0 && marker != std::string::npos) {
    source.Set("type", "base64");
    source.Set("media_type", url.substr(kData.size(), marker - kData.size()));
    source.Set("data", url.substr(marker + 8));
  } else {
    source.Set("type", "url");
    source.Set("url", url);
  }
  Json block = Json::MakeObject();
  block.Set("type", "image");
  block.Set("source", std::move(source));
  return block;
}

Json TextBlock(std::string_view text) {
  Json block = Json::MakeObject();
  block.Set("type", "text");
  block.Set("text", text);
  return block;
}

absl::StatusOr<Json> ContentOf(const Message& m) {
  if (m.parts.empty() && m.tool_calls.empty()) return Json(m.content);
  Json blocks = Json::MakeArray();
  for (const ContentPart& part : m.parts) {
    if (part.type == "image_url") {
      blocks.push_back(ImageBlock(part.image_url));
    } else {
      blocks.push_back(TextBlock(part.text));
    }
  }
  if (m.parts.empty() && !m.content.empty()) blocks.push_back(TextBlock(m.content));
  for (const ToolCall& call : m.tool_calls) {
    Json block = Json::MakeObject();
    block.Set("type", "tool_use");
    block.Set("id", call.id);
    block.Set("name", call.name);
    if (call.arguments.empty()) {
      block.Set("input", Json::MakeObject());
    } else {
      absl::StatusOr<Json> input = Json::Parse(call.arguments);
      if (!input.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the arguments of tool call '", call.id, "' are not JSON: ", input.status().message()));
      }
      block.Set("input", *std::move(input));
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

absl::StatusOr<Json> MessagesJson(const std::vector<Message>& messages, std::string* system) {
  Json out = Json::MakeArray();
  Json* tool_turn = nullptr;  // The user turn collecting consecutive tool results.
  for (const Message& m : messages) {
    if (m.role == "system") {
      if (!system->empty()) system->append("\n\n");
      system->append(m.content);
      for (const ContentPart& part : m.parts) system->append(part.text);
      continue;
    }
    if (m.role == "tool") {
      Json result = Json::MakeObject();
      result.Set("type", "tool_result");
      result.Set("tool_use_id", m.tool_call_id);
      result.Set("content", m.content);
      if (tool_turn == nullptr) {
        Json turn = Json::MakeObject();
        turn.Set("role", "user");
        turn.Set("content", Json::MakeArray());
        out.push_back(std::move(turn));
        tool_turn = &out.as_array().back();
      }
      (*tool_turn)["content"].push_back(std::move(result));
      continue;
    }
    tool_turn = nullptr;
    if (m.role != "user" && m.role != "assistant") {
      return absl::InvalidArgumentError(
          absl::StrCat("Anthropic has no message role '", m.role, "'"));
    }
    LLMKIT_ASSIGN_OR_RETURN(Json content, ContentOf(m));
    Json turn = Json::MakeObject();
    turn.Set("role", m.role);
    turn.Set("content", std::move(content));
    out.push_back(std::move(turn));
  }
  return out;
}

Json ToolChoice(const Json& choice) {
  Json out = Json::MakeObject();
  if (choice.is_string()) {
    const std::string& s = choice.as_string();
    out.Set("type", s == "required" ? "any" : s);  // "auto", "none", "any"
    return out;
  }
  if (const Json* f = choice.Find("function"); f != nullptr && f->is_object()) {
    out.Set("type", "tool");
    out.Set("name", internal::StringAt(*f, "name"));
    return out;
  }
  return choice;
}

class AnthropicClient final : public internal::HttpChatModel {
 public:
  AnthropicClient(AnthropicOptions options, std::string api_key,
                  std::shared_ptr<HttpTransport> transport)
      : HttpChatModel(std::move(transport), internal::kAnthropicProvider, "request-id",
                      options.request_timeout, options.model),
        options_(std::move(options)),
        api_key_(std::move(api_key)) {}

 private:
  absl::StatusOr<ChatResponse> Parse(std::string_view body) const override {
    return internal::ParseAnthropicResponse(body);
  }
  std::unique_ptr<internal::StreamDecoder> NewDecoder(
      const StreamCallback& on_event) const override {
    return std::make_unique<internal::AnthropicStreamDecoder>(on_event);
  }

  absl::StatusOr<HttpRequest> Build(const ChatRequest& request, bool stream) const override {
    std::string model = request.model.empty() ? options_.model : request.model;
    if (model.empty()) {
      return absl::InvalidArgumentError(
          "no model: set ChatRequest::model or AnthropicOptions::model");
    }
    if (!request.response_format.is_null()) {
      return absl::InvalidArgumentError(
          "Anthropic has no response_format; describe the output with a tool or pass fields "
          "through ChatRequest::extra");
    }
    if (!request.extra.is_null() && !request.extra.is_object()) {
      return absl::InvalidArgumentError("ChatRequest::extra must be a JSON object");
    }
    std::string system;
    LLMKIT_ASSIGN_OR_RETURN(Json messages, MessagesJson(request.messages, &system));
    Json body = Json::MakeObject();
    body.Set("model", model);
    body.Set("max_tokens", request.max_tokens.value_or(options_.default_max_tokens));
    if (!system.empty()) body.Set("system", system);
    body.Set("messages", std::move(messages));
    if (request.temperature) body.Set("temperature", *request.temperature);
    if (request.top_p) body.Set("top_p", *request.top_p);
    if (!request.stop.empty()) {
      Json stop = Json::MakeArray();
      for (const std::string& s : request.stop) stop.push_back(s);
      body.Set("stop_sequences", std::move(stop));
    }
    if (!request.tools.empty()) {
      Json tools = Json::MakeArray();
      for (const ToolSpec& tool : request.tools) {
        Json t = Json::MakeObject();
        t.Set("name", tool.name);
        if (!tool.description.empty()) t.Set("description", tool.description);
        Json schema = tool.parameters;
        if (schema.is_null()) schema.Set("type", "object");
        t.Set("input_schema", std::move(schema));
        tools.push_back(std::move(t));
      }
      body.Set("tools", std::move(tools));
    }
    if (!request.tool_choice.is_null()) body.Set("tool_choice", ToolChoice(request.tool_choice));
    if (stream) body.Set("stream", true);
    if (request.extra.is_object()) {
      for (const auto& [key, value] : request.extra.as_object()) body.Set(key, value);
    }
    HttpRequest http;
    http.url = options_.base_url + "/v1/messages";
    http.body = body.Dump();
    http.headers = {{"Content-Type", "application/json"},
                    {"Accept", stream ? "text/event-stream" : "application/json"},
                    {"anthropic-version", options_.anthropic_version}};
    if (!api_key_.empty()) http.headers.emplace_back("x-api-key", api_key_);
    for (const auto& header : options_.extra_headers) http.headers.push_back(header);
    return http;
  }

  AnthropicOptions options_;
  std::string api_key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChatModel>> NewAnthropicClient(AnthropicOptions options) {
  options.base_url = internal::OptionOrEnv(std::move(options.base_url), "ANTHROPIC_BASE_URL",
                                           "https://api.anthropic.com");
  while (options.base_url.size() > 1 && options.base_url.back() == '/') options.base_url.pop_back();
  std::string key = internal::OptionOrEnv(std::move(options.api_key), "ANTHROPIC_API_KEY", "");
  options.api_key.clear();  // Kept in one place only.
  if (options.request_timeout.count() < 0) {
    return absl::InvalidArgumentError("AnthropicOptions::request_timeout must be >= 0 (0: none)");
  }
  if (options.default_max_tokens < 1) {
    return absl::InvalidArgumentError("AnthropicOptions::default_max_tokens must be >= 1");
  }
  std::shared_ptr<HttpTransport> transport = options.transport;
  if (transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(transport, NewCurlTransport());
  }
  return std::unique_ptr<ChatModel>(
      std::make_unique<AnthropicClient>(std::move(options), std::move(key), std::move(transport)));
}

}  // namespace llmkit
