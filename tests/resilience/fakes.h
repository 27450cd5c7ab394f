// Test doubles for the resilience decorators: a clock that moves only when told or slept on, a
// sleeper that records its waits, and models that answer from a script.

#ifndef LLMKIT_TESTS_RESILIENCE_FAKES_H_
#define LLMKIT_TESTS_RESILIENCE_FAKES_H_

#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return wall_ + (Now() - std::chrono::steady_clock::time_point());
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point now_;
  // 2026-11-23 12:00:00 UTC.
  std::chrono::system_clock::time_point wall_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(1795435200));
};

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(std::shared_ptr<FakeClock> clock) : clock_(std::move(clock)) {}
  bool Sleep(std::chrono::nanoseconds d, const Cancellation* cancellation) override {
    if (cancellation != nullptr && cancellation->cancelled()) return false;
    std::lock_guard lock(mu_);
    sleeps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d));
    clock_->Advance(d);
    return true;
  }
  std::vector<std::chrono::milliseconds> sleeps;

 private:
  std::mutex mu_;
  std::shared_ptr<FakeClock> clock_;
};

// A status as a provider error would carry it.
inline absl::Status Http(absl::StatusCode code,
                         std::vector<std::pair<std::string_view, std::string>> payloads = {}) {
  absl::Status status(code, "provider said no");
  for (auto& [key, value] : payloads) status = WithPayload(status, key, value);
  return status;
}

inline ChatResponse Answer(std::string text, int64_t total_tokens = 0) {
  ChatResponse r;
  r.text = std::move(text);
  r.usage.total_tokens = total_tokens;
  return r;
}

// Answers from a script (the last entry repeats); records what each call asked for.
class ScriptedModel final : public ChatModel {
 public:
  explicit ScriptedModel(std::deque<absl::StatusOr<ChatResponse>> script, int events = 0)
      : script_(std::move(script)), events_(events) {}
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    std::lock_guard lock(mu_);
    deadlines.push_back(call.deadline);
    tags.push_back(call.tags);
    models.push_back(request.model);
    absl::StatusOr<ChatResponse> next = script_.front();
    if (script_.size() > 1) script_.pop_front();
    return next;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    for (int i = 0; i < events_; ++i) {
      StreamEvent e;
      e.text = "partial";
      if (on_event) on_event(e);
    }
    return Complete(request, call);
  }
  int calls() {
    std::lock_guard lock(mu_);
    return static_cast<int>(deadlines.size());
  }
  // What each call's context carried.
  std::vector<std::chrono::steady_clock::time_point> deadlines;
  std::vector<CallTags> tags;
  std::vector<std::string> models;

 private:
  std::mutex mu_;
  std::deque<absl::StatusOr<ChatResponse>> script_;
  int events_;
};

class ScriptedEmbeddingModel final : public EmbeddingModel {
 public:
  explicit ScriptedEmbeddingModel(std::deque<absl::StatusOr<Embeddings>> script)
      : script_(std::move(script)) {}
  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext&) override {
    std::lock_guard lock(mu_);
    ++calls;
    models.push_back(options.model);
    inputs_seen += inputs.size();
    absl::StatusOr<Embeddings> next = script_.front();
    if (script_.size() > 1) script_.pop_front();
    return next;
  }
  int calls = 0;
  size_t inputs_seen = 0;
  std::vector<std::string> models;

 private:
  std::mutex mu_;
  std::deque<absl::StatusOr<Embeddings>> script_;
};

struct Harness {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<FakeSleeper> sleeper = std::make_shared<FakeSleeper>(clock);
  RetryPolicy Policy(double random = 0.0) {
    RetryPolicy policy;
    policy.clock = clock;
    policy.sleeper = sleeper;
    policy.random = [random] { return random; };
    return policy;
  }
};

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_RESILIENCE_FAKES_H_
