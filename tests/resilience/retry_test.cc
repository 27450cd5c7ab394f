// WithRetry and the retry rule on a fake clock: which statuses retry, the backoff sequence and
// its jitter bounds, header precedence and caps, HTTP dates, the caller's deadline, streams that
// already delivered events, cancellation; then the whole loop against the scripted HTTP server.

#include <deque>
#include <vector>

#include "common/must.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "resilience/fakes.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::Answer;
using testing::Harness;
using testing::Http;
using testing::ScriptedEmbeddingModel;
using testing::ScriptedModel;

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
  CallContext call;
  call.deadline = h.clock->Now() + seconds(600);
  call.tags = {{"user", "u-1"}};
  auto r = Must(WithRetry(model, h.Policy()))->Complete({}, call);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "ok");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->backoff, milliseconds(2000));  // 1 s from Retry-After, then 1 s (second backoff).
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(1000), milliseconds(1000)));
  // Each attempt had the caller's deadline, unchanged (so the time left shrank), and its tags.
  EXPECT_THAT(model->deadlines, ElementsAre(call.deadline, call.deadline, call.deadline));
  EXPECT_THAT(model->tags, ElementsAre(call.tags, call.tags, call.tags));
}

TEST(WithRetry, StopsOnNonRetryableAndAfterMaxRetries) {
  Harness h;
  auto bad = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kOutOfRange)});
  absl::Status status = Must(WithRetry(bad, h.Policy()))->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "1");
  auto down = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>(4, Http(absl::StatusCode::kUnavailable)));
  status = Must(WithRetry(down, h.Policy()))->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "3");  // Default: 2 retries.
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(500), milliseconds(1000)));
}

TEST(WithRetry, NeverSleepsPastTheDeadline) {
  Harness h;
  auto model = std::make_shared<ScriptedModel>(std::deque<absl::StatusOr<ChatResponse>>{
      Http(absl::StatusCode::kResourceExhausted, {{kPayloadRetryAfter, "5"}}), ChatResponse{}});
  CallContext call;
  call.deadline = h.clock->Now() + seconds(3);
  absl::Status status = Must(WithRetry(model, h.Policy()))->Complete({}, call).status();
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
  auto r = Must(WithRetry(before, h.Policy()))->Stream({}, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attempts, 2);
  auto after = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kUnavailable),
                                               ChatResponse{}},
      /*events=*/1);
  int seen = 0;
  absl::Status status = Must(WithRetry(after, h.Policy()))
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
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  call.cancellation->Cancel();
  EXPECT_EQ(Must(WithRetry(model, h.Policy()))->Complete({}, call).status().code(),
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
  auto r = Must(WithRetry(std::move(*client), policy))->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "hi");
  EXPECT_EQ(r->attempts, 4);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_THAT(h.sleeper->sleeps,
              ElementsAre(milliseconds(1000), milliseconds(1000), milliseconds(2000)));
}

TEST(RetryBudget, KeepsRetriesUnderTheRatio) {
  Harness h;
  RetryPolicy policy = h.Policy();
  policy.max_retries = 5;
  policy.budget = Must(RetryBudget::Create(/*ratio=*/0.1, /*burst=*/2));
  auto down = std::make_shared<ScriptedModel>(
      std::deque<absl::StatusOr<ChatResponse>>{Http(absl::StatusCode::kUnavailable)});
  auto model = Must(WithRetry(down, policy));
  // The first call spends the burst (2 retries); after it every 10 calls earn one retry.
  absl::Status first = model->Complete({}).status();
  EXPECT_EQ(GetPayload(first, kPayloadAttempts), "3");
  EXPECT_EQ(GetPayload(first, kPayloadRetryBudget), "exhausted");
  EXPECT_THAT(first.message(), HasSubstr("retry budget exhausted"));
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable);
  for (int i = 0; i < 99; ++i) (void)model->Complete({});
  // 100 calls: at most 0.1 * 100 + 2 retries.
  EXPECT_LE(down->calls() - 100, 12);
  EXPECT_GE(down->calls() - 100, 11);
  EXPECT_GT(policy.budget->retries_refused(), 0);
}

