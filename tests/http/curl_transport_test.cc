// The libcurl transport against the scripted server on 127.0.0.1: responses, keep-alive,
// 256 requests in flight on one event loop, streaming in fragments, stalls, deadlines,
// cancellation, dropped connections and bad input.

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/http.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Close;
using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::Send;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::StreamHead;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<HttpTransport> Transport() {
  auto transport = NewCurlTransport();
  EXPECT_TRUE(transport.ok());
  return *transport;
}

HttpRequest Post(const TestServer& server, const std::string& path, std::string body = "{}") {
  HttpRequest request;
  request.url = server.Url(path);
  request.body = std::move(body);
  request.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer sk-secret"}};
  return request;
}

TEST(CurlTransport, SendsAndReceives) {
  ServerRequest seen;
  std::mutex mu;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    seen = request;
    return Reply(200, R"({"ok":true})", {{"x-request-id", "req_123"}});
  });
  auto response = Transport()->Send(Post(server, "/v1/chat", R"({"q":1})"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->Header("X-Request-Id"), "req_123");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/v1/chat");
  EXPECT_EQ(seen.body, R"({"q":1})");
  EXPECT_EQ(FindHeader(seen.headers, "authorization"), "Bearer sk-secret");
}

TEST(CurlTransport, ErrorStatusesAreResponses) {
  TestServer server([](const ServerRequest&) {
    return Reply(429, R"({"error":{"message":"slow down"}})", {{"Retry-After", "7"}});
  });
  auto response = Transport()->Send(Post(server, "/"));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(response->Header("retry-after"), "7");
  EXPECT_THAT(response->body, HasSubstr("slow down"));
}

TEST(CurlTransport, ReusesConnections) {
  TestServer server([](const ServerRequest&) { return Reply(200, "{}"); });
  auto transport = Transport();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(transport->Send(Post(server, "/")).ok());
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.connections(), 1);
}

TEST(CurlTransport, ManyRequestsInFlightOnOneLoop) {
  constexpr int kRequests = 256;
  std::atomic<int> arrived{0};
  TestServer server([&](const ServerRequest&) {
    // Answer only once every request has arrived (or after 20 s, so a failure cannot hang).
    ++arrived;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (arrived < kRequests && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return Reply(200, "{}");
  });
  auto transport = NewCurlTransport({.max_connections_per_host = 300});
  ASSERT_TRUE(transport.ok());
  std::vector<std::promise<absl::StatusOr<HttpResponse>>> results(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    (*transport)->Start(Post(server, "/"), nullptr, [&results, i](absl::StatusOr<HttpResponse> r) {
      results[i].set_value(std::move(r));
    });
  }
  for (auto& result : results) {
    auto response = result.get_future().get();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  // All 256 were being answered at once, while the transport ran one thread.
  EXPECT_EQ(server.max_in_flight(), kRequests) << server.connections() << " connections";
}

class Collect : public StreamHandler {
 public:
  bool OnHeaders(int status, const HttpHeaders&) override {
    status_ = status;
    return true;
  }
  bool OnData(std::string_view bytes) override {
    body_.append(bytes);
    ++pieces_;
    return stop_after_ == 0 || pieces_ < stop_after_;
  }
  int status_ = 0;
  int pieces_ = 0;
  int stop_after_ = 0;
  std::string body_;
};

TEST(CurlTransport, StreamsFragmentsInOrder) {
  const std::string events = "data: {\"a\":\"h\xC3\xA9llo\"}\n\ndata: [DONE]\n\n";
  TestServer server([&](const ServerRequest&) {
    Script script = {StreamHead()};
    for (char c : events) {  // One byte at a time, cutting lines and UTF-8 sequences.
      script.push_back(Send(std::string(1, c)));
      script.push_back(Sleep(1));
    }
    script.push_back(Close());
    return script;
  });
  Collect handler;
  auto response = Transport()->Send(Post(server, "/stream"), &handler);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(handler.status_, 200);
  EXPECT_EQ(handler.body_, events);
  EXPECT_GT(handler.pieces_, 5);
  EXPECT_TRUE(response->body.empty());
}

TEST(CurlTransport, HandlerCanStopTheStream) {
  TestServer server([](const ServerRequest&) {
    Script script = {StreamHead()};
    for (int i = 0; i < 100; ++i) {
      script.push_back(Send("data: x\n\n"));
      script.push_back(Sleep(5));
    }
    return script;
  });
  Collect handler;
  handler.stop_after_ = 2;
  auto response = Transport()->Send(Post(server, "/"), &handler);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);
}

TEST(CurlTransport, IdleTimeoutEndsAStalledStream) {
  TestServer server([](const ServerRequest&) {
    return Script{StreamHead(), Send("data: first\n\n"), Sleep(3000), Close()};
  });
  HttpRequest request = Post(server, "/");
  request.idle_timeout = std::chrono::milliseconds(200);
  Collect handler;
  auto response = Transport()->Send(request, &handler);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(response.status().message(), HasSubstr("idle"));
  EXPECT_EQ(handler.body_, "data: first\n\n");
}

TEST(CurlTransport, DeadlineEndsASlowDrip) {
  TestServer server([](const ServerRequest&) {
    Script script = {StreamHead()};
    for (int i = 0; i < 100; ++i) {
      script.push_back(Send("data: x\n\n"));
      script.push_back(Sleep(50));
    }
    return script;
  });
  HttpRequest request = Post(server, "/");
  request.timeout = std::chrono::milliseconds(300);
  Collect handler;
  auto response = Transport()->Send(request, &handler);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(CurlTransport, CancelFromAnotherThread) {
  TestServer server([](const ServerRequest&) { return Script{Sleep(3000), Close()}; });
  HttpRequest request = Post(server, "/");
  request.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([c = request.cancellation] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c->Cancel();
  });
  auto response = Transport()->Send(request);
  canceller.join();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);
}

TEST(CurlTransport, DroppedConnectionIsUnavailable) {
  TestServer server([](const ServerRequest&) {
    return Script{Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":"), Close()};
  });
  auto response = Transport()->Send(Post(server, "/?api_key=sk-secret"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), Not(HasSubstr("sk-secret")));
}

TEST(CurlTransport, RefusedConnectionIsUnavailable) {
  int port;
  {
    TestServer server([](const ServerRequest&) { return Reply(200, "{}"); });
    port = server.port();
  }
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto response = Transport()->Send(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
}

TEST(CurlTransport, BadInputIsInvalidArgument) {
  HttpRequest request;
  request.url = "notascheme://x";
  EXPECT_EQ(Transport()->Send(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.url = "http://127.0.0.1:1/";
  request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  EXPECT_EQ(Transport()->Send(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CurlTransport, DestroyingTheTransportEndsPendingRequests) {
  TestServer server([](const ServerRequest&) { return Script{Sleep(2000), Close()}; });
  std::promise<absl::StatusOr<HttpResponse>> result;
  {
    auto transport = Transport();
    transport->Start(Post(server, "/"), nullptr,
                     [&](absl::StatusOr<HttpResponse> r) { result.set_value(std::move(r)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(result.get_future().get().status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace llmkit
