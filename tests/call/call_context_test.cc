// The call context against a real HTTP server on 127.0.0.1: deadlines are absolute and never
// extended by retries or fallback, a stream runs as long as bytes keep coming and ends after its
// idle timeout of silence, cancellation reaches every attempt, and tags never leave the process.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/must.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/call.h"
#include "llmkit/embeddings.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Must;

using ::llmkit::testing::Close;
using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::Send;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::StreamHead;
using ::llmkit::testing::TestServer;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAnswer[] =
    R"({"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})";

std::string Chunk(std::string_view text) {
  return "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
         std::string(text) + "\"}}]}\n\n";
}

std::unique_ptr<ChatModel> Client(const TestServer& server, OpenAIOptions options = {}) {
  options.base_url = server.Url("/v1");
  options.api_key = "sk-test";
  options.model = "m";
  auto client = NewOpenAIClient(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

ChatRequest Hello() {
  ChatRequest request;
  request.messages = {{.role = "user", .content = "hello"}};
  return request;
}

TEST(CallContext, Helpers) {
  CallContext none;
  EXPECT_FALSE(none.has_deadline());
  EXPECT_EQ(none.Remaining(), std::chrono::nanoseconds::max());
  EXPECT_TRUE(none.Check("x").ok());
  CallContext soon = CallContext::WithTimeout(milliseconds(50));
  EXPECT_TRUE(soon.has_deadline());
  EXPECT_LE(soon.Remaining(), milliseconds(50));
  EXPECT_EQ(soon.Check("x", soon.deadline).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(soon.Remaining(soon.deadline + milliseconds(1)), std::chrono::nanoseconds(0));
  // Huge timeouts saturate instead of overflowing.
  EXPECT_EQ(CallContext::WithTimeout(std::chrono::nanoseconds::max()).deadline,
            CallContext::kNoDeadline);
  // A sooner deadline wins; a later one does not extend.
  EXPECT_EQ(soon.WithDeadlineAtMost(soon.deadline + milliseconds(10)).deadline, soon.deadline);
  EXPECT_EQ(soon.WithDeadlineAtMost(soon.deadline - milliseconds(10)).deadline,
            soon.deadline - milliseconds(10));
  CallContext tagged;
  tagged.tags = {{"user", "u-1"}, {"feature", "search"}};
  EXPECT_EQ(tagged.Tag("user"), "u-1");
  EXPECT_EQ(tagged.Tag("team"), "");
  tagged.cancellation = std::make_shared<Cancellation>();
  std::shared_ptr<Cancellation> child = tagged.Linked();
  EXPECT_FALSE(child->cancelled());
  tagged.cancellation->Cancel();
  EXPECT_TRUE(child->cancelled());
  EXPECT_EQ(tagged.Check("x").code(), absl::StatusCode::kCancelled);
}

TEST(CallContext, APassedDeadlineSendsNothing) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest&) {
    ++calls;
    return Reply(200, kAnswer);
  });
  CallContext call;
  call.deadline = steady_clock::now() - milliseconds(1);
  EXPECT_EQ(Client(server)->Complete(Hello(), call).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  call = CallContext();
  call.cancellation = std::make_shared<Cancellation>();
  call.cancellation->Cancel();
  EXPECT_EQ(Client(server)->Complete(Hello(), call).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls.load(), 0);
}

TEST(CallContext, DeadlineEndsAPlainCall) {
  TestServer server([&](const ServerRequest&) -> Script { return {Sleep(5000), Close()}; });
  const auto start = steady_clock::now();
  absl::Status status =
      Client(server)->Complete(Hello(), CallContext::WithTimeout(milliseconds(300))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));
}

// A plain call without a deadline gets the client's request_timeout (the SDKs' 600 s), not the
// stream idle timeout: a server that is silent until its answer is complete is not cut early.
TEST(CallContext, PlainCallsUseRequestTimeoutNotIdleTimeout) {
  TestServer server([&](const ServerRequest&) -> Script {
    Script script = {Sleep(600)};
    for (auto& step : Reply(200, kAnswer)) script.push_back(step);
    return script;
  });
  CallContext call;
  call.idle_timeout = milliseconds(200);
  auto r = Client(server)->Complete(Hello(), call);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "ok");
  const auto start = steady_clock::now();
  absl::Status status =
      Client(server, {.request_timeout = milliseconds(200)})->Complete(Hello()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(steady_clock::now() - start, milliseconds(550));
}