TEST(RetryBudget, RefillsWithCallsUpToTheBurst) {
  std::shared_ptr<RetryBudget> budget = Must(RetryBudget::Create(0.5, 3));
  EXPECT_DOUBLE_EQ(budget->tokens(), 3);
  EXPECT_TRUE(budget->TryRetry());
  EXPECT_TRUE(budget->TryRetry());
  EXPECT_TRUE(budget->TryRetry());
  EXPECT_FALSE(budget->TryRetry());
  budget->RecordCall();
  EXPECT_FALSE(budget->TryRetry());  // 0.5 token.
  budget->RecordCall();
  EXPECT_TRUE(budget->TryRetry());
  for (int i = 0; i < 100; ++i) budget->RecordCall();
  EXPECT_DOUBLE_EQ(budget->tokens(), 3);
  EXPECT_EQ(budget->retries_refused(), 2);
}

TEST(WithRetry, EmbeddingModelsToo) {
  Harness h;
  Embeddings ok;
  ok.dimensions = 2;
  ok.values = {1, 2};
  auto model = std::make_shared<ScriptedEmbeddingModel>(std::deque<absl::StatusOr<Embeddings>>{
      Http(absl::StatusCode::kUnavailable, {{kPayloadRetryAfterMs, "250"}}), ok});
  std::vector<std::string> inputs = {"a"};
  auto e = Must(WithRetry(std::shared_ptr<EmbeddingModel>(model), h.Policy()))->Embed(inputs, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->attempts, 2);
  EXPECT_EQ(e->backoff, milliseconds(250));
  EXPECT_EQ(model->calls, 2);
  EXPECT_THAT(h.sleeper->sleeps, ElementsAre(milliseconds(250)));
}

// A stall past the attempt timeout is retried; a stream fails over before its first byte only.
TEST(WithRetry, StallsAndStreamsAgainstTheScriptedServer) {
  using ::llmkit::testing::Close;
  using ::llmkit::testing::Reply;
  using ::llmkit::testing::Send;
  using ::llmkit::testing::ServerRequest;
  using ::llmkit::testing::StreamHead;
  using ::llmkit::testing::StreamReply;
  using ::llmkit::testing::TestServer;
  const std::string stream =
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
      "\n\ndata: [DONE]\n\n";
  std::atomic<int> n{0};
  TestServer server([&](const ServerRequest& request) -> ::llmkit::testing::Script {
    int i = n++;
    if (request.path == "/stall/v1/chat/completions") {
      if (i == 0) return {::llmkit::testing::Sleep(3000), Close()};  // Stalls past 300 ms.
      return Reply(200, R"({"id":"c","choices":[{"message":{"content":"late"},
                            "finish_reason":"stop"}]})");
    }
    if (request.path == "/before/v1/chat/completions") {  // 503 before any byte, then a stream.
      if (i == 0) return Reply(503, R"({"error":{"message":"busy"}})");
      return StreamReply(stream, 7);
    }
    // After: one event, then the connection drops.
    return {StreamHead(), Send(stream.substr(0, stream.find("\n\n") + 2)), Close()};
  });
  Harness h;
  RetryPolicy policy = h.Policy();
  policy.attempt_timeout = milliseconds(300);
  ChatRequest request;
  request.messages = {{.role = "user", .content = "hi"}};

  auto stalling = NewOpenAIClient({.base_url = server.Url("/stall/v1"), .model = "m"});
  ASSERT_TRUE(stalling.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = Must(WithRetry(std::move(*stalling), policy))->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "late");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));

  n = 0;
  auto before = NewOpenAIClient({.base_url = server.Url("/before/v1"), .model = "m"});
  ASSERT_TRUE(before.ok());
  std::string text;
  auto collect = [&](const StreamEvent& e) {
    text += e.text;
    return true;
  };
  r = Must(WithRetry(std::move(*before), h.Policy()))->Stream(request, collect);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(text, "hi");
  EXPECT_EQ(r->attempts, 2);

  n = 0;
  text.clear();
  auto after = NewOpenAIClient({.base_url = server.Url("/after/v1"), .model = "m"});
  ASSERT_TRUE(after.ok());
  absl::Status status =
      Must(WithRetry(std::move(*after), h.Policy()))->Stream(request, collect).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "1");
  EXPECT_EQ(text, "hi");
  EXPECT_EQ(n.load(), 1);
}

}  // namespace
}  // namespace llmkit
