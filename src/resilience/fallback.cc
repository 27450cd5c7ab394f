// WithFallback: the next model on failure, context-window and content-policy lists, and
// LiteLLM's per-model cooldown.

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// Errors that send a call to the next model: the retryable ones, provider failures whatever
// x-should-retry says, decorators' local refusals, and errors specific to one provider or model
// (auth, permission, unknown model) that another may not have.
bool FallsBack(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
      return true;
    default:
      return IsRetryable(status) || internal::IsProviderFailure(status) ||
             internal::IsLocalRejection(status);
  }
}

template <typename Kind>
class FallbackCore {
 public:
  using Model = typename Kind::Model;
  using Request = typename Kind::Request;
  using Response = typename Kind::Response;

  FallbackCore(std::vector<FallbackTarget<Model>> models, FallbackPolicy<Model> policy)
      : cooldown_(policy.cooldown),
        ratio_(policy.cooldown_failure_ratio),
        clock_(policy.clock != nullptr ? policy.clock : SystemClock()),
        tracer_(policy.tracer),
        primary_(MakeList(std::move(models))),
        context_(MakeList(std::move(policy.context_window_fallbacks))),
        content_(MakeList(std::move(policy.content_policy_fallbacks))) {}

  absl::StatusOr<Response> Call(const Request& request, const StreamCallback* on_event,
                                const CallContext& call) {
    internal::DeliveryTracker stream(on_event);
    std::vector<Entry>* list = &primary_;
    size_t i = 0;
    auto switch_to = [&](std::vector<Entry>* next) {
      if (list == next) {
        ++i;
      } else {
        list = next;
        i = 0;
      }
    };
    int attempts = 0;
    nanoseconds backoff{0};
    absl::Status last;
    std::string tried;
    std::optional<Response> refused;  // The first refusal, returned if nothing better comes.
    std::optional<nanoseconds> shortest_cooldown;
    internal::SpentLog spent;  // Calls that used tokens and gave no answer the caller gets.
    // The call fails with `status`: it carries every call that used tokens, the refusal kept
    // aside included.
    auto fail = [&](absl::Status status) {
      if (refused.has_value()) spent.Add(Kind::RefusalCalls(*refused));
      return spent.On(internal::WithAttempts(std::move(status), attempts));
    };
    while (true) {
      if (i >= list->size()) break;
      // A hop never outlives the caller: once cancelled or past the deadline, stop here.
      if (!last.ok() &&
          (call.cancelled() || (call.has_deadline() && clock_->Now() >= call.deadline))) {
        return fail(internal::Annotate(last, call.cancelled()
                                                 ? " (no fallback: the call was cancelled)"
                                                 : " (no fallback: the call's deadline "
                                                   "has passed)"));
      }
      Entry& entry = (*list)[i];  // Models are checked non-null by WithFallback.
      if (std::optional<nanoseconds> left = CoolingFor(entry, list->size())) {
        shortest_cooldown = std::min(shortest_cooldown.value_or(*left), *left);
        absl::StrAppend(&tried, tried.empty() ? "" : ", ", entry.label, " (cooling down)");
        ++i;
        continue;
      }
      Span span;
      if (tracer_ != nullptr) {
        span = tracer_->StartSpan(absl::StrCat("fallback ", entry.label), call.trace,
                                  SpanKind::kInternal);
        span.SetAttribute("llmkit.fallback.position", static_cast<int64_t>(i));
        span.SetAttribute("llmkit.fallback.target", entry.label);
      }
      const CallContext hop = span.active() ? span.ChildContext(call) : CallContext();
      const CallContext& hop_call = span.active() ? hop : call;
      absl::StatusOr<Response> result =
          entry.target.model_name.empty()
              ? Kind::Call(*entry.target.model, request, stream.callback(), hop_call)
              : Kind::Call(*entry.target.model,
                           Kind::WithModelName(request, entry.target.model_name), stream.callback(),
                           hop_call);
      if (!result.ok()) span.SetError(ErrorType(result.status()), result.status().ToString());
      span.End();
      attempts += internal::AttemptsOf(result);
      Record(entry, list->size(), result.status());
      if (result.ok()) {
        backoff += result->backoff;
        if (Kind::Refused(*result) && !content_.empty() && !stream.delivered()) {
          absl::StrAppend(&tried, tried.empty() ? "" : ", ", entry.label, " (refused)");
          if (!refused.has_value()) {
            refused = *std::move(result);
          } else {
            spent.Add(Kind::RefusalCalls(*result));
          }
          switch_to(&content_);
          continue;
        }
        // A refusal answered before this one was dropped: its tokens were spent.
        if (refused.has_value()) spent.Add(Kind::RefusalCalls(*refused));
        spent.template MoveInto<Kind>(*result);
        result->attempts = attempts;
        result->backoff = backoff;
        result->served_by = entry.target.name.empty()
                                ? (entry.target.model_name.empty() ? std::string(result->model)
                                                                   : entry.target.model_name)
                                : entry.target.name;
        return result;
      }
      last = result.status();
      spent.Add(last);
      absl::StrAppend(&tried, tried.empty() ? "" : ", ", entry.label, " (",
                      absl::StatusCodeToString(last.code()), ")");
      if (stream.delivered()) return fail(last);
      if (last.code() == absl::StatusCode::kOutOfRange && !context_.empty()) {
        switch_to(&context_);
      } else if (GetPayload(last, kPayloadContentPolicy) == "true" && !content_.empty()) {
        switch_to(&content_);
      } else if (FallsBack(last)) {
        ++i;
      } else {
        return fail(last);
      }
      if (tracer_ != nullptr) {
        tracer_->AddCounter("llmkit.fallbacks", 1, {{"error.type", ErrorType(last)}});
      }
    }
    if (refused.has_value()) {
      refused->attempts = attempts;
      refused->backoff = backoff;
      spent.template MoveInto<Kind>(*refused);
      return *std::move(refused);
    }
    if (last.ok()) {  // Nothing was called: every model is cooling down.
      absl::Status cooling = absl::UnavailableError(
          absl::StrCat("every fallback model is cooling down after failures: ", tried));
      cooling = WithPayload(cooling, kPayloadCoolingDown, "true");
      cooling = WithPayload(
          cooling, kPayloadRetryAfterMs,
          absl::StrCat(std::chrono::duration_cast<milliseconds>(*shortest_cooldown).count()));
      return internal::WithAttempts(cooling, std::max(attempts, 1));
    }
    return fail(internal::Annotate(last, absl::StrCat(" (fallbacks tried: ", tried, ")")));
  }

