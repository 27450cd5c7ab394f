// The OpenAI-compatible chat client: request body, response parsing, and the streamed form
// (server-sent chunks with text and tool-call deltas accumulated by index).

#include "llmkit/openai.h"

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "chat/provider_error.h"
#include "common/absl_compat.h"
#include "http/sse.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

constexpr char kProvider[] = "OpenAI-compatible server";

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

Usage ParseUsage(const Json& usage) {
  Usage out;
  auto get = [](const Json* object, std::string_view key) -> int64_t {
    const Json* v = object != nullptr ? object->Find(key) : nullptr;
    return v != nullptr && v->is_int() ? v->as_int() : 0;
  };
  out.input_tokens = get(&usage, "prompt_tokens");
  out.output_tokens = get(&usage, "completion_tokens");
  out.total_tokens = get(&usage, "total_tokens");
  out.cached_input_tokens = get(usage.Find("prompt_tokens_details"), "cached_tokens");
  out.reasoning_tokens = get(usage.Find("completion_tokens_details"), "reasoning_tokens");
  return out;
}

std::string StringAt(const Json& object, std::string_view key) {
  const Json* v = object.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

absl::Status Malformed(std::string_view what) {
  return absl::UnavailableError(
      absl::StrCat(kProvider, " sent a malformed response: ", internal::ToAbsl(what)));
}

class OpenAIClient final : public ChatModel {
 public:
  OpenAIClient(OpenAIOptions options, std::string api_key, std::shared_ptr<HttpTransport> transport)
      : options_(std::move(options)),
        api_key_(std::move(api_key)),
        transport_(std::move(transport)) {}

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request) override {
    LLMKIT_ASSIGN_OR_RETURN(HttpRequest http, Build(request, /*stream=*/false));
    LLMKIT_ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(std::move(http)));
    if (response.status < 200 || response.status >= 300) {
      return internal::ProviderError(kProvider, response.status, response.headers, response.body);
    }
    absl::StatusOr<Json> body = Json::Parse(response.body);
    if (!body.ok()) return Malformed(internal::ToStd(body.status().message()));
    ChatResponse out;
    out.request_id = std::string(response.Header("x-request-id").value_or(""));
    out.id = StringAt(*body, "id");
    out.model = StringAt(*body, "model");
    const Json* choices = body->Find("choices");
    if (choices == nullptr || !choices->is_array() || choices->size() == 0) {
      return Malformed("no choices");
    }
    const Json& choice = choices->as_array()[0];
    out.finish_reason = StringAt(choice, "finish_reason");
    const Json* message = choice.Find("message");
    if (message == nullptr || !message->is_object()) return Malformed("no message");
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

  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request,
                                      const StreamCallback& on_event) override {
    LLMKIT_ASSIGN_OR_RETURN(HttpRequest http, Build(request, /*stream=*/true));
    StreamState state(on_event);
    absl::StatusOr<HttpResponse> response = transport_->Send(std::move(http), &state);
    if (state.http_status != 0 && (state.http_status < 200 || state.http_status >= 300)) {
      return internal::ProviderError(kProvider, state.http_status, state.headers, state.error_body);
    }
    if (!state.error.ok()) return state.error;
    if (!response.ok()) return response.status();
    absl::Status finished = state.parser.Finish();  // Delivers an event missing its blank line.
    if (!state.error.ok()) return state.error;
    if (!finished.ok()) return finished;
    return state.Result();
  }

 private:
  // Parses the chunks as they arrive and keeps what the final response needs.
  struct StreamState : StreamHandler {
    explicit StreamState(const StreamCallback& callback)
        : on_event(callback), parser([this](const internal::SseEvent& e) { return OnEvent(e); }) {}

    bool OnHeaders(int status, const HttpHeaders& h) override {
      http_status = status;
      headers = h;
      out.request_id = std::string(FindHeader(h, "x-request-id").value_or(""));
      return true;
    }
    bool OnData(std::string_view bytes) override {
      if (http_status < 200 || http_status >= 300) {  // An error body, kept up to 64 KB.
        constexpr size_t kMaxErrorBody = 64 << 10;
        if (error_body.size() < kMaxErrorBody) {
          error_body.append(bytes.substr(0, kMaxErrorBody - error_body.size()));
        }
        return true;
      }
      absl::Status status = parser.Feed(bytes);
      if (!status.ok()) {
        if (error.ok()) error = status;
        return false;
      }
      return true;
    }

    bool OnEvent(const internal::SseEvent& event) {
      if (event.data == "[DONE]") return true;
      absl::StatusOr<Json> chunk = Json::Parse(event.data);
      if (!chunk.ok()) {
        error = Malformed(absl::StrCat("a stream chunk is not JSON: ", chunk.status().message()));
        return false;
      }
      if (const Json* e = chunk->Find("error"); e != nullptr && !e->is_null()) {
        error = internal::ProviderError(kProvider, 500, {}, event.data);
        return false;
      }
      if (out.id.empty()) out.id = StringAt(*chunk, "id");
      if (out.model.empty()) out.model = StringAt(*chunk, "model");
      if (const Json* usage = chunk->Find("usage"); usage != nullptr && usage->is_object()) {
        out.usage = ParseUsage(*usage);
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::kUsage;
        ev.usage = out.usage;
        if (!Emit(ev)) return false;
      }
      const Json* choices = chunk->Find("choices");
      if (choices == nullptr || !choices->is_array() || choices->size() == 0) return true;
      const Json& choice = choices->as_array()[0];
      if (std::string reason = StringAt(choice, "finish_reason"); !reason.empty()) {
        out.finish_reason = reason;
      }
      const Json* delta = choice.Find("delta");
      if (delta == nullptr || !delta->is_object()) return true;
      if (std::string text = StringAt(*delta, "content"); !text.empty()) {
        out.message.content += text;
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::kTextDelta;
        ev.text = std::move(text);
        if (!Emit(ev)) return false;
      }
      if (const Json* calls = delta->Find("tool_calls"); calls != nullptr && calls->is_array()) {
        for (const Json& call : calls->as_array()) {
          const Json* index = call.Find("index");
          int i = index != nullptr && index->is_int() ? static_cast<int>(index->as_int()) : 0;
          ToolCall& acc = tool_calls[i];
          StreamEvent ev;
          ev.kind = StreamEvent::Kind::kToolCallDelta;
          ev.tool_index = i;
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

    bool Emit(const StreamEvent& ev) {
      if (on_event && !on_event(ev)) {
        error = absl::CancelledError("the stream callback stopped the stream");
        return false;
      }
      return true;
    }

    absl::StatusOr<ChatResponse> Result() {
      out.message.role = "assistant";
      for (auto& [index, call] : tool_calls) out.message.tool_calls.push_back(call);
      out.text = out.message.content;
      StreamEvent ev;
      ev.kind = StreamEvent::Kind::kDone;
      if (on_event) on_event(ev);
      return out;
    }

    const StreamCallback& on_event;
    internal::SseParser parser;
    int http_status = 0;
    HttpHeaders headers;
    std::string error_body;
    absl::Status error;
    ChatResponse out;
    std::map<int, ToolCall> tool_calls;
  };

  absl::StatusOr<HttpRequest> Build(const ChatRequest& request, bool stream) const {
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
      for (const auto& [key, value] : request.extra.as_object()) body.Set(key, value);
    } else if (!request.extra.is_null()) {
      return absl::InvalidArgumentError("ChatRequest::extra must be a JSON object");
    }
    HttpRequest http;
    http.url = options_.base_url + "/chat/completions";
    http.body = body.Dump();
    http.timeout = request.timeout;
    http.cancellation = request.cancellation;
    http.headers = {{"Content-Type", "application/json"},
                    {"Accept", stream ? "text/event-stream" : "application/json"}};
    if (!api_key_.empty()) http.headers.emplace_back("Authorization", "Bearer " + api_key_);
    if (!options_.organization.empty())
      http.headers.emplace_back("OpenAI-Organization", options_.organization);
    if (!options_.project.empty()) http.headers.emplace_back("OpenAI-Project", options_.project);
    for (const auto& header : options_.extra_headers) http.headers.push_back(header);
    return http;
  }

  OpenAIOptions options_;
  std::string api_key_;
  std::shared_ptr<HttpTransport> transport_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChatModel>> NewOpenAIClient(OpenAIOptions options) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  if (options.base_url.empty()) return absl::InvalidArgumentError("base_url is empty");
  std::string key = options.api_key;
  if (key.empty()) {
    if (const char* env = std::getenv("OPENAI_API_KEY")) key = env;
  }
  options.api_key.clear();  // Kept in one place only.
  std::shared_ptr<HttpTransport> transport = options.transport;
  if (transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(transport, NewCurlTransport());
  }
  return std::unique_ptr<ChatModel>(
      std::make_unique<OpenAIClient>(std::move(options), std::move(key), std::move(transport)));
}

}  // namespace llmkit
