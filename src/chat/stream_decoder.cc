#include "chat/stream_decoder.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "chat/provider_error.h"
#include "common/absl_compat.h"
#include "http/call_timing.h"
#include "http/redact.h"
#include "llmkit/status.h"

namespace llmkit::internal {

StreamDecoder::StreamDecoder(std::string_view provider, const StreamCallback& on_event)
    : provider_(provider),
      on_event_(on_event),
      parser_([this](const SseEvent& event) { return OnEvent(event); }) {}

absl::Status StreamDecoder::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  absl::Status status = parser_.Feed(bytes);
  if (!error_.ok()) return error_;  // The event handler's reason, not the parser's kCancelled.
  if (!status.ok()) error_ = status;
  return status;
}

absl::StatusOr<ChatResponse> StreamDecoder::Finish() {
  if (!error_.ok()) return error_;
  absl::Status status = parser_.Finish();
  if (!error_.ok()) return error_;
  if (!status.ok()) return status;
  if (!Complete()) {
    return absl::UnavailableError(absl::StrCat(
        ToAbsl(provider_), "'s stream ended before the answer was complete (connection lost?)"));
  }
  out_.message.role = "assistant";
  for (auto& [index, call] : tool_calls_) out_.message.tool_calls.push_back(std::move(call));
  tool_calls_.clear();
  out_.text = out_.message.content;
  StreamEvent done;
  done.kind = StreamEvent::Kind::kDone;
  if (on_event_) on_event_(done);
  return std::move(out_);
}

std::optional<SpentAttempt> StreamDecoder::Spent(const ChatRequest& request, std::string_view model,
                                                 const absl::Status& failure) const {
  if (!started_) return std::nullopt;
  SpentAttempt spent;
  spent.model = out_.model.empty() ? std::string(model) : out_.model;
  spent.usage = out_.usage;
  spent.failure = absl::AsciiStrToLower(absl::StatusCodeToString(failure.code()));
  if (!input_reported_) {
    spent.usage.input_tokens = EstimatePromptTokens(request);
    spent.estimated = true;
  }
  if (spent.usage.output_tokens < chunks_) {  // Chunks came after the last count.
    spent.usage.output_tokens = chunks_;
    spent.estimated = true;
  }
  spent.usage.total_tokens = spent.usage.input_tokens + spent.usage.output_tokens;
  return spent;
}

bool StreamDecoder::Emit(const StreamEvent& event) {
  if (event.kind == StreamEvent::Kind::kTextDelta ||
      event.kind == StreamEvent::Kind::kToolCallDelta) {
    ++chunks_;
  }
  if (on_event_ && !on_event_(event)) {
    return Fail(absl::CancelledError("the stream callback stopped the stream"));
  }
  return true;
}

bool StreamDecoder::Fail(absl::Status status) {
  if (error_.ok()) error_ = std::move(status);
  return false;
}

absl::Status StreamDecoder::Malformed(std::string_view what) const {
  return MalformedResponse(provider_, what);
}

namespace {

// Captures the status and headers, keeps an error body (up to 64 KB), feeds a 2xx body to the
// decoder.
class StreamHandlerImpl final : public StreamHandler {
 public:
  StreamHandlerImpl(StreamDecoder& decoder, std::string_view request_id_header)
      : decoder_(decoder), request_id_header_(request_id_header) {}

  bool OnHeaders(int status, const HttpHeaders& headers) override {
    status_ = status;
    headers_ = headers;
    decoder_.set_request_id(std::string(FindHeader(headers, request_id_header_).value_or("")));
    return true;
  }
  bool OnData(std::string_view bytes) override {
    if (!success()) {
      constexpr size_t kMaxErrorBody = 64 << 10;
      if (error_body_.size() < kMaxErrorBody) {
        error_body_.append(bytes.substr(0, kMaxErrorBody - error_body_.size()));
      }
      return true;
    }
    return decoder_.Feed(bytes).ok();
  }

  bool success() const { return status_ >= 200 && status_ < 300; }
  int status() const { return status_; }
  const HttpHeaders& headers() const { return headers_; }
  const std::string& error_body() const { return error_body_; }

 private:
  StreamDecoder& decoder_;
  std::string_view request_id_header_;
  int status_ = 0;
  HttpHeaders headers_;
  std::string error_body_;
};

}  // namespace

absl::StatusOr<ChatResponse> SendStream(HttpTransport& transport, HttpRequest request,
                                        std::string_view request_id_header,
                                        StreamDecoder& decoder) {
  StreamHandlerImpl handler(decoder, request_id_header);
  absl::StatusOr<HttpResponse> response = transport.Send(std::move(request), &handler);
  if (handler.status() != 0 && !handler.success()) {
    return ProviderError(decoder.provider(), handler.status(), handler.headers(),
                         handler.error_body());
  }
  if (!decoder.error().ok()) return decoder.error();  // The decoder's reason comes first.
  if (!response.ok()) return response.status();
  return decoder.Finish();
}

absl::StatusOr<ChatResponse> HttpChatModel::Complete(const ChatRequest& request,
                                                     const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(HttpRequest http, Build(request, /*stream=*/false));
  LLMKIT_RETURN_IF_ERROR(ApplyCall(call, /*stream=*/false, request_timeout_, provider_, http));
  const std::vector<std::string> secrets = SecretsOf(http.headers);
  absl::StatusOr<HttpResponse> sent = transport_->Send(std::move(http));
  if (!sent.ok()) return Redact(sent.status(), secrets);
  HttpResponse& response = *sent;
  if (response.status < 200 || response.status >= 300) {
    return Redact(ProviderError(provider_, response.status, response.headers, response.body),
                  secrets);
  }
  LLMKIT_ASSIGN_OR_RETURN(ChatResponse out, Parse(response.body));
  out.request_id = std::string(response.Header(request_id_header_).value_or(""));
  return out;
}

absl::StatusOr<ChatResponse> HttpChatModel::Stream(const ChatRequest& request,
                                                   const StreamCallback& on_event,
                                                   const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(HttpRequest http, Build(request, /*stream=*/true));
  LLMKIT_RETURN_IF_ERROR(ApplyCall(call, /*stream=*/true, request_timeout_, provider_, http));
  std::unique_ptr<StreamDecoder> decoder = NewDecoder(on_event);
  const std::vector<std::string> secrets = SecretsOf(http.headers);
  absl::StatusOr<ChatResponse> out =
      SendStream(*transport_, std::move(http), request_id_header_, *decoder);
  if (out.ok()) return out;
  absl::Status failed = Redact(out.status(), secrets);
  // Failed after the provider began answering: it counted (and bills) the tokens.
  if (std::optional<SpentAttempt> spent =
          decoder->Spent(request, request.model.empty() ? default_model_ : request.model, failed)) {
    return WithSpent(std::move(failed), {*std::move(spent)});
  }
  return failed;
}

absl::Status MalformedResponse(std::string_view provider, std::string_view what) {
  return absl::UnavailableError(
      absl::StrCat(ToAbsl(provider), " sent a malformed response: ", ToAbsl(what)));
}

std::string OptionOrEnv(std::string value, const char* name, std::string_view fallback) {
  if (value.empty()) {
    const char* env = std::getenv(name);
    value = env != nullptr && *env != 0 ? env : fallback;
  }
  return value;
}

std::string StringAt(const Json& object, std::string_view key) {
  const Json* v = object.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

int64_t IntAt(const Json* object, std::string_view key) {
  const Json* v = object != nullptr ? object->Find(key) : nullptr;
  return v != nullptr && v->is_int() ? v->as_int() : 0;
}

}  // namespace llmkit::internal
