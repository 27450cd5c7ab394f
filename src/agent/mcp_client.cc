// McpClient: the MCP session over either transport — initialize, tools/list, tools/call, and the
// server's tools as agent tools (agent.h).

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/mcp_impl.h"
#include "common/absl_compat.h"
#include "llmkit/schema.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using internal::ToAbsl;

// Newest first; the first is what we ask for.
constexpr const char* kProtocolVersions[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

absl::Status RpcError(std::string_view method, const Json& error) {
  const Json* code = error.Find("code");
  const Json* message = error.Find("message");
  const int64_t c = code != nullptr && code->is_int() ? code->as_int() : 0;
  std::string text =
      absl::StrCat("MCP ", ToAbsl(method), ": server error ", c, ": ",
                   message != nullptr && message->is_string() ? message->as_string()
                                                              : std::string("(no message)"));
  switch (c) {
    case -32601:
      return absl::UnimplementedError(text);
    case -32600:
    case -32602:
    case -32700:
      return absl::InvalidArgumentError(text);
    default:
      return absl::InternalError(text);
  }
}

// The text of a tools/call result's content: text items as they are, others described.
std::string ContentText(const Json& content) {
  std::vector<std::string> parts;
  if (!content.is_array()) return {};
  for (const Json& item : content.as_array()) {
    const Json* type = item.Find("type");
    const std::string kind = type != nullptr && type->is_string() ? type->as_string() : "";
    if (kind == "text") {
      const Json* text = item.Find("text");
      if (text != nullptr && text->is_string()) parts.push_back(text->as_string());
    } else if (kind == "resource") {
      const Json* resource = item.Find("resource");
      const Json* text = resource != nullptr ? resource->Find("text") : nullptr;
      const Json* uri = resource != nullptr ? resource->Find("uri") : nullptr;
      if (text != nullptr && text->is_string()) {
        parts.push_back(text->as_string());
      } else {
        parts.push_back(absl::StrCat(
            "[resource ", uri != nullptr && uri->is_string() ? uri->as_string() : "", "]"));
      }
    } else if (kind == "resource_link") {
      const Json* uri = item.Find("uri");
      parts.push_back(absl::StrCat(
          "[resource link ", uri != nullptr && uri->is_string() ? uri->as_string() : "", "]"));
    } else {
      const Json* mime = item.Find("mimeType");
      parts.push_back(absl::StrCat(
          "[", kind, " ", mime != nullptr && mime->is_string() ? mime->as_string() : "", "]"));
    }
  }
  return absl::StrJoin(parts, "\n");
}

// A provider-valid tool name: characters outside [A-Za-z0-9_-] become '_', at most 64.
std::string AgentToolName(std::string_view prefix, std::string_view name) {
  std::string out = absl::StrCat(ToAbsl(prefix), ToAbsl(name));
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.size() > 64) out.resize(64);
  return out;
}

// A tools/call result: its content, structured content and error flag, and the text the content
// makes (the structured content's JSON when the content has no text).
McpCallResult CallResultOf(const Json& result) {
  McpCallResult out;
  if (const Json* content = result.Find("content")) out.content = *content;
  if (const Json* structured = result.Find("structuredContent")) {
    out.structured_content = *structured;
  }
  const Json* is_error = result.Find("isError");
  out.is_error = is_error != nullptr && is_error->is_bool() && is_error->as_bool();
  out.text = ContentText(out.content);
  if (out.text.empty() && !out.structured_content.is_null()) {
    out.text = out.structured_content.Dump();
  }
  return out;
}

}  // namespace

Json McpClient::Impl::AnswerServerRequest(const Json& request) {
  Json answer = Json::MakeObject();
  answer.Set("jsonrpc", "2.0");
  answer.Set("id", *request.Find("id"));
  const Json* method = request.Find("method");
  if (method != nullptr && method->is_string() && method->as_string() == "ping") {
    answer.Set("result", Json::MakeObject());
  } else {
    Json error = Json::MakeObject();
    error.Set("code", -32601);
    error.Set("message", "method not supported by this client");
    answer.Set("error", std::move(error));
  }
  return answer;
}

absl::StatusOr<Json> McpClient::Impl::Request(std::string_view method, Json params,
                                              const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check(absl::StrCat("MCP ", ToAbsl(method))));
  const int64_t id = next_id_++;
  Json request = Json::MakeObject();
  request.Set("jsonrpc", "2.0");
  request.Set("id", id);
  request.Set("method", std::string(method));
  request.Set("params", std::move(params));
  const Clock::time_point deadline =
      call.has_deadline() ? call.deadline : CallContext::DeadlineAfter(options_.request_timeout);
  LLMKIT_ASSIGN_OR_RETURN(Json response, Exchange(request, id, deadline, call.cancellation));
  if (const Json* error = response.Find("error"); error != nullptr) {
    return RpcError(method, *error);
  }
  const Json* result = response.Find("result");
  if (result == nullptr || !result->is_object()) {
    return absl::DataLossError(
        absl::StrCat("MCP ", ToAbsl(method), ": a response without a result object"));
  }
  return *result;
}

