// CanonicalRequest: a ChatRequest as one JSON text, members in a fixed (sorted) order and Json
// values dumped with sorted keys, so that equal requests give equal text however their Json
// values were built, and requests that differ in anything sent give different text.

#include <optional>
#include <string>

#include "json/json_text.h"
#include "llmkit/cache.h"

namespace llmkit {
namespace {

void Key(std::string_view name, std::string* out) {
  if (out->back() != '{') out->push_back(',');
  internal::AppendString(name, /*ensure_ascii=*/false, out);
  out->push_back(':');
}

void Text(std::string_view name, std::string_view value, std::string* out) {
  Key(name, out);
  internal::AppendString(value, /*ensure_ascii=*/false, out);
}

void Value(std::string_view name, const Json& value, std::string* out) {
  Key(name, out);
  JsonDumpOptions canonical;
  canonical.sort_keys = true;
  out->append(value.Dump(canonical));
}

void Number(std::string_view name, const std::optional<double>& value, std::string* out) {
  Key(name, out);
  if (value) {
    internal::AppendDouble(*value, out);
  } else {
    out->append("null");
  }
}

void Integer(std::string_view name, const std::optional<int64_t>& value, std::string* out) {
  Key(name, out);
  out->append(value ? std::to_string(*value) : "null");
}

void AppendMessage(const Message& m, std::string* out) {
  out->push_back('{');
  Text("content", m.content, out);
  Key("parts", out);
  out->push_back('[');
  for (const ContentPart& p : m.parts) {
    if (out->back() != '[') out->push_back(',');
    out->push_back('{');
    Text("image_url", p.image_url, out);
    Text("text", p.text, out);
    Text("type", p.type, out);
    out->push_back('}');
  }
  out->push_back(']');
  Text("role", m.role, out);
  Text("tool_call_id", m.tool_call_id, out);
  Key("tool_calls", out);
  out->push_back('[');
  for (const ToolCall& c : m.tool_calls) {
    if (out->back() != '[') out->push_back(',');
    out->push_back('{');
    Text("arguments", c.arguments, out);  // As the model wrote it: it is sent as text.
    Text("id", c.id, out);
    Text("name", c.name, out);
    out->push_back('}');
  }
  out->append("]}");
}

}  // namespace

std::string CanonicalRequest(const ChatRequest& request) {
  std::string out;
  size_t estimate = 256;
  for (const Message& m : request.messages) estimate += m.content.size() + 96;
  out.reserve(estimate);
  out.push_back('{');
  Value("extra", request.extra, &out);
  Integer("max_tokens", request.max_tokens, &out);
  Key("messages", &out);
  out.push_back('[');
  for (const Message& m : request.messages) {
    if (out.back() != '[') out.push_back(',');
    AppendMessage(m, &out);
  }
  out.push_back(']');
  Text("model", request.model, &out);
  Value("response_format", request.response_format, &out);
  Integer("seed", request.seed, &out);
  Key("stop", &out);
  out.push_back('[');
  for (const std::string& s : request.stop) {
    if (out.back() != '[') out.push_back(',');
    internal::AppendString(s, false, &out);
  }
  out.push_back(']');
  Number("temperature", request.temperature, &out);
  Value("tool_choice", request.tool_choice, &out);
  Key("tools", &out);
  out.push_back('[');
  for (const ToolSpec& t : request.tools) {
    if (out.back() != '[') out.push_back(',');
    out.push_back('{');
    Text("description", t.description, &out);
    Text("name", t.name, &out);
    Value("parameters", t.parameters, &out);
    out.push_back('}');
  }
  out.push_back(']');
  Number("top_p", request.top_p, &out);
  out.push_back('}');
  return out;
}

}  // namespace llmkit
