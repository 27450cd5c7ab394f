// The MCP client's JSON-RPC session (mcp_client.cc) over its two transports: a spawned process's
// stdin/stdout (mcp_stdio.cc) and streamable HTTP (mcp_http.cc).

#ifndef LLMKIT_SRC_AGENT_MCP_IMPL_H_
#define LLMKIT_SRC_AGENT_MCP_IMPL_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "llmkit/agent.h"

namespace llmkit {

class McpClient::Impl {
 public:
  using Clock = CallContext::Clock;

  explicit Impl(McpOptions options) : options_(std::move(options)) {}
  virtual ~Impl() = default;

  // Sends request `method` and returns its result, or the server's JSON-RPC error as a status.
  absl::StatusOr<Json> Request(std::string_view method, Json params, const CallContext& call);
  // Sends notification `method`.
  virtual absl::Status Notify(std::string_view method, Json params) = 0;
  // The initialize handshake; then protocol_version and server_info are set.
  absl::Status Initialize(const CallContext& call);

  const McpOptions& options() const { return options_; }
  const Json& server_info() const { return server_info_; }
  const std::string& protocol_version() const { return protocol_version_; }

 protected:
  // Sends `request` (its id is `id`) and returns the response message (with `result` or
  // `error`), or kDeadlineExceeded / kCancelled (after telling the server) / a transport error.
  virtual absl::StatusOr<Json> Exchange(const Json& request, int64_t id, Clock::time_point deadline,
                                        const std::shared_ptr<Cancellation>& cancellation) = 0;
  // What to answer a request the server makes: ping gets {}, anything else "method not found".
  static Json AnswerServerRequest(const Json& request);

  McpOptions options_;
  Json server_info_;
  std::string protocol_version_;

 private:
  std::atomic<int64_t> next_id_{1};
};

namespace internal::agent {

absl::StatusOr<std::shared_ptr<McpClient::Impl>> StartMcpStdio(std::vector<std::string> command,
                                                               McpOptions options);
absl::StatusOr<std::shared_ptr<McpClient::Impl>> StartMcpHttp(std::string url, McpOptions options);

// JSON-RPC message kinds.
inline bool IsResponse(const Json& m) {
  return m.is_object() && m.Find("method") == nullptr && m.Find("id") != nullptr &&
         (m.Find("result") != nullptr || m.Find("error") != nullptr);
}
inline bool IsServerRequest(const Json& m) {
  return m.is_object() && m.Find("method") != nullptr && m.Find("id") != nullptr;
}
// The id of a response as an integer (ours are), or -1.
inline int64_t ResponseId(const Json& m) {
  const Json* id = m.Find("id");
  return id != nullptr && id->is_int() ? id->as_int() : -1;
}

}  // namespace internal::agent
}  // namespace llmkit

#endif  // LLMKIT_SRC_AGENT_MCP_IMPL_H_
