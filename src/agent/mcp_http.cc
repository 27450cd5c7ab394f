// The MCP streamable HTTP transport: each message is a POST to the endpoint; the server answers
// with application/json or with an event stream carrying the response (and perhaps requests and
// notifications first). The session id the server gives at initialize goes with every later
// request, with the protocol version; the session is DELETEd at the end.

#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/mcp_impl.h"
#include "common/absl_compat.h"
#include "http/sse.h"
#include "llmkit/status.h"

namespace llmkit::internal::agent {
namespace {

constexpr size_t kMaxBodyBytes = size_t{64} << 20;

class HttpImpl;

// Reads one POST's reply: a JSON body or an event stream, each message handed to `on_message`.
class ReplyReader final : public StreamHandler {
 public:
  explicit ReplyReader(std::function<void(const Json&)> on_message)
      : on_message_(std::move(on_message)), sse_([this](const SseEvent& e) {
          Message(e.data);
          return true;
        }) {}

  bool OnHeaders(int status, const HttpHeaders& headers) override {
    status_ = status;
    headers_ = headers;
    std::optional<std::string_view> type = FindHeader(headers, "content-type");
    stream_ = type && absl::StartsWithIgnoreCase(ToAbsl(*type), "text/event-stream");
    return true;
  }
  bool OnData(std::string_view bytes) override {
    if (stream_ && status_ < 300) return sse_.Feed(bytes).ok();
    if (body_.size() + bytes.size() > kMaxBodyBytes) return false;
    body_.append(bytes);
    return true;
  }
  // After the transfer: a JSON body's message(s).
  void Finish() {
    if (stream_) {
      (void)sse_.Finish();
      return;
    }
    if (status_ >= 300 || body_.empty()) return;
    absl::StatusOr<Json> parsed = Json::Parse(body_);
    if (!parsed.ok()) {
      malformed_ = true;
      return;
    }
    if (parsed->is_array()) {
      for (const Json& m : parsed->as_array()) on_message_(m);
    } else {
      on_message_(*parsed);
    }
  }

  int status() const { return status_; }
  const HttpHeaders& headers() const { return headers_; }
  const std::string& body() const { return body_; }
  bool malformed() const { return malformed_; }

 private:
  void Message(std::string_view data) {
    if (data.empty()) return;  // A priming event (an id and no data).
    absl::StatusOr<Json> parsed = Json::Parse(data);
    if (!parsed.ok()) {
      malformed_ = true;
      return;
    }
    on_message_(*parsed);
  }

  std::function<void(const Json&)> on_message_;
  SseParser sse_;
  int status_ = 0;
  HttpHeaders headers_;
  bool stream_ = false;
  bool malformed_ = false;
  std::string body_;
};

class HttpImpl final : public McpClient::Impl {
 public:
  HttpImpl(McpOptions options, std::string url, std::shared_ptr<HttpTransport> transport)
      : Impl(std::move(options)), url_(std::move(url)), transport_(std::move(transport)) {}

  ~HttpImpl() override {
    std::string session = Session();
    if (session.empty()) return;
    HttpRequest request = Base("DELETE", session);
    request.timeout = std::chrono::milliseconds(2000);
    (void)transport_->Send(std::move(request));  // Best effort: the server may be gone.
  }

  absl::Status Notify(std::string_view method, Json params) override {
    Json message = Json::MakeObject();
    message.Set("jsonrpc", "2.0");
    message.Set("method", std::string(method));
    message.Set("params", std::move(params));
    HttpRequest request = Base("POST", Session());
    request.body = message.Dump();
    request.timeout = options_.request_timeout;
    LLMKIT_ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(std::move(request)));
    if (response.status >= 300) {
      return absl::UnavailableError(
          absl::StrCat("MCP ", ToAbsl(method), " to ", url_, ": HTTP ", response.status));
    }
    return absl::OkStatus();
  }

