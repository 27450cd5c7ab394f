// The OpenAI-compatible client against the scripted server: the request it sends, responses,
// streams (text and tool-call deltas cut anywhere), and every error class with its payloads.

#include "llmkit/openai.h"

#include <atomic>
#include <mutex>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/must.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
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
using ::llmkit::testing::StreamHead;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCompletion[] = R"({
  "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
    "role": "assistant", "content": "Checking.",
    "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
  "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 16},
            "completion_tokens_details": {"reasoning_tokens": 4}}})";

// The same answer as kCompletion, streamed.
const char* kChunks[] = {
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Check"}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"ing."}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
    R"({"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":16},"completion_tokens_details":{"reasoning_tokens":4}}})",
};

Script StreamScript(size_t fragment) {
  std::string all;
  for (const char* chunk : kChunks) all += std::string("data: ") + chunk + "\n\n";
  all += "data: [DONE]\n\n";
  return ::llmkit::testing::StreamReply(all, fragment, {{"x-request-id", "req_9"}});
}

std::unique_ptr<ChatModel> Client(const TestServer& server, OpenAIOptions options = {}) {
  options.base_url = server.Url("/v1");
  if (options.api_key.empty()) options.api_key = "sk-test-secret";
  if (options.model.empty()) options.model = "gpt-4o-mini";
  auto client = NewOpenAIClient(std::move(options));
  EXPECT_TRUE(client.ok());
  return std::move(*client);
}

ChatRequest WeatherRequest() {
  ChatRequest request;
  request.messages = {{.role = "system", .content = "Be brief."},
                      {.role = "user", .content = "Weather in Paris?"}};
  request.temperature = 0;
  request.max_tokens = 50;
  request.seed = 7;
  request.stop = {"\n\n"};
  request.tools = {{"get_weather", "Current weather", *Json::Parse(R"({"type":"object"})")}};
  request.tool_choice = "auto";
  request.extra = *Json::Parse(R"({"user":"u-1","logprobs":false})");
  return request;
}

void ExpectWeatherAnswer(const ChatResponse& r) {
  EXPECT_EQ(r.id, "chatcmpl-1");
  EXPECT_EQ(r.model, "gpt-4o-mini");
  EXPECT_EQ(r.text, "Checking.");
  EXPECT_EQ(r.finish_reason, "tool_calls");
  ASSERT_EQ(r.message.tool_calls.size(), 1u);
  EXPECT_EQ(r.message.tool_calls[0].id, "call_1");
  EXPECT_EQ(r.message.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.message.tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r.usage.input_tokens, 20);
  EXPECT_EQ(r.usage.output_tokens, 9);
  EXPECT_EQ(r.usage.cached_input_tokens, 16);
  EXPECT_EQ(r.usage.reasoning_tokens, 4);
}

TEST(OpenAIClient, SendsTheRequestAndParsesTheAnswer) {
  std::mutex mu;
  ServerRequest seen;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    seen = request;
    return Reply(200, kCompletion, {{"x-request-id", "req_1"}});
  });
  auto client = Client(server, {.organization = "org-1", .project = "proj-1"});
  auto response = client->Complete(WeatherRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  ExpectWeatherAnswer(*response);
  EXPECT_EQ(response->request_id, "req_1");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.path, "/v1/chat/completions");
  EXPECT_EQ(FindHeader(seen.headers, "authorization"), "Bearer sk-test-secret");
  EXPECT_EQ(FindHeader(seen.headers, "openai-organization"), "org-1");
  EXPECT_EQ(FindHeader(seen.headers, "openai-project"), "proj-1");
  auto body = Json::Parse(seen.body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, *Json::Parse(R"({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": "Weather in Paris?"}],
    "temperature": 0.0, "max_tokens": 50, "stop": ["\n\n"], "seed": 7,
    "tools": [{"type": "function", "function": {"name": "get_weather",
               "description": "Current weather", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "user": "u-1", "logprobs": false})"));
}

TEST(OpenAIClient, StreamEqualsCompleteForTheSameContent) {
  for (size_t fragment : {1, 7, 100000}) {
    TestServer server([&](const ServerRequest&) { return StreamScript(fragment); });
    std::string text;
    std::string arguments;
    int usage_events = 0, done_events = 0;
    auto response = Client(server)->Stream(WeatherRequest(), [&](const StreamEvent& e) {
      if (e.kind == StreamEvent::Kind::kTextDelta) text += e.text;
      if (e.kind == StreamEvent::Kind::kToolCallDelta) arguments += e.arguments_delta;
      usage_events += e.kind == StreamEvent::Kind::kUsage;
      done_events += e.kind == StreamEvent::Kind::kDone;
      return true;
    });
    ASSERT_TRUE(response.ok()) << response.status();
    ExpectWeatherAnswer(*response);
    EXPECT_EQ(response->request_id, "req_9");
    EXPECT_EQ(text, "Checking.");
    EXPECT_EQ(arguments, R"({"city":"Paris"})");
    EXPECT_EQ(usage_events, 1);
    EXPECT_EQ(done_events, 1);
  }
}

