// The Anthropic Messages client against the scripted server: the request body it builds, plain
// and streamed answers (cut anywhere), error events inside a 200 stream, and the error classes.

#include "llmkit/anthropic.h"

#include <mutex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMessage[] = R"({
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
  "content": [
    {"type": "thinking", "thinking": "The user wants weather.", "signature": "abc"},
    {"type": "text", "text": "Checking Paris."},
    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
     "input": {"city": "Paris", "units": ["c"]}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 12, "output_tokens": 30, "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 8}})";

// The same answer as kMessage, streamed (thinking deltas, pings and whitespace in the JSON).
const char* kEvents[][2] = {
    {"message_start",
     R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1,"cache_read_input_tokens":100,"cache_creation_input_tokens":8}}})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants weather."}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"ping", R"({"type": "ping"})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking "}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Paris."}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is\", \"units\": [\"c\"]}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":2})"},
    {"message_delta",
     R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}})"},
    {"message_stop", R"({"type":"message_stop"})"},
};

std::string EventText(size_t count = std::size(kEvents)) {
  std::string all;
  for (size_t i = 0; i < count; ++i) {
    all += std::string("event: ") + kEvents[i][0] + "\ndata: " + kEvents[i][1] + "\n\n";
  }
  return all;
}

Script StreamScript(size_t fragment, std::string all = EventText()) {
  return ::llmkit::testing::StreamReply(all, fragment, {{"request-id", "req_a"}});
}

std::unique_ptr<ChatModel> Client(const TestServer& server, AnthropicOptions options = {}) {
  options.base_url = server.Url("/");
  if (options.api_key.empty()) options.api_key = "sk-ant-test-secret";
  if (options.model.empty()) options.model = "claude-sonnet-4-5";
  auto client = NewAnthropicClient(std::move(options));
  EXPECT_TRUE(client.ok());
  return std::move(*client);
}

ChatRequest WeatherRequest() {
  ChatRequest request;
  request.messages = {{.role = "system", .content = "Be brief."},
                      {.role = "user", .content = "Weather in Paris?"}};
  request.temperature = 0;
  request.tools = {{"get_weather", "Current weather", *Json::Parse(R"({"type":"object"})")}};
  request.tool_choice = "required";
  return request;
}

void ExpectWeatherAnswer(const ChatResponse& r) {
  EXPECT_EQ(r.id, "msg_01");
  EXPECT_EQ(r.model, "claude-sonnet-4-5");
  EXPECT_EQ(r.text, "Checking Paris.");
  EXPECT_EQ(r.finish_reason, "tool_use");
  ASSERT_EQ(r.message.tool_calls.size(), 1u);
  EXPECT_EQ(r.message.tool_calls[0].id, "toolu_1");
  EXPECT_EQ(r.message.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.message.tool_calls[0].arguments, R"({"city":"Paris","units":["c"]})");
  EXPECT_EQ(r.usage.input_tokens, 120);
  EXPECT_EQ(r.usage.cached_input_tokens, 100);
  EXPECT_EQ(r.usage.cache_creation_input_tokens, 8);
  EXPECT_EQ(r.usage.output_tokens, 30);
  EXPECT_EQ(r.usage.total_tokens, 150);
  EXPECT_EQ(r.request_id, "req_a");
}