 private:
  struct Entry {
    FallbackTarget<Model> target;
    std::string label;
    // Cooldown state, guarded by mu_.
    int64_t minute = -1;
    int calls = 0;
    int failures = 0;
    steady_clock::time_point cool_until;
  };

  static std::vector<Entry> MakeList(std::vector<FallbackTarget<Model>> targets) {
    std::vector<Entry> list;
    for (size_t i = 0; i < targets.size(); ++i) {
      Entry entry;
      entry.label = !targets[i].name.empty()         ? targets[i].name
                    : !targets[i].model_name.empty() ? targets[i].model_name
                                                     : absl::StrCat("#", i);
      entry.target = std::move(targets[i]);
      list.push_back(std::move(entry));
    }
    return list;
  }

  std::optional<nanoseconds> CoolingFor(const Entry& entry, size_t list_size) {
    if (list_size < 2 || cooldown_.count() <= 0) return std::nullopt;
    std::lock_guard lock(mu_);
    steady_clock::time_point now = clock_->Now();
    if (now >= entry.cool_until) return std::nullopt;
    return entry.cool_until - now;
  }

  void Record(Entry& entry, size_t list_size, const absl::Status& status) {
    if (status.code() == absl::StatusCode::kCancelled || internal::IsLocalRejection(status)) {
      return;
    }
    const bool failed = internal::IsProviderFailure(status) ||
                        status.code() == absl::StatusCode::kUnauthenticated ||
                        status.code() == absl::StatusCode::kNotFound;
    std::lock_guard lock(mu_);
    steady_clock::time_point now = clock_->Now();
    int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
    if (minute != entry.minute) {
      entry.minute = minute;
      entry.calls = entry.failures = 0;
    }
    ++entry.calls;
    if (!failed) return;
    ++entry.failures;
    if (list_size < 2 || cooldown_.count() <= 0) return;
    const bool rate_limited = GetPayload(status, kPayloadHttpStatus) == "429";
    const bool will_not_heal = status.code() == absl::StatusCode::kUnauthenticated ||
                               status.code() == absl::StatusCode::kNotFound;
    if (rate_limited || will_not_heal ||
        static_cast<double>(entry.failures) / entry.calls > ratio_) {
      entry.cool_until = now + cooldown_;
    }
  }

  const milliseconds cooldown_;
  const double ratio_;
  const std::shared_ptr<Clock> clock_;
  const std::shared_ptr<Tracer> tracer_;  // Null: no spans.
  std::mutex mu_;
  std::vector<Entry> primary_;
  std::vector<Entry> context_;
  std::vector<Entry> content_;
};

}  // namespace

template <typename Model>
static absl::Status CheckFallback(const std::vector<FallbackTarget<Model>>& models,
                                  const FallbackPolicy<Model>& policy) {
  if (models.empty()) return absl::InvalidArgumentError("WithFallback was given no models");
  auto check_list = [](const std::vector<FallbackTarget<Model>>& list,
                       std::string_view name) -> absl::Status {
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].model == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("WithFallback: ", internal::ToAbsl(name), "[", i, "].model is null"));
      }
    }
    return absl::OkStatus();
  };
  return internal::FirstError({
      check_list(models, "models"),
      check_list(policy.context_window_fallbacks, "context_window_fallbacks"),
      check_list(policy.content_policy_fallbacks, "content_policy_fallbacks"),
      internal::NotNegative("FallbackPolicy::cooldown", policy.cooldown),
      internal::InRange("FallbackPolicy::cooldown_failure_ratio", policy.cooldown_failure_ratio, 0,
                        1, "in [0, 1]"),
  });
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithFallback(
    std::vector<FallbackTarget<ChatModel>> models, FallbackPolicy<ChatModel> policy) {
  absl::Status check = CheckFallback(models, policy);
  return internal::Decorate<FallbackCore, internal::ChatKind>(check, std::move(models),
                                                              std::move(policy));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithFallback(
    std::vector<FallbackTarget<EmbeddingModel>> models, FallbackPolicy<EmbeddingModel> policy) {
  absl::Status check = CheckFallback(models, policy);
  return internal::Decorate<FallbackCore, internal::EmbeddingKind>(check, std::move(models),
                                                                   std::move(policy));
}

}  // namespace llmkit
