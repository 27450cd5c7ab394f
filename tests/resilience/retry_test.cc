// WithRetry and the retry rule on a fake clock: which statuses retry, the backoff sequence and
// its jitter bounds, header precedence and caps, HTTP dates, the caller's deadline, streams that
// already delivered events, cancellation; then the whole loop against the scripted HTTP server.

#include <deque>
#include <mutex>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A clock that only moves when the sleeper sleeps.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  std::chrono::system_clock::time_point WallNow() const override {
    return wall_ + (now_ - std::chrono::steady_clock::time_point());
  }
  void Advance(nanoseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_;
  // 2026-11-23 12:00:00 UTC.
  std::chrono::system_clock::time_point wall_ =
      std::chrono::system_clock::time_point(seconds(1795435200));
};

class FakeSleeper final : public Sleeper {
 public:
  explicit FakeSleeper(std::shared_ptr<FakeClock> clock) : clock_(std::move(clock)) {}
  bool Sleep(nanoseconds d, const Cancellation* cancellation) override {
    if (cancellation != nullptr && cancellation->cancelled()) return false;
    sleeps.push_back(std::chrono::duration_cast<milliseconds>(d));
    clock_->Advance(d);
    return true;
  }
  std::vector<milliseconds> sleeps;

 private:
  std::shared_ptr<FakeClock> clock_;
};

absl::Status Http(absl::StatusCode code,
                  std::vector<std::pair<std::string_view, std::string>> payloads = {}) {
  absl::Status status(code, "provider said no");
  for (auto& [key, value] : payloads) status = WithPayload(status, key, value);
  return status;
}

// Answers from a script; records the timeout each attempt had left.
class ScriptedModel final : public ChatModel {
 public:
  explicit ScriptedModel(std::deque<absl::StatusOr<ChatResponse>> script, int events = 0)
      : script_(std::move(script)), events_(events) {}
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request) override {
    timeouts.push_back(request.timeout);
    absl::StatusOr<ChatResponse> next = script_.front();
    script_.pop_front();
    return next;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request,
                                      const StreamCallback& on_event) override {
    for (int i = 0; i < events_; ++i) {
      StreamEvent e;
      e.text = "partial";
      if (on_event) on_event(e);
    }
    return Complete(request);
  }
  std::vector<milliseconds> timeouts;

 private:
  std::deque<absl::StatusOr<ChatResponse>> script_;
  int events_;
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

TEST(RetryRule, WhichStatusesRetry) {
  for (auto code : {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kAborted,
                    absl::StatusCode::kResourceExhausted, absl::StatusCode::kUnavailable}) {
    EXPECT_TRUE(IsRetryable(Http(code))) << code;
    EXPECT_FALSE(IsRetryable(Http(code, {{kPayloadShouldRetry, "false"}}))) << code;
  }
  for (auto code : {absl::StatusCode::kCancelled, absl::StatusCode::kInvalidArgument,
                    absl::StatusCode::kUnauthenticated, absl::StatusCode::kPermissionDenied,
                    absl::StatusCode::kNotFound, absl::StatusCode::kOutOfRange}) {
    EXPECT_FALSE(IsRetryable(Http(code))) << code;
    EXPECT_FALSE(IsRetryable(Http(code, {{kPayloadShouldRetry, "true"}}))) << code;
  }
  // The header decides for the rest: an unknown 4xx the server says to retry.
  EXPECT_FALSE(IsRetryable(Http(absl::StatusCode::kUnknown)));
  EXPECT_TRUE(IsRetryable(Http(absl::StatusCode::kUnknown, {{kPayloadShouldRetry, "true"}})));
  EXPECT_FALSE(IsRetryable(absl::OkStatus()));
}

TEST(RetryRule, BackoffDoublesToTheCapWithJitter) {
  Harness h;
  std::vector<milliseconds> low, high;
  for (int retry = 0; retry < 6; ++retry) {
    low.push_back(std::chrono::duration_cast<milliseconds>(
        RetryDelay(Http(absl::StatusCode::kUnavailable), retry, h.Policy(), *h.clock, 0.0)));
    high.push_back(std::chrono::duration_cast<milliseconds>(
        RetryDelay(Http(absl::StatusCode::kUnavailable), retry, h.Policy(), *h.clock, 1.0)));
  }
  EXPECT_THAT(low, ElementsAre(milliseconds(500), milliseconds(1000), milliseconds(2000),
                               milliseconds(4000), milliseconds(8000), milliseconds(8000)));
  EXPECT_THAT(high, ElementsAre(milliseconds(375), milliseconds(750), milliseconds(1500),
                                milliseconds(3000), milliseconds(6000), milliseconds(6000)));
}

