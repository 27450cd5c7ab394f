// What the chat clients share: the decoder base that turns server-sent events into StreamEvents
// and the final ChatResponse, the function that runs a streamed request, and small helpers for
// options and JSON members.

#ifndef LLMKIT_SRC_CHAT_STREAM_DECODER_H_
#define LLMKIT_SRC_CHAT_STREAM_DECODER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "http/sse.h"
#include "llmkit/chat.h"
#include "llmkit/http.h"

namespace llmkit::internal {

// Decodes one provider's event stream. Not thread-safe; one per stream.
class StreamDecoder {
 public:
  StreamDecoder(std::string_view provider, const StreamCallback& on_event);
  virtual ~StreamDecoder() = default;
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  // Parses the next bytes of the stream, cut anywhere. After an error (malformed event, an error
  // event from the provider, the callback stopping) the stream is over; Feed returns that error.
  absl::Status Feed(std::string_view bytes);

  // The stream ended. Delivers an event still missing its blank line, checks the answer is
  // complete (kUnavailable if the stream stopped early), emits kDone and returns the response.
  absl::StatusOr<ChatResponse> Finish();

  void set_request_id(std::string id) { out_.request_id = std::move(id); }
  // The error that ended the stream, if one did.
  const absl::Status& error() const { return error_; }
  std::string_view provider() const { return provider_; }
  // What the provider had counted when the stream failed, as a spent attempt of `model` (the
  // stream's model when it named one); nullopt when it had not started answering. Counts the
  // provider has not reported are estimated: input from `request`, output one per chunk.
  std::optional<SpentAttempt> Spent(const ChatRequest& request, std::string_view model,
                                    const absl::Status& failure) const;

 protected:
  // Handles one event; returns false after Fail().
  virtual bool OnEvent(const SseEvent& event) = 0;
  // Whether the provider marked the end of the answer.
  virtual bool Complete() const = 0;

  // Sends `event` to the caller; false (after Fail) if the caller stopped.
  bool Emit(const StreamEvent& event);
  bool Fail(absl::Status status);
  absl::Status Malformed(std::string_view what) const;
  // The tool call being streamed at `index` (calls are kept in index order).
  ToolCall& Call(int index) { return tool_calls_[index]; }

  std::string_view provider_;
  ChatResponse out_;
  bool started_ = false;         // The provider began its answer (it has counted the input).
  bool input_reported_ = false;  // out_.usage holds the provider's input count.

 private:
  const StreamCallback& on_event_;
  SseParser parser_;
  absl::Status error_;
  std::map<int, ToolCall> tool_calls_;
  int64_t chunks_ = 0;  // Text and tool-call deltas received.
};

// Sends a streamed request: a non-2xx answer becomes ProviderError (with its body and headers);
// a 2xx body goes to `decoder`. `request_id_header` names the header that carries the request id.
absl::StatusOr<ChatResponse> SendStream(HttpTransport& transport, HttpRequest request,
                                        std::string_view request_id_header, StreamDecoder& decoder);

// A ChatModel over HTTP: subclasses build the request and read the answers; this sends them
// and maps non-2xx answers to ProviderError.
class HttpChatModel : public ChatModel {
 public:
  // `default_model`: the model of requests that name none.
  HttpChatModel(std::shared_ptr<HttpTransport> transport, std::string_view provider,
                std::string_view request_id_header, std::chrono::milliseconds request_timeout,
                std::string default_model)
      : transport_(std::move(transport)),
        provider_(provider),
        request_id_header_(request_id_header),
        request_timeout_(request_timeout),
        default_model_(std::move(default_model)) {}

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override;
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override;

 protected:
  virtual absl::StatusOr<HttpRequest> Build(const ChatRequest& request, bool stream) const = 0;
  virtual absl::StatusOr<ChatResponse> Parse(std::string_view body) const = 0;
  virtual std::unique_ptr<StreamDecoder> NewDecoder(const StreamCallback& on_event) const = 0;

 private:
  std::shared_ptr<HttpTransport> transport_;
  std::string_view provider_;
  std::string_view request_id_header_;
  std::chrono::milliseconds request_timeout_;
  std::string default_model_;
};

// kUnavailable: the provider answered 2xx with a body that is not the expected JSON.
absl::Status MalformedResponse(std::string_view provider, std::string_view what);

// `value`, else the environment variable `name` when set and not empty, else `fallback`.
std::string OptionOrEnv(std::string value, const char* name, std::string_view fallback);

// The string member `key` of an object, or "" when absent or not a string.
std::string StringAt(const Json& object, std::string_view key);
// The integer member `key` of an object (nullptr allowed), or 0.
int64_t IntAt(const Json* object, std::string_view key);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CHAT_STREAM_DECODER_H_
