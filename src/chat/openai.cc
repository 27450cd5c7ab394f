// The OpenAI-compatible chat client: request body, response parsing, and the streamed form
// (server-sent chunks with text and tool-call deltas accumulated by index).

#include "llmkit/openai.h"

#include "absl/strings/str_cat.h"
#include "chat/openai_wire.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

Json MessageJson(const Message& m) {
  Json out = Json::MakeObject();
  out.Set("role", m.role);
  if (!m.parts.empty()) {
    Json parts = Json::MakeArray();
    for (const ContentPart& part : m.parts) {
      Json p = Json::MakeObject();
      p.Set("type", part.type);
      if (part.type == "image_url") {
        Json url = Json::MakeObject();
        url.Set("url", part.image_url);
        p.Set("image_url", std::move(url));
      } else {
        p.Set("text", part.text);
      }
      parts.push_back(std::move(p));
    }
    out.Set("content", std::move(parts));
  } else if (m.role == "assistant" && !m.tool_calls.empty() && m.content.empty()) {
    out.Set("content", Json());
  } else {
    out.Set("content", m.content);
  }
  if (!m.tool_calls.empty()) {
    Json calls = Json::MakeArray();
    for (const ToolCall& call : m.tool_calls) {
      Json c = Json::MakeObject();
      c.Set("id", call.id);
      c.Set("type", "function");
      Json function = Json::MakeObject();
      function.Set("name", call.name);
      function.Set("arguments", call.arguments);
      c.Set("function", std::move(function));
      calls.push_back(std::move(c));
    }
    out.Set("tool_calls", std::move(calls));
  }
  if (!m.tool_call_id.empty()) out.Set("tool_call_id", m.tool_call_id);
  return out;
}

class OpenAIClient final : public internal::HttpChatModel {
 public:
  OpenAIClient(OpenAIOptions options, std::string api_key, std::shared_ptr<HttpTransport> transport)
      : HttpChatModel(std::move(transport), internal::kOpenAIProvider, "x-request-id",
                      options.request_timeout, options.model),
        options_(std::move(options)),
        api_key_(std::move(api_key)) {}

 private:
  absl::StatusOr<ChatResponse> Parse(std::string_view body) const override {
    return internal::ParseOpenAIResponse(body);
  }
  std::unique_ptr<internal::StreamDecoder> NewDecoder(
      const StreamCallback& on_event) const override {
    return std::make_unique<internal::OpenAIStreamDecoder>(on_event);
  }

  absl::StatusOr<HttpRequest> Build(const ChatRequest& request, bool stream) const override {
    Json body = Json::MakeObject();
    std::string model = request.model.empty() ? options_.model : request.model;
    if (model.empty())
      return absl::InvalidArgumentError("no model: set ChatRequest::model or OpenAIOptions::model");
    body.Set("model", model);
    Json messages = Json::MakeArray();
    for (const Message& m : request.messages) messages.push_back(MessageJson(m));
    body.Set("messages", std::move(messages));
    if (request.temperature) body.Set("temperature", *request.temperature);
    if (request.top_p) body.Set("top_p", *request.top_p);
    if (request.max_tokens) {
      body.Set(options_.max_completion_tokens ? "max_completion_tokens" : "max_tokens",
               *request.max_tokens);
    }
    if (!request.stop.empty()) {
      Json stop = Json::MakeArray();
      for (const std::string& s : request.stop) stop.push_back(s);
      body.Set("stop", std::move(stop));
    }
    if (request.seed) body.Set("seed", *request.seed);
    if (!request.tools.empty()) {
      Json tools = Json::MakeArray();
      for (const ToolSpec& tool : request.tools) {
        Json function = Json::MakeObject();
        function.Set("name", tool.name);
        if (!tool.description.empty()) function.Set("description", tool.description);
        function.Set("parameters",
                     tool.parameters.is_null() ? Json::MakeObject() : tool.parameters);
        Json t = Json::MakeObject();
        t.Set("type", "function");
        t.Set("function", std::move(function));
        tools.push_back(std::move(t));
      }
      body.Set("tools", std::move(tools));
    }
    if (!request.tool_choice.is_null()) body.Set("tool_choice", request.tool_choice);
    if (!request.response_format.is_null()) body.Set("response_format", request.response_format);
    if (stream) {
      body.Set("stream", true);
      Json options = Json::MakeObject();
      options.Set("include_usage", true);
      body.Set("stream_options", std::move(options));
    }
    if (request.extra.is_object()) {
      if (const Json* n = request.extra.Find("n");
          n != nullptr && !(n->is_int() && n->as_int() == 1)) {
        return absl::InvalidArgumentError(
            "ChatRequest::extra sets \"n\" to other than 1: a ChatResponse carries one choice; "
            "make n calls instead");
      }
      for (const auto& [key, value] : request.extra.as_object()) body.Set(key, value);
    } else if (!request.extra.is_null()) {
      return absl::InvalidArgumentError("ChatRequest::extra must be a JSON object");
    }
    HttpRequest http;
    http.url = options_.base_url + "/chat/completions";
    http.body = body.Dump();
    http.headers = internal::OpenAIHeaders(options_, api_key_,
                                           stream ? "text/event-stream" : "application/json");
    return http;
  }

  OpenAIOptions options_;
  std::string api_key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChatModel>> NewOpenAIClient(OpenAIOptions options) {
  std::string key = internal::ResolveOpenAIOptions(options);
  LLMKIT_RETURN_IF_ERROR(internal::CheckOpenAIOptions(options));
  std::shared_ptr<HttpTransport> transport = options.transport;
  if (transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(transport, NewCurlTransport());
  }
  return std::unique_ptr<ChatModel>(
      std::make_unique<OpenAIClient>(std::move(options), std::move(key), std::move(transport)));
}

}  // namespace llmkit
