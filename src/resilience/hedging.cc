// WithHedging: a second attempt after a delay (fixed or the observed percentile latency); the
// first success wins and the other attempt is cancelled.

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "llmkit/resilience.h"
#include "resilience/decorator.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Latencies of recent successful calls, and the hedge delay they give.
class LatencyWindow {
 public:
  explicit LatencyWindow(const HedgingPolicy& policy) : policy_(policy) {}

  void Add(nanoseconds latency) {
    std::lock_guard lock(mu_);
    if (samples_.size() < static_cast<size_t>(policy_.window)) {
      samples_.push_back(latency);
    } else {
      samples_[next_] = latency;
      next_ = (next_ + 1) % samples_.size();
    }
  }

  nanoseconds Delay() {
    if (policy_.delay.count() > 0) return policy_.delay;
    std::vector<nanoseconds> sorted;
    {
      std::lock_guard lock(mu_);
      if (samples_.size() < static_cast<size_t>(policy_.min_samples)) return policy_.initial_delay;
      sorted = samples_;
    }
    // Nearest-rank percentile.
    size_t rank =
        static_cast<size_t>(std::ceil(policy_.percentile * static_cast<double>(sorted.size())));
    size_t index = std::clamp<size_t>(rank, 1, sorted.size()) - 1;
    std::nth_element(sorted.begin(), sorted.begin() + index, sorted.end());
    return sorted[index];
  }

 private:
  HedgingPolicy policy_;
  std::mutex mu_;
  std::vector<nanoseconds> samples_;
  size_t next_ = 0;
};

template <typename Kind>
class HedgingCore {
 public:
  using Request = typename Kind::Request;
  using Response = typename Kind::Response;

  HedgingCore(std::shared_ptr<typename Kind::Model> model, HedgingPolicy policy)
      : model_(std::move(model)), latencies_(policy) {}

  absl::StatusOr<Response> Call(const Request& request, const StreamCallback* on_event,
                                const CallContext& call) {
    const nanoseconds delay = latencies_.Delay();
    Race race;
    // Each attempt has the caller's context with its own cancellation, linked to the caller's:
    // the caller's reaches both, and the winner cancels the loser.
    for (auto& cancellation : race.cancellations) cancellation = call.Linked();
    auto run = [&](int me) {
      StreamCallback forward;
      if (on_event != nullptr) {
        forward = [&, me](const StreamEvent& event) {
          if (!race.Claim(me)) return false;
          return !*on_event || (*on_event)(event);
        };
      }
      const auto attempt_start = std::chrono::steady_clock::now();
      absl::StatusOr<Response> result =
          Kind::Call(*model_, request, on_event == nullptr ? nullptr : &forward,
                     call.WithCancellation(race.cancellations[me]));
      if (result.ok()) latencies_.Add(std::chrono::steady_clock::now() - attempt_start);
      race.Finish(me, std::move(result));
    };
    std::thread hedge([&] {
      if (!race.WaitToHedge(delay)) return;
      // No time left for a second attempt.
      if (call.has_deadline() && std::chrono::steady_clock::now() >= call.deadline) return;
      run(1);
    });
    run(0);
    hedge.join();
    return race.Outcome();
  }

 private:
  // The two attempts' shared state.
  struct Race {
    std::mutex mu;
    std::condition_variable cv;
    int winner = -1;  // The attempt that succeeded or delivered a stream event first.
    bool hedged = false;
    std::optional<absl::StatusOr<Response>> results[2];
    std::shared_ptr<Cancellation> cancellations[2];

    // Whether attempt `me` may deliver (it is or becomes the winner).
    bool Claim(int me) {
      std::lock_guard lock(mu);
      if (winner == -1) {
        winner = me;
        cancellations[1 - me]->Cancel();
      }
      return winner == me;
    }
    void Finish(int me, absl::StatusOr<Response> result) {
      std::lock_guard lock(mu);
      if (result.ok() && winner == -1) {
        winner = me;
        cancellations[1 - me]->Cancel();
      }
      results[me] = std::move(result);
      cv.notify_all();
    }
    // Waits `delay`; true when the first attempt is still undecided then (and marks the hedge).
    bool WaitToHedge(nanoseconds delay) {
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, delay, [&] { return results[0].has_value() || winner != -1; })) {
        return false;
      }
      if (cancellations[0]->cancelled()) return false;  // The caller gave up.
      hedged = true;
      return true;
    }
    absl::StatusOr<Response> Outcome() {
      std::lock_guard lock(mu);
      const int attempts = internal::AttemptsOf(*results[0]) +
                           (hedged && results[1] ? internal::AttemptsOf(*results[1]) : 0);
      absl::StatusOr<Response> out =
          winner == -1 ? std::move(*results[0]) : std::move(*results[winner]);
      if (out.ok()) {
        out->attempts = attempts;
        return out;
      }
      return internal::WithAttempts(out.status(), attempts);
    }
  };

  std::shared_ptr<typename Kind::Model> model_;
  LatencyWindow latencies_;
};

}  // namespace

static absl::Status CheckHedgingPolicy(const HedgingPolicy& p) {
  using internal::InRange;
  return internal::FirstError({
      internal::NotNegative("HedgingPolicy::delay", p.delay),
      InRange("HedgingPolicy::percentile", p.percentile, 1e-9, 1, "in (0, 1]"),
      InRange("HedgingPolicy::window", p.window, 1, 1e7, "in [1, 10000000]"),
      InRange("HedgingPolicy::min_samples", p.min_samples, 1, p.window, "in [1, window]"),
      internal::NotNegative("HedgingPolicy::initial_delay", p.initial_delay),
  });
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithHedging(std::shared_ptr<ChatModel> model,
                                                       HedgingPolicy policy) {
  absl::Status check = internal::FirstError(
      {internal::NotNull(model, "WithHedging's model"), CheckHedgingPolicy(policy)});
  return internal::Decorate<HedgingCore, internal::ChatKind>(check, std::move(model),
                                                             std::move(policy));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithHedging(std::shared_ptr<EmbeddingModel> model,
                                                            HedgingPolicy policy) {
  absl::Status check = internal::FirstError(
      {internal::NotNull(model, "WithHedging's model"), CheckHedgingPolicy(policy)});
  return internal::Decorate<HedgingCore, internal::EmbeddingKind>(check, std::move(model),
                                                                  std::move(policy));
}

}  // namespace llmkit