TEST(AnthropicClient, SendsTheRequestAndParsesTheAnswer) {
  std::mutex mu;
  ServerRequest seen;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    seen = request;
    return Reply(200, kMessage, {{"request-id", "req_a"}});
  });
  auto client = Client(server, {.extra_headers = {{"anthropic-beta", "tools-2024"}}});
  auto response = client->Complete(WeatherRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  ExpectWeatherAnswer(*response);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.path, "/v1/messages");
  EXPECT_EQ(FindHeader(seen.headers, "x-api-key"), "sk-ant-test-secret");
  EXPECT_EQ(FindHeader(seen.headers, "anthropic-version"), "2026-10-21");
  EXPECT_EQ(FindHeader(seen.headers, "anthropic-beta"), "tools-2024");
  EXPECT_EQ(FindHeader(seen.headers, "authorization"), std::nullopt);
  EXPECT_EQ(*Json::Parse(seen.body), *Json::Parse(R"({
    "model": "claude-sonnet-4-5", "max_tokens": 4096, "system": "Be brief.",
    "messages": [{"role": "user", "content": "Weather in Paris?"}],
    "temperature": 0.0,
    "tools": [{"name": "get_weather", "description": "Current weather",
               "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "any"}})"));
}

TEST(AnthropicClient, ToolTurnsAndImagesMapToBlocks) {
  std::mutex mu;
  std::string body;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    body = request.body;
    return Reply(200, kMessage);
  });
  ChatRequest request;
  request.max_tokens = 100;
  request.stop = {"END"};
  request.seed = 3;  // Not sent: the API has no seed.
  request.tool_choice = *Json::Parse(R"({"type":"function","function":{"name":"get_weather"}})");
  request.extra = *Json::Parse(R"({"metadata":{"user_id":"u-1"}})");
  request.messages = {
      {.role = "user",
       .parts = {{.type = "text", .text = "What is this?"},
                 {.type = "image_url", .image_url = "data:image/png;base64,iVBORw0KGgo="},
                 {.type = "image_url", .image_url = "https://example.com/a.jpg"}}},
      {.role = "assistant",
       .content = "Looking.",
       .tool_calls = {{"toolu_1", "get_weather", R"({"city":"Paris"})"},
                      {"toolu_2", "get_time", ""}}},
      {.role = "tool", .content = "18C", .tool_call_id = "toolu_1"},
      {.role = "tool", .content = "noon", .tool_call_id = "toolu_2"},
      {.role = "user", .content = "Thanks"}};
  ASSERT_TRUE(Client(server)->Complete(request).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(*Json::Parse(body), *Json::Parse(R"({
    "model": "claude-sonnet-4-5", "max_tokens": 100,
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"}]},
      {"role": "user", "content": "Thanks"}],
    "stop_sequences": ["END"],
    "tool_choice": {"type": "tool", "name": "get_weather"},
    "metadata": {"user_id": "u-1"}})"));
}

TEST(AnthropicClient, RejectsWhatTheApiCannotTake) {
  TestServer server([](const ServerRequest&) { return Reply(200, kMessage); });
  auto client = Client(server);
  ChatRequest request = WeatherRequest();
  request.response_format = *Json::Parse(R"({"type":"json_object"})");
  EXPECT_EQ(client->Complete(request).status().code(), absl::StatusCode::kInvalidArgument);
  request = WeatherRequest();
  request.messages.push_back({.role = "assistant", .tool_calls = {{"t", "f", "{not json"}}});
  absl::Status bad_arguments = client->Complete(request).status();
  EXPECT_EQ(bad_arguments.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_arguments.message(), HasSubstr("tool call 't'"));
  EXPECT_EQ(server.requests(), 0);
}

TEST(AnthropicClient, StreamEqualsCompleteForTheSameContent) {
  for (size_t fragment : {1, 5, 64, 100000}) {
    TestServer server([&](const ServerRequest&) { return StreamScript(fragment); });
    std::string text, arguments, tool_name;
    int usage_events = 0, done_events = 0;
    auto response = Client(server)->Stream(WeatherRequest(), [&](const StreamEvent& e) {
      if (e.kind == StreamEvent::Kind::kTextDelta) text += e.text;
      if (e.kind == StreamEvent::Kind::kToolCallDelta) {
        arguments += e.arguments_delta;
        tool_name += e.tool_name;
      }
      usage_events += e.kind == StreamEvent::Kind::kUsage;
      done_events += e.kind == StreamEvent::Kind::kDone;
      return true;
    });
    ASSERT_TRUE(response.ok()) << response.status();
    ExpectWeatherAnswer(*response);
    EXPECT_EQ(text, "Checking Paris.");
    EXPECT_EQ(tool_name, "get_weather");
    EXPECT_EQ(arguments, R"({"city": "Paris", "units": ["c"]})");  // As the model streamed it.
    EXPECT_EQ(usage_events, 1);
    EXPECT_EQ(done_events, 1);
  }
}

