// WithHedging in real time (the hedge delay is a wait on the steady clock): a slow first attempt
// is overtaken and cancelled, a fast one is never hedged, the delay follows the observed p95,
// streams are hedged only until their first event.

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

#include "common/must.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Each call takes the next duration of its script (the last repeats), waking early when its
// request is cancelled; a stream sends one event first when `events` is set.
class SleepyModel final : public ChatModel {
 public:
  explicit SleepyModel(std::vector<milliseconds> durations, bool events = false)
      : durations_(std::move(durations)), events_(events) {}
  absl::StatusOr<ChatResponse> Complete(const ChatRequest&, const CallContext& call) override {
    return Run(call, nullptr);
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest&, const StreamCallback& on_event,
                                      const CallContext& call) override {
    return Run(call, &on_event);
  }
  std::atomic<int> calls{0};
  std::atomic<int> cancelled{0};

 private:
  absl::StatusOr<ChatResponse> Run(const CallContext& call, const StreamCallback* on_event) {
    const int me = calls++;
    const milliseconds duration = durations_[std::min<size_t>(me, durations_.size() - 1)];
    if (on_event != nullptr && events_) {
      StreamEvent event;
      event.text = "attempt " + std::to_string(me);
      if (!(*on_event)(event)) return absl::CancelledError("stopped by the callback");
    }
    const auto end = steady_clock::now() + duration;
    while (steady_clock::now() < end) {
      if (call.cancelled()) {
        ++cancelled;
        return absl::CancelledError("cancelled");
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    ChatResponse r;
    r.text = "attempt " + std::to_string(me);
    return r;
  }
  std::vector<milliseconds> durations_;
  bool events_;
};

HedgingPolicy Fixed(milliseconds delay) {
  HedgingPolicy policy;
  policy.delay = delay;
  return policy;
}

TEST(WithHedging, SlowFirstAttemptIsOvertakenAndCancelled) {
  auto model = std::make_shared<SleepyModel>(std::vector{milliseconds(5000), milliseconds(10)});
  auto start = steady_clock::now();
  auto r = Must(WithHedging(model, Fixed(milliseconds(50))))->Complete({});
  auto took = steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "attempt 1");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(model->calls, 2);
  EXPECT_EQ(model->cancelled, 1);
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_GE(took, milliseconds(50));
}

TEST(WithHedging, FastAttemptsAreNotHedged) {
  auto model = std::make_shared<SleepyModel>(std::vector{milliseconds(1)});
  auto hedged = Must(WithHedging(model, Fixed(milliseconds(500))));
  for (int i = 0; i < 5; ++i) {
    auto r = hedged->Complete({});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->attempts, 1);
  }
  EXPECT_EQ(model->calls, 5);
}

TEST(WithHedging, CallerCancellationReachesBothAttempts) {
  auto model = std::make_shared<SleepyModel>(std::vector{milliseconds(5000)});
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(150));
    call.cancellation->Cancel();
  });
  auto start = steady_clock::now();
  absl::Status status =
      Must(WithHedging(model, Fixed(milliseconds(20))))->Complete({}, call).status();
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(model->calls, 2);
  EXPECT_EQ(model->cancelled, 2);
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
}

TEST(WithHedging, DelayFollowsTheObservedPercentile) {
  // 20 calls of ~5 ms, then one that would take 5 s: hedged after about the p95 (~5 ms), far
  // before the 2 s initial delay.
  std::vector<milliseconds> durations(20, milliseconds(5));
  durations.push_back(milliseconds(5000));
  durations.push_back(milliseconds(5));
  auto model = std::make_shared<SleepyModel>(durations);
  HedgingPolicy policy;
  policy.initial_delay = milliseconds(2000);
  policy.min_samples = 20;
  auto hedged = Must(WithHedging(model, policy));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(hedged->Complete({})->attempts, 1);
  auto start = steady_clock::now();
  auto r = hedged->Complete({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->text, "attempt 21");
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
}

TEST(WithHedging, StreamIsHedgedOnlyBeforeItsFirstEvent) {
  // The first attempt delivers an event at once, then takes 300 ms: it has won, no hedge.
  auto model = std::make_shared<SleepyModel>(std::vector{milliseconds(300)}, /*events=*/true);
  std::vector<std::string> seen;
  auto r = Must(WithHedging(model, Fixed(milliseconds(20))))->Stream({}, [&](const StreamEvent& e) {
    seen.push_back(e.text);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(model->calls, 1);
  EXPECT_THAT(seen, ::testing::ElementsAre("attempt 0"));
}

TEST(WithHedging, EmbeddingModelsToo) {
  class Slow final : public EmbeddingModel {
   public:
    absl::StatusOr<Embeddings> Embed(absl::Span<const std::string>, const EmbedOptions&,
                                     const CallContext& call) override {
      if (calls++ == 0) {
        while (!call.cancelled()) std::this_thread::sleep_for(milliseconds(1));
        return absl::CancelledError("cancelled");
      }
      Embeddings e;
      e.model = "second";
      return e;
    }
    std::atomic<int> calls{0};
  };
  auto model = std::make_shared<Slow>();
  std::vector<std::string> inputs = {"x"};
  auto e = Must(WithHedging(std::shared_ptr<EmbeddingModel>(model), Fixed(milliseconds(20))))
               ->Embed(inputs, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->model, "second");
  EXPECT_EQ(e->attempts, 2);
}

}  // namespace
}  // namespace llmkit