absl::Status McpClient::Impl::Initialize(const CallContext& call) {
  Json params = Json::MakeObject();
  params.Set("protocolVersion", std::string(kProtocolVersions[0]));
  params.Set("capabilities", Json::MakeObject());
  Json info = Json::MakeObject();
  info.Set("name", "llmkit");
  info.Set("version", "1");
  params.Set("clientInfo", std::move(info));
  LLMKIT_ASSIGN_OR_RETURN(Json result, Request("initialize", std::move(params), call));
  const Json* version = result.Find("protocolVersion");
  if (version == nullptr || !version->is_string() ||
      std::find(std::begin(kProtocolVersions), std::end(kProtocolVersions),
                std::string_view(version->as_string())) == std::end(kProtocolVersions)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MCP server speaks protocol version ",
        version != nullptr ? version->Dump() : std::string("(none)"), "; this client speaks ",
        absl::StrJoin(std::begin(kProtocolVersions), std::end(kProtocolVersions), ", ")));
  }
  protocol_version_ = version->as_string();
  if (const Json* server = result.Find("serverInfo")) server_info_ = *server;
  return Notify("notifications/initialized", Json::MakeObject());
}

McpClient::McpClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
McpClient::~McpClient() = default;

absl::StatusOr<std::shared_ptr<McpClient>> McpClient::Stdio(std::vector<std::string> command,
                                                            McpOptions options,
                                                            const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<Impl> impl,
                          internal::agent::StartMcpStdio(std::move(command), std::move(options)));
  LLMKIT_RETURN_IF_ERROR(impl->Initialize(call));
  return std::shared_ptr<McpClient>(new McpClient(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<McpClient>> McpClient::Http(std::string url, McpOptions options,
                                                           const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<Impl> impl,
                          internal::agent::StartMcpHttp(std::move(url), std::move(options)));
  LLMKIT_RETURN_IF_ERROR(impl->Initialize(call));
  return std::shared_ptr<McpClient>(new McpClient(std::move(impl)));
}

const Json& McpClient::server_info() const { return impl_->server_info(); }
const std::string& McpClient::protocol_version() const { return impl_->protocol_version(); }

absl::StatusOr<std::vector<McpTool>> McpClient::ListTools(const CallContext& call) {
  std::vector<McpTool> tools;
  std::string cursor;
  for (int page = 0; page < 10000; ++page) {
    Json params = Json::MakeObject();
    if (!cursor.empty()) params.Set("cursor", cursor);
    LLMKIT_ASSIGN_OR_RETURN(Json result, impl_->Request("tools/list", std::move(params), call));
    const Json* list = result.Find("tools");
    if (list == nullptr || !list->is_array()) {
      return absl::DataLossError("MCP tools/list: a result without a tools array");
    }
    for (const Json& t : list->as_array()) {
      const Json* name = t.Find("name");
      if (name == nullptr || !name->is_string()) {
        return absl::DataLossError("MCP tools/list: a tool without a name");
      }
      McpTool tool;
      tool.name = name->as_string();
      if (const Json* d = t.Find("description"); d != nullptr && d->is_string()) {
        tool.description = d->as_string();
      }
      if (const Json* schema = t.Find("inputSchema")) tool.input_schema = *schema;
      tools.push_back(std::move(tool));
    }
    const Json* next = result.Find("nextCursor");
    if (next == nullptr || !next->is_string() || next->as_string().empty()) return tools;
    cursor = next->as_string();
  }
  return absl::DataLossError("MCP tools/list: more than 10,000 pages");
}

absl::StatusOr<McpCallResult> McpClient::CallTool(std::string_view name, const Json& arguments,
                                                  const CallContext& call) {
  Json params = Json::MakeObject();
  params.Set("name", std::string(name));
  params.Set("arguments", arguments.is_null() ? Json::MakeObject() : arguments);
  LLMKIT_ASSIGN_OR_RETURN(Json result, impl_->Request("tools/call", std::move(params), call));
  return CallResultOf(result);
}

absl::StatusOr<std::vector<AgentTool>> McpClient::Tools(std::string_view prefix,
                                                        const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<McpTool> listed, ListTools(call));
  std::vector<AgentTool> tools;
  std::shared_ptr<Impl> impl = impl_;
  for (McpTool& t : listed) {
    AgentTool tool;
    tool.name = AgentToolName(prefix, t.name);
    tool.description = std::move(t.description);
    // A schema this validator cannot compile (a regex RE2 refuses, say) is left to the server
    // to check: the model still sees it.
    tool.parameters = t.input_schema.is_object() ? std::move(t.input_schema) : Json();
    if (!tool.parameters.is_null() && !JsonSchema::Compile(tool.parameters).ok()) {
      tool.description =
          absl::StrCat(tool.description, "\nArguments (JSON Schema): ", tool.parameters.Dump());
      tool.parameters = Json();
    }
    std::string server_name = t.name;
    tool.run = [impl, server_name](const Json& arguments,
                                   const ToolContext& context) -> absl::StatusOr<Json> {
      Json params = Json::MakeObject();
      params.Set("name", server_name);
      params.Set("arguments", arguments);
      LLMKIT_ASSIGN_OR_RETURN(Json result,
                              impl->Request("tools/call", std::move(params), context.call));
      McpCallResult r = CallResultOf(result);
      if (r.is_error) return absl::UnknownError(r.text.empty() ? "the tool failed" : r.text);
      return Json(std::move(r.text));
    };
    tools.push_back(std::move(tool));
  }
  return tools;
}

}  // namespace llmkit