TEST(AnthropicClient, StreamRequestSaysStream) {
  std::mutex mu;
  std::string body;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    body = request.body;
    return StreamScript(1000);
  });
  ASSERT_TRUE(Client(server)->Stream(WeatherRequest(), nullptr).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(*Json::Parse(body)->Find("stream"), Json(true));
}

absl::Status StreamError(std::string events) {
  TestServer server([&](const ServerRequest&) { return StreamScript(3, events); });
  return Client(server)->Stream(WeatherRequest(), nullptr).status();
}

TEST(AnthropicClient, StreamErrors) {
  // Overloaded, announced inside a 200 stream after some text.
  absl::Status overloaded = StreamError(
      EventText(7) +
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}}\n\n");
  EXPECT_EQ(overloaded.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(overloaded.message(), HasSubstr("Overloaded"));
  EXPECT_EQ(GetPayload(overloaded, kPayloadHttpStatus), "529");
  absl::Status limited = StreamError(
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
      "\"message\":\"slow down\"}}\n\n");
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  // The connection drops before message_stop: never a silently cut answer.
  absl::Status cut = StreamError(EventText(8));
  EXPECT_EQ(cut.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(cut.message(), HasSubstr("ended before the answer was complete"));
  // Tool input that is not JSON, and an event that is not JSON.
  EXPECT_EQ(StreamError(EventText(10) +
                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                        "\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":"
                        "\"{oops\"}}\n\nevent: content_block_stop\ndata: "
                        "{\"type\":\"content_block_stop\",\"index\":2}\n\n")
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StreamError("event: message_start\ndata: {\"type\n\n").code(),
            absl::StatusCode::kUnavailable);
  {  // The caller stops.
    TestServer server([](const ServerRequest&) { return StreamScript(5); });
    auto r = Client(server)->Stream(WeatherRequest(), [](const StreamEvent&) { return false; });
    EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  }
}

absl::Status ErrorFor(int status, std::string body, HttpHeaders headers = {}, bool stream = false) {
  TestServer server([&](const ServerRequest&) { return Reply(status, body, headers); });
  auto client = Client(server);
  return stream ? client->Stream(WeatherRequest(), nullptr).status()
                : client->Complete(WeatherRequest()).status();
}

TEST(AnthropicClient, ErrorsMapToCodesWithPayloads) {
  for (bool stream : {false, true}) {
    absl::Status overloaded = ErrorFor(
        529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
        {{"x-should-retry", "true"}}, stream);
    EXPECT_EQ(overloaded.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(overloaded.message(), HasSubstr("Anthropic returned HTTP 529 (overloaded_error)"));
    EXPECT_EQ(GetPayload(overloaded, kPayloadShouldRetry), "true");
    absl::Status limited =
        ErrorFor(429, R"({"type":"error","error":{"type":"rate_limit_error","message":"later"}})",
                 {{"retry-after", "7"}}, stream);
    EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(GetPayload(limited, kPayloadRetryAfter), "7");
  }
  absl::Status too_long = ErrorFor(
      400,
      R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210012 tokens > 200000 maximum"}})");
  EXPECT_EQ(too_long.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorFor(413, R"({"type":"error","error":{"type":"request_too_large"}})").code(),
            absl::StatusCode::kOutOfRange);
  absl::Status auth = ErrorFor(
      401,
      R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  EXPECT_EQ(auth.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(auth.message(), Not(HasSubstr("sk-ant-test-secret")));
  EXPECT_EQ(ErrorFor(403, "{}").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorFor(404, "{}").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorFor(500, "boom").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorFor(200, R"({"id":"msg"})").code(), absl::StatusCode::kUnavailable);
}

TEST(AnthropicClient, KeyFromEnvironment) {
  std::mutex mu;
  std::string key;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    key = std::string(FindHeader(request.headers, "x-api-key").value_or(""));
    return Reply(200, kMessage);
  });
  setenv("ANTHROPIC_API_KEY", "sk-ant-from-env", 1);
  auto client = NewAnthropicClient({.base_url = server.Url("/"), .model = "claude-haiku-4-5"});
  unsetenv("ANTHROPIC_API_KEY");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Complete(WeatherRequest()).ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(key, "sk-ant-from-env");
}

}  // namespace
}  // namespace llmkit