TEST(OpenAIClient, StreamRequestAsksForUsage) {
  std::mutex mu;
  std::string body;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    body = request.body;
    return StreamScript(1000);
  });
  ASSERT_TRUE(Client(server)->Stream(WeatherRequest(), nullptr).ok());
  std::lock_guard<std::mutex> lock(mu);
  auto parsed = Json::Parse(body);
  EXPECT_EQ(*parsed->Find("stream"), Json(true));
  EXPECT_EQ(*parsed->Find("stream_options"), *Json::Parse(R"({"include_usage":true})"));
}

absl::Status ErrorFor(int status, std::string body, HttpHeaders headers = {}) {
  TestServer server([&](const ServerRequest&) { return Reply(status, body, headers); });
  return Client(server)->Complete(WeatherRequest()).status();
}

// A server (or proxy) that echoes the request's Authorization header in its error body: the key
// never reaches the caller's error, in the message or in any payload, streamed or not.
TEST(OpenAIClient, EchoedKeysAreRedactedFromErrors) {
  TestServer server([](const ServerRequest& r) {
    std::string auth;
    for (const auto& [name, value] : r.headers) {
      if (absl::EqualsIgnoreCase(name, "authorization")) auth = value;
    }
    return Reply(401, absl::StrCat(R"({"error":{"message":"bad credentials: )", auth, R"("}})"));
  });
  std::unique_ptr<ChatModel> client = Client(server, {.api_key = "sk-live-0123456789abcdef"});
  for (bool stream : {false, true}) {
    absl::Status status =
        stream ? client->Stream(WeatherRequest(), [](const StreamEvent&) { return true; }).status()
               : client->Complete(WeatherRequest()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
    EXPECT_THAT(status.ToString(), Not(HasSubstr("0123456789abcdef"))) << status;
    EXPECT_THAT(status.message(), HasSubstr("[redacted]"));
  }
}

TEST(OpenAIClient, ErrorsMapToCodesWithPayloads) {
  absl::Status limited =
      ErrorFor(429, R"({"error":{"message":"Rate limit reached","type":"requests"}})",
               {{"retry-after", "2"}, {"retry-after-ms", "1500"}, {"x-should-retry", "true"}});
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.message(), HasSubstr("Rate limit reached"));
  EXPECT_EQ(GetPayload(limited, kPayloadHttpStatus), "429");
  EXPECT_EQ(GetPayload(limited, kPayloadRetryAfter), "2");
  EXPECT_EQ(GetPayload(limited, kPayloadRetryAfterMs), "1500");
  EXPECT_EQ(GetPayload(limited, kPayloadShouldRetry), "true");
  EXPECT_THAT(*GetPayload(limited, kPayloadProviderError), HasSubstr("Rate limit reached"));

  absl::Status overflow = ErrorFor(
      400,
      R"({"error":{"message":"This model's maximum context length is 128000 tokens.","code":"context_length_exceeded"}})");
  EXPECT_EQ(overflow.code(), absl::StatusCode::kOutOfRange);
  absl::Status bad = ErrorFor(400, R"({"error":{"message":"bad"}})");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetPayload(bad, kPayloadContentPolicy), std::nullopt);
  absl::Status refused = ErrorFor(
      400,
      R"({"error":{"message":"Your request was rejected by our safety system.","code":"content_policy_violation"}})");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetPayload(refused, kPayloadContentPolicy), "true");
  absl::Status auth =
      ErrorFor(401, R"({"error":{"message":"Incorrect API key provided: sk-te****cret"}})");
  EXPECT_EQ(auth.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(auth.message(), Not(HasSubstr("sk-test-secret")));
  EXPECT_EQ(ErrorFor(403, "{}").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorFor(404, "{}").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorFor(500, "upstream exploded").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorFor(529, R"({"error":{"message":"overloaded"}})").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorFor(200, "{not json").code(), absl::StatusCode::kUnavailable);
}

