// CanonicalRequest: a ChatRequest as one JSON text, members in a fixed (sorted) order and Json
// values dumped with sorted keys, so that equal requests give equal text however their Json
// values were built, and requests that differ in anything sent give different text.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "json/json_text.h"
#include "llmkit/cache.h"

namespace llmkit {
namespace {

// Whether any of the 8 bytes of `w` is a control byte, a quote or a backslash (bit tricks on a
// word: a byte is below n when subtracting n borrows into its top bit).
bool NeedsEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto below = [](uint64_t x, uint64_t n) { return (x - kOnes * n) & ~x & kHigh; };
  return (below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1)) != 0;
}

// `text` as a JSON string literal: quote, backslash and control bytes escaped, every other byte
// as it is (invalid UTF-8 too: the form needs only to be one-to-one, and this is). Runs of plain
// bytes are copied at once, found 8 bytes at a time: the key of a long conversation is mostly
// message text.
void Quoted(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      if (!NeedsEscape(w)) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(text.data() + start, i - start);
    start = ++i;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else {
      const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(escape, 6);
    }
  }
  out->append(text.data() + start, text.size() - start);
  out->push_back('"');
}

// A member's name (a plain ASCII literal: nothing to escape).
void Key(std::string_view name, std::string* out) {
  if (out->back() != '{') out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void Text(std::string_view name, std::string_view value, std::string* out) {
  Key(name, out);
  Quoted(value, out);
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

// Members that are empty in most messages (parts, tool_call_id, tool_calls) are left out when
// empty: the form stays one-to-one, as a member is either there or not.
void AppendMessage(const Message& m, std::string* out) {
  out->push_back('{');
  Text("content", m.content, out);
  if (!m.parts.empty()) {
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
  }
  Text("role", m.role, out);
  if (!m.tool_call_id.empty()) Text("tool_call_id", m.tool_call_id, out);
  if (!m.tool_calls.empty()) {
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
    out->push_back(']');
  }
  out->push_back('}');
}

}  // namespace

void AppendCanonicalRequest(const ChatRequest& request, std::string* out_ptr) {
  std::string& out = *out_ptr;
  size_t estimate = out.size() + 256;
  for (const Message& m : request.messages) estimate += m.content.size() + 40;
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
    Quoted(s, &out);
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
}

std::string CanonicalRequest(const ChatRequest& request) {
  std::string out;
  AppendCanonicalRequest(request, &out);
  return out;
}

}  // namespace llmkit