TEST(RetryRule, HeaderPrecedenceAndCaps) {
  Harness h;
  auto delay = [&](std::vector<std::pair<std::string_view, std::string>> payloads) {
    return std::chrono::duration_cast<milliseconds>(
        RetryDelay(Http(absl::StatusCode::kResourceExhausted, std::move(payloads)), 0, h.Policy(),
                   *h.clock, 0.0));
  };
  EXPECT_EQ(delay({{kPayloadRetryAfterMs, "1500"}, {kPayloadRetryAfter, "7"}}), milliseconds(1500));
  EXPECT_EQ(delay({{kPayloadRetryAfter, "2"}}), milliseconds(2000));
  EXPECT_EQ(delay({{kPayloadRetryAfter, "0.25"}}), milliseconds(250));
  EXPECT_EQ(delay({{kPayloadRetryAfter, "3600"}}), milliseconds(60'000));  // Capped.
  EXPECT_EQ(delay({{kPayloadRetryAfter, "Mon, 23 Nov 2026 12:00:09 GMT"}}), milliseconds(9000));
  EXPECT_EQ(delay({{kPayloadRetryAfter, "Mon, 23 Nov 2026 11:00:00 GMT"}}), milliseconds(0));
  EXPECT_EQ(delay({{kPayloadRetryAfter, "soon"}}), milliseconds(500));  // Unreadable: backoff.
  EXPECT_EQ(delay({{kPayloadRetryAfterMs, "-5"}, {kPayloadRetryAfter, "1"}}), milliseconds(1000));
}

TEST(RetryRule, HttpDatesInAllThreeForms) {
  auto expected = std::chrono::system_clock::time_point(seconds(784111777));
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), expected);
  EXPECT_EQ(ParseHttpDate("06 Nov 1994"), std::nullopt);
}

TEST(WithRetry, RetriesUntilSuccessAndReportsIt) {
  Harness h;
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kResourceExhausted, {{kPayloadRetryAfter, "1"}}),
      Http(absl::StatusCode::kUnavailable), ChatResponse{.text = "ok"}});
  auto r = WithRetry(model, h.Policy())->Complete({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "ok");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->backoff, milliseconds(2000));  // 1 s from Retry-After, then 1 s (second backoff).
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(1000), milliseconds(1000)));
  // Each attempt had the time left of the caller's 600 s.
  EXPECT_THAT(model->timeouts,
              ElementsAre(milliseconds(600'000), milliseconds(599'000), milliseconds(598'000)));
}

TEST(WithRetry, StopsOnNonRetryableAndAfterMaxRetries) {
  Harness h;
  auto bad = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kOutOfRange)});
  absl::Status status = WithRetry(bad, h.Policy())->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "1");
  auto down = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>(4, Http(absl::StatusCode::kUnavailable)));
  status = WithRetry(down, h.Policy())->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "3");  // Default: 2 retries.
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(500), milliseconds(1000)));
}

TEST(WithRetry, NeverSleepsPastTheDeadline) {
  Harness h;
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kResourceExhausted, {{kPayloadRetryAfter, "5"}}), ChatResponse{}});
  ChatRequest request;
  request.timeout = seconds(3);
  absl::Status status = WithRetry(model, h.Policy())->Complete(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("would pass the deadline"));
  EXPECT_THAT(status.message(), HasSubstr("provider said no"));
  EXPECT_EQ(GetPayload(status, kPayloadRetryAfter), "5");  // The last error's payloads stay.
  EXPECT_TRUE(h.sleeper->sleeps.empty());
}

TEST(WithRetry, StreamsRetryOnlyBeforeTheFirstEvent) {
  Harness h;
  auto before = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kUnavailable), ChatResponse{.text = "ok"}});
  auto r = WithRetry(before, h.Policy())->Stream({}, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attempts, 2);
  auto after = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kUnavailable),
                                               ChatResponse{}},
      /*events=*/1);
  int seen = 0;
  absl::Status status = WithRetry(after, h.Policy())
                            ->Stream({}, [&](const StreamEvent&) { return ++seen > 0; })
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "1");
  EXPECT_EQ(seen, 1);
}

TEST(WithRetry, CancellationEndsTheWait) {
  Harness h;
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kUnavailable), ChatResponse{}});
  ChatRequest request;
  request.cancellation = std::make_shared<Cancellation>();
  request.cancellation->Cancel();
  EXPECT_EQ(WithRetry(model, h.Policy())->Complete(request).status().code(),
            absl::StatusCode::kCancelled);
}

TEST(WithRetry, RealSleeperWakesOnCancellation) {
  auto cancel = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(50));
    cancel->Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(RealSleeper()->Sleep(seconds(10), cancel.get()));
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
  EXPECT_TRUE(RealSleeper()->Sleep(milliseconds(1), nullptr));
}

// The whole loop over HTTP: 429 with Retry-After: 1, 503, a connection dropped mid-body, 200.
TEST(WithRetry, AgainstTheScriptedServer) {
  using ::llmkit::testing::Close;
  using ::llmkit::testing::Reply;
  using ::llmkit::testing::Send;
  using ::llmkit::testing::ServerRequest;
  using ::llmkit::testing::TestServer;
  std::atomic<int> n{0};
  TestServer server([&](const ServerRequest&) -> ::llmkit::testing::Script {
    switch (n++) {
      case 0:
        return Reply(429, R"({"error":{"message":"slow down"}})", {{"retry-after", "1"}});
      case 1:
        return Reply(503, R"({"error":{"message":"busy"}})");
      case 2:  // Cut in the middle of the body.
        return {Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id"), Close()};
      default:
        return Reply(200, R"({"id":"c","choices":[{"message":{"content":"hi"},
                              "finish_reason":"stop"}]})");
    }
  });
  auto client = NewOpenAIClient({.base_url = server.Url("/v1"), .model = "m"});
  ASSERT_TRUE(client.ok());
  Harness h;
  RetryPolicy policy = h.Policy();
  policy.max_retries = 3;
  ChatRequest request;
  request.messages = {{.role = "user", .content = "hi"}};
  auto r = WithRetry(std::move(*client), policy)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "hi");
  EXPECT_EQ(r->attempts, 4);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_THAT(h.sleeper->sleeps,
              ElementsAre(milliseconds(1000), milliseconds(1000), milliseconds(2000)));
}

}  // namespace
}  // namespace llmkit
