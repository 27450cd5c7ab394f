// What the resilience decorators share: one description of a call for each model kind (chat and
// embeddings), so every decorator is written once as a "core" over a Kind and wrapped into a
// ChatModel or an EmbeddingModel by Decorate<Core, Kind>(args...).
//
// A Kind gives the Model, Request and Response types and:
//   Call(model, request, on_event, call)  one call (on_event: the stream callback, null when not
//                                         streaming; always null for embeddings; call: the
//                                         call context, passed on),
//   WithModelName(request, name), Refused(response) (a content-policy refusal that came back as
//   an answer), EstimateTokens(request, tokenizer).
// Deadlines and cancellation are the call context's (call.h): a decorator that needs a sooner
// deadline or its own cancellation passes a changed copy of the context, never of the request.
// Responses of both kinds carry attempts, backoff and served_by.

#ifndef LLMKIT_SRC_RESILIENCE_DECORATOR_H_
#define LLMKIT_SRC_RESILIENCE_DECORATOR_H_

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/http.h"
#include "llmkit/tokenizer.h"

namespace llmkit::internal {

struct ChatKind {
  using Model = ChatModel;
  using Request = ChatRequest;
  using Response = ChatResponse;

  static absl::StatusOr<ChatResponse> Call(ChatModel& model, const ChatRequest& request,
                                           const StreamCallback* on_event,
                                           const CallContext& call) {
    return on_event == nullptr ? model.Complete(request, call)
                               : model.Stream(request, *on_event, call);
  }
  static ChatRequest WithModelName(const ChatRequest& r, const std::string& name) {
    ChatRequest copy = r;
    copy.model = name;
    return copy;
  }
  // OpenAI/Azure finish with "content_filter", Anthropic stops with "refusal".
  static bool Refused(const ChatResponse& r) {
    return r.finish_reason == "content_filter" || r.finish_reason == "refusal";
  }
  // Text tokens of every message plus 3 per message and 3 for the reply (OpenAI's counting
  // rule), plus max_tokens, which OpenAI charges against the limit up front. Without a
  // tokenizer, bytes / 4 rounded up.
  static int64_t EstimateTokens(const ChatRequest& r, const Tokenizer* tokenizer);
  // Puts `spent` (attempts that failed after using tokens, before this answer) first in the
  // response's spent_attempts and adds their tokens to its usage.
  static void AddSpent(ChatResponse& response, std::vector<SpentAttempt> spent);
  // The calls behind a refusal (Refused) that is not the call's answer, marked with its reason.
  static std::vector<SpentAttempt> RefusalCalls(const ChatResponse& r) {
    return llmkit::CallsOf(r, r.finish_reason);
  }
};

// The arguments of EmbeddingModel::Embed as one request.
struct EmbedCall {
  absl::Span<const std::string> inputs;
  EmbedOptions options;
};

struct EmbeddingKind {
  using Model = EmbeddingModel;
  using Request = EmbedCall;
  using Response = Embeddings;