// A healthy stream that takes longer than its idle timeout as a whole runs to the end; a stream
// that stops sending ends after the idle timeout, not at some far deadline.
TEST(CallContext, StreamsRunWhileBytesComeAndEndAfterSilence) {
  TestServer server([&](const ServerRequest& request) -> Script {
    Script script = {StreamHead()};
    const bool stall = request.path.find("/stall/") != std::string::npos;
    for (int i = 0; i < 8; ++i) {
      script.push_back(Send(Chunk("x")));
      script.push_back(Sleep(stall && i == 2 ? 5000 : 100));
    }
    script.push_back(Send("data: [DONE]\n\n"));
    script.push_back(Close());
    return script;
  });
  CallContext call;
  call.idle_timeout = milliseconds(400);
  std::string text;
  auto collect = [&](const StreamEvent& e) {
    text += e.text;
    return true;
  };
  auto r = Client(server)->Stream(Hello(), collect, call);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(text, "xxxxxxxx");  // 800 ms in all: twice the idle timeout.

  text.clear();
  const auto start = steady_clock::now();
  OpenAIOptions options;
  options.base_url = server.Url("/stall/v1");
  options.model = "m";
  auto stalling = NewOpenAIClient(options);
  ASSERT_TRUE(stalling.ok());
  absl::Status status = (*stalling)->Stream(Hello(), collect, call).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr("idle timeout"));
  EXPECT_EQ(text, "xxx");
  EXPECT_LT(steady_clock::now() - start, milliseconds(2500));
}

// Retries and fallback hops share the caller's one deadline.
TEST(CallContext, RetryAndFallbackNeverExtendTheDeadline) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest&) {
    ++calls;
    return Reply(503, R"({"error":{"message":"busy"}})", {{"retry-after-ms", "50"}});
  });
  std::shared_ptr<ChatModel> primary = Client(server);
  std::shared_ptr<ChatModel> backup = Client(server);
  std::shared_ptr<ChatModel> model =
      Must(WithRetry(Must(WithFallback({{primary}, {backup}}, {.cooldown = milliseconds(0)})),
                     {.max_retries = 1000}));
  const auto start = steady_clock::now();
  absl::Status status =
      model->Complete(Hello(), CallContext::WithTimeout(milliseconds(400))).status();
  const auto took = steady_clock::now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(took, milliseconds(1000));
  EXPECT_GE(calls.load(), 2);
}

// Cancelling the caller's context stops a retrying call, a hedged call and a batched embedding.
TEST(CallContext, CancellationReachesEveryAttempt) {
  TestServer server([&](const ServerRequest&) -> Script { return {Sleep(5000), Close()}; });
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    call.cancellation->Cancel();
  });
  std::shared_ptr<ChatModel> model =
      Must(WithRetry(Must(WithHedging(Client(server), {.delay = milliseconds(20)}))));
  const auto start = steady_clock::now();
  absl::Status status = model->Complete(Hello(), call).status();
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(steady_clock::now() - start, milliseconds(2000));

  OpenAIOptions options;
  options.base_url = server.Url("/v1");
  options.model = "e";
  auto embedder = NewOpenAIEmbeddingModel(options, {.max_inputs_per_request = 1});
  ASSERT_TRUE(embedder.ok());
  CallContext embed_call;
  embed_call.cancellation = std::make_shared<Cancellation>();
  std::thread embed_canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    embed_call.cancellation->Cancel();
  });
  const std::vector<std::string> inputs = {"a", "b", "c", "d", "e", "f"};
  const auto embed_start = steady_clock::now();
  status = (*embedder)->Embed(inputs, {}, embed_call).status();
  embed_canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(steady_clock::now() - embed_start, milliseconds(2000));
}

// Tags and the trace context are for the host's own parts; the provider never sees them.
// Tags stay in the process; the trace context goes only as the W3C traceparent header.
TEST(CallContext, TagsNeverReachTheProvider) {
  std::string body, headers;
  TestServer server([&](const ServerRequest& request) {
    body = request.body;
    headers.clear();
    for (const auto& [name, value] : request.headers) headers += name + ": " + value + "\n";
    return Reply(200, kAnswer);
  });
  CallContext call;
  call.tags = {{"user", "tag-user-7"}, {"tenant", "tag-tenant-9"}};
  call.trace.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ASSERT_TRUE(Client(server)->Complete(Hello(), call).ok());
  EXPECT_THAT(body, HasSubstr("hello"));
  for (const std::string& seen : {body, headers}) {
    EXPECT_THAT(seen, Not(HasSubstr("tag-user-7")));
    EXPECT_THAT(seen, Not(HasSubstr("tag-tenant-9")));
  }
  EXPECT_THAT(body, Not(HasSubstr("4bf92f3577b34da6")));
  EXPECT_THAT(headers,
              HasSubstr("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"));
}

TEST(CallContext, ClientOptionsAreValidated) {
  absl::Status status = NewOpenAIClient({.request_timeout = milliseconds(-1)}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("request_timeout"));
  status = NewOpenAIEmbeddingModel({}, {.max_concurrency = 0}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("max_concurrency"));
}

}  // namespace
}  // namespace llmkit