// The context-overflow answers of real servers (their own messages and status codes) are all
// kOutOfRange, so context_window_fallbacks fire whichever server said it.
TEST(OpenAIClient, ContextOverflowFromEveryServerIsOutOfRange) {
  const std::pair<int, std::string> overflows[] = {
      // OpenAI and Azure OpenAI.
      {400,
       R"({"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})"},
      {400,
       R"({"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.","type":"invalid_request_error","code":"context_length_exceeded"}})"},
      // llama.cpp llama-server, current and older builds.
      {400,
       R"({"error":{"code":400,"message":"request (4476 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}})"},
      {400,
       R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing the context size or enable context shift","type":"invalid_request_error"}})"},
      // vLLM (old top-level form and the current one).
      {400,
       R"({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400})"},
      {400,
       R"({"error":{"message":"'max_tokens' or 'max_completion_tokens' is too large: 1000. This model's maximum context length is 4096 tokens and your request has 3500 input tokens (1000 > 4096 - 3500).","type":"BadRequestError","param":null,"code":400}})"},
      // Ollama.
      {400, R"({"error":"the input length exceeds the context length"})"},
      {500, R"({"error":{"message":"input exceeds context length","type":"api_error"}})"},
      // Anthropic-style messages behind an OpenAI-compatible gateway.
      {400,
       R"({"error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}})"},
      {400,
       R"({"error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed context limit: 199759 + 8192 > 200000, decrease input length or `max_tokens` and try again"}})"},
      // Mistral.
      {400,
       R"({"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_message_error","param":null,"code":"3051"})"},
      // Gemini's OpenAI-compatible endpoint.
      {400,
       R"([{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}])"},
  };
  for (const auto& [status, body] : overflows) {
    absl::Status error = ErrorFor(status, body);
    EXPECT_EQ(error.code(), absl::StatusCode::kOutOfRange) << body;
    EXPECT_FALSE(IsRetryable(error)) << body;
  }
  // Other 400s and 500s keep their codes.
  EXPECT_EQ(ErrorFor(400, R"({"error":{"message":"messages: field required"}})").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorFor(500, R"({"error":{"message":"CUDA out of memory"}})").code(),
            absl::StatusCode::kUnavailable);
}

// A server that refuses what was asked for good says so with a 500: not retryable.
TEST(OpenAIClient, PermanentRefusalsAreNotRetried) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest&) {
    ++calls;
    return Reply(
        500,
        R"({"error":{"code":500,"message":"Cannot use tools with stream","type":"server_error"}})");
  });
  auto model = Must(WithRetry(Client(server), {.initial_backoff = std::chrono::milliseconds(1)}));
  absl::Status status =
      model->Stream(WeatherRequest(), [](const StreamEvent&) { return true; }).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_THAT(status.message(), HasSubstr("Cannot use tools with stream"));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ErrorFor(501, "{}").code(), absl::StatusCode::kUnimplemented);
}

// n > 1 would come back as one choice: refused before anything is sent.
TEST(OpenAIClient, RefusesMoreThanOneChoice) {
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest&) {
    ++calls;
    return Reply(200, "{}");
  });
  ChatRequest request = WeatherRequest();
  request.extra = Json::MakeObject();
  request.extra.Set("n", 3);
  absl::Status status = Client(server)->Complete(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"n\""));
  EXPECT_EQ(calls.load(), 0);
}

TEST(OpenAIClient, StreamErrors) {
  {  // An error object inside a 200 stream.
    TestServer server([](const ServerRequest&) {
      return Script{StreamHead(), Send("data: {\"error\":{\"message\":\"server overloaded\"}}\n\n"),
                    Close()};
    });
    auto r = Client(server)->Stream(WeatherRequest(), nullptr);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("server overloaded"));
  }
  {  // An HTTP error before the stream starts keeps its body and headers.
    TestServer server([](const ServerRequest&) {
      return Reply(429, R"({"error":{"message":"slow down"}})", {{"retry-after", "3"}});
    });
    auto r = Client(server)->Stream(WeatherRequest(), nullptr);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(GetPayload(r.status(), kPayloadRetryAfter), "3");
  }
  {  // The caller stops.
    TestServer server([](const ServerRequest&) { return StreamScript(5); });
    auto r = Client(server)->Stream(WeatherRequest(), [](const StreamEvent&) { return false; });
    EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  }
  {  // The connection drops before the answer ends (no finish_reason, no [DONE]).
    TestServer server([](const ServerRequest&) {
      return Script{StreamHead(), Send(std::string("data: ") + kChunks[0] + "\n\n"), Close()};
    });
    auto r = Client(server)->Stream(WeatherRequest(), nullptr);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(r.status().message(), HasSubstr("ended before the answer was complete"));
  }
  {  // A malformed chunk.
    TestServer server([](const ServerRequest&) {
      return Script{StreamHead(), Send("data: {\"choices\": [\n\n"), Close()};
    });
    EXPECT_EQ(Client(server)->Stream(WeatherRequest(), nullptr).status().code(),
              absl::StatusCode::kUnavailable);
  }
}

TEST(OpenAIClient, NeedsAModel) {
  TestServer server([](const ServerRequest&) { return Reply(200, kCompletion); });
  auto client = NewOpenAIClient({.base_url = server.Url("/v1")});
  ASSERT_TRUE(client.ok());
  ChatRequest request = WeatherRequest();
  EXPECT_EQ((*client)->Complete(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.model = "local-model";
  EXPECT_TRUE((*client)->Complete(request).ok());
}

}  // namespace
}  // namespace llmkit