  static absl::StatusOr<Embeddings> Call(EmbeddingModel& model, const EmbedCall& request,
                                         const StreamCallback*, const CallContext& call) {
    return model.Embed(request.inputs, request.options, call);
  }
  static EmbedCall WithModelName(const EmbedCall& r, const std::string& name) {
    EmbedCall copy = r;
    copy.options.model = name;
    return copy;
  }
  static bool Refused(const Embeddings&) { return false; }
  static int64_t EstimateTokens(const EmbedCall& r, const Tokenizer* tokenizer);
  static void AddSpent(Embeddings&, std::vector<SpentAttempt>) {}  // Embeddings never carry any.
  static std::vector<SpentAttempt> RefusalCalls(const Embeddings&) { return {}; }
};

// Collects the spent attempts (chat.h) of a call's failed attempts, in order.
class SpentLog {
 public:
  void Add(const absl::Status& failed) { Add(SpentOf(failed)); }
  void Add(std::vector<SpentAttempt> more) {
    spent_.insert(spent_.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
  // `failure` carrying every attempt collected (the decorator's error replaces the attempts').
  absl::Status On(absl::Status failure) const { return WithSpent(std::move(failure), spent_); }
  template <typename Kind>
  void MoveInto(typename Kind::Response& response) {
    if (!spent_.empty()) Kind::AddSpent(response, std::move(spent_));
    spent_.clear();
  }

 private:
  std::vector<SpentAttempt> spent_;
};

// Passes a stream's events on to the caller's callback and remembers that one was delivered
// (after which no decorator may try again). Without a stream (null callback) it stays empty.
class DeliveryTracker {
 public:
  explicit DeliveryTracker(const StreamCallback* on_event) {
    if (on_event == nullptr) return;
    forward_ = [this, on_event](const StreamEvent& event) {
      delivered_ = true;
      return !*on_event || (*on_event)(event);
    };
  }
  DeliveryTracker(const DeliveryTracker&) = delete;
  DeliveryTracker& operator=(const DeliveryTracker&) = delete;

  // The callback to hand the wrapped model: null when the call is not streamed.
  const StreamCallback* callback() const { return forward_ ? &forward_ : nullptr; }
  bool delivered() const { return delivered_; }

 private:
  bool delivered_ = false;
  StreamCallback forward_;
};

// The attempts a finished call made: the response's count, or the error's kPayloadAttempts
// (1 when absent: a plain client).
int AttemptsOf(const absl::Status& status);
template <typename Response>
int AttemptsOf(const absl::StatusOr<Response>& result) {
  return result.ok() ? result->attempts : AttemptsOf(result.status());
}

// `status` with kPayloadAttempts set to `attempts`.
absl::Status WithAttempts(absl::Status status, int attempts);

// `status` with `note` appended to its message, the code and payloads kept.
absl::Status Annotate(const absl::Status& status, std::string_view note);

// Whether `status` was made by a decorator that refused locally (open breaker, rate limiter,
// cooling fallback, spent budget) rather than by the provider; such failures say nothing about
// the provider's health.
bool IsLocalRejection(const absl::Status& status);

// Whether `status` says the provider is unhealthy (counted by breakers and cooldowns): the
// kDeadlineExceeded, kResourceExhausted, kUnavailable, kInternal, kUnknown and kDataLoss, minus
// local rejections. Caller errors (bad request, auth, not found, 409) and cancellation are not.
bool IsProviderFailure(const absl::Status& status);

template <typename Kind, typename Core>
class Decorated;

template <typename Core>
class Decorated<ChatKind, Core> final : public ChatModel {
 public:
  explicit Decorated(std::unique_ptr<Core> core) : core_(std::move(core)) {}
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    return core_->Call(request, nullptr, call);
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    return core_->Call(request, &on_event, call);
  }

 private:
  std::unique_ptr<Core> core_;
};

template <typename Core>
class Decorated<EmbeddingKind, Core> final : public EmbeddingModel {
 public:
  explicit Decorated(std::unique_ptr<Core> core) : core_(std::move(core)) {}
  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    return core_->Call(EmbedCall{inputs, options}, nullptr, call);
  }

 private:
  std::unique_ptr<Core> core_;
};

// A Core<Kind> made from `args`, as a ChatModel or EmbeddingModel, once `check` (the
// validation of the model and policy) is OK; else `check`.
template <template <typename> class Core, typename Kind, typename... Args>
absl::StatusOr<std::unique_ptr<typename Kind::Model>> Decorate(absl::Status check, Args&&... args) {
  if (!check.ok()) return check;
  return std::unique_ptr<typename Kind::Model>(std::make_unique<Decorated<Kind, Core<Kind>>>(
      std::make_unique<Core<Kind>>(std::forward<Args>(args)...)));
}

// kInvalidArgument: "<field> must be <range>, not <value>".
absl::Status FieldError(std::string_view field, std::string_view range, double value);
// kInvalidArgument naming `what` unless `pointer` is set.
template <typename T>
absl::Status NotNull(const std::shared_ptr<T>& pointer, std::string_view what) {
  if (pointer != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(what) + " is null");
}
// The first non-OK status, else OK.
inline absl::Status FirstError(std::initializer_list<absl::Status> statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}
// `value` in [low, high] (both finite), else FieldError.
absl::Status InRange(std::string_view field, double value, double low, double high,
                     std::string_view range);
// A duration >= 0, else FieldError in milliseconds.
absl::Status NotNegative(std::string_view field, std::chrono::milliseconds value);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_RESILIENCE_DECORATOR_H_