 protected:
  absl::StatusOr<Json> Exchange(const Json& message, int64_t id, Clock::time_point deadline,
                                const std::shared_ptr<Cancellation>& cancellation) override {
    const std::string session = Session();
    HttpRequest request = Base("POST", session);
    request.body = message.Dump();
    const auto now = Clock::now();
    if (deadline <= now) return absl::DeadlineExceededError("MCP request: no time left");
    request.timeout = deadline == CallContext::kNoDeadline
                          ? std::chrono::milliseconds(0)
                          : std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    request.idle_timeout = std::chrono::milliseconds(0);  // The deadline bounds it.
    request.cancellation =
        cancellation != nullptr ? std::make_shared<Cancellation>(cancellation) : nullptr;
    std::optional<Json> response;
    ReplyReader reader([&](const Json& m) {
      if (internal::agent::IsResponse(m) && ResponseId(m) == id) {
        response = m;
      } else if (IsServerRequest(m)) {
        Answer(AnswerServerRequest(m));
      }
    });
    absl::StatusOr<HttpResponse> sent = transport_->Send(std::move(request), &reader);
    if (!sent.ok()) {
      if (sent.status().code() == absl::StatusCode::kDeadlineExceeded ||
          sent.status().code() == absl::StatusCode::kCancelled) {
        Json params = Json::MakeObject();
        params.Set("requestId", id);
        params.Set("reason", sent.status().code() == absl::StatusCode::kCancelled ? "cancelled"
                                                                                  : "timed out");
        (void)Notify("notifications/cancelled", std::move(params));
      }
      return sent.status();
    }
    reader.Finish();
    const int status = reader.status();
    if (status == 404 && !session.empty()) {
      return absl::NotFoundError(
          absl::StrCat("MCP server ", url_, " no longer knows session ", session, " (HTTP 404)"));
    }
    if (status >= 300) {
      std::string body = reader.body().substr(0, 300);
      const std::string what = absl::StrCat("MCP request to ", url_, ": HTTP ", status, ": ", body);
      if (status >= 500) return absl::UnavailableError(what);
      if (status == 401 || status == 403) return absl::PermissionDeniedError(what);
      return absl::InvalidArgumentError(what);
    }
    if (std::optional<std::string_view> s = FindHeader(reader.headers(), "mcp-session-id")) {
      std::lock_guard<std::mutex> lock(mu_);
      session_ = std::string(*s);
    }
    if (!response) {
      return absl::DataLossError(absl::StrCat("MCP request to ", url_, ": no response to request ",
                                              id, reader.malformed() ? " (malformed JSON)" : ""));
    }
    return *std::move(response);
  }

 private:
  std::string Session() {
    std::lock_guard<std::mutex> lock(mu_);
    return session_;
  }

  HttpRequest Base(const char* method, const std::string& session) const {
    HttpRequest request;
    request.method = method;
    request.url = url_;
    request.headers = options_.headers;
    request.headers.emplace_back("Content-Type", "application/json");
    request.headers.emplace_back("Accept", "application/json, text/event-stream");
    if (!session.empty()) request.headers.emplace_back("Mcp-Session-Id", session);
    if (!protocol_version_.empty()) {
      request.headers.emplace_back("MCP-Protocol-Version", protocol_version_);
    }
    return request;
  }

  // A reply to a server's request, sent without waiting (we may be on the transport's thread).
  void Answer(const Json& answer) {
    HttpRequest request = Base("POST", Session());
    request.body = answer.Dump();
    request.timeout = std::chrono::milliseconds(10000);
    transport_->Start(std::move(request), nullptr, [](absl::StatusOr<HttpResponse>) {});
  }

  std::string url_;
  std::shared_ptr<HttpTransport> transport_;
  std::mutex mu_;
  std::string session_;  // Guarded by mu_.
};

}  // namespace

absl::StatusOr<std::shared_ptr<McpClient::Impl>> StartMcpHttp(std::string url, McpOptions options) {
  if (url.empty()) return absl::InvalidArgumentError("MCP HTTP: an empty URL");
  std::shared_ptr<HttpTransport> transport = options.transport;
  if (transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(transport, NewCurlTransport());
  }
  return std::make_shared<HttpImpl>(std::move(options), std::move(url), std::move(transport));
}

}  // namespace llmkit::internal::agent
