// Extract against OpenAI-compatible and Anthropic endpoints on 127.0.0.1: the forced tool, the
// response_format and the prompt modes, re-asking with the validation errors (only the last
// attempt sent back), usage summed over attempts, and the failures' accounting.

#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/scripted_chat_server.h"
#include "http/test_server.h"
#include "llmkit/anthropic.h"
#include "llmkit/openai.h"
#include "llmkit/status.h"
#include "llmkit/structured.h"

namespace llmkit {
namespace {

using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

// Serves the bodies in order and keeps the requests it received.
using Scripted = ::llmkit::testing::ScriptedChatServer;
using ::llmkit::testing::OpenAIText;

// A completion calling the "output" tool with `arguments`.
std::string OpenAIToolCall(const std::string& arguments, const std::string& id = "call_1") {
  return ::llmkit::testing::OpenAIToolCalls({{id, "output", arguments}});
}

std::unique_ptr<ChatModel> OpenAI(const TestServer& server) {
  auto client = NewOpenAIClient(
      {.base_url = server.Url("/v1"), .api_key = "sk-test", .model = "gpt-4o-mini"});
  EXPECT_TRUE(client.ok());
  return std::move(*client);
}

const Json& Schema() {
  static const Json schema = *Json::Parse(R"({
      "type": "object",
      "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 14}},
      "required": ["city", "days"], "additionalProperties": false})");
  return schema;
}

ChatRequest Ask() {
  ChatRequest request;
  request.messages = {{.role = "system", .content = "Extract the forecast request."},
                      {.role = "user", .content = "Paris, for a month please"}};
  return request;
}

TEST(Extract, ToolModeReasksWithTheErrorsAndSumsUsage) {
  Scripted s({OpenAIToolCall(R"({"city": "Paris", "days": 30})"),
              OpenAIToolCall(R"({"city": "Paris", "days": 14})", "call_2")});
  auto model = OpenAI(s.server());
  absl::StatusOr<ExtractResult> r = Extract(*model, Ask(), Schema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value, *Json::Parse(R"({"city": "Paris", "days": 14})"));
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->usage.input_tokens, 40);
  EXPECT_EQ(r->usage.output_tokens, 18);
  EXPECT_EQ(r->usage.total_tokens, 58);
  std::vector<Json> requests = s.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["tool_choice"].Dump(),
            R"({"type":"function","function":{"name":"output"}})");
  Json::Array tools = requests[0]["tools"].as_array();
  EXPECT_EQ(tools[0]["function"]["parameters"], Schema());
  Json::Array second = requests[1]["messages"].as_array();
  ASSERT_EQ(second.size(), 4u);  // system, user, the reply, the errors
  EXPECT_EQ(second[2]["role"].as_string(), "assistant");
  EXPECT_EQ(second[3]["role"].as_string(), "tool");
  EXPECT_EQ(second[3]["tool_call_id"].as_string(), "call_1");
  EXPECT_THAT(second[3]["content"].as_string(),
              HasSubstr("at '/days' (/properties/days/maximum): must be <= 14"));
}

TEST(Extract, FailureAfterMaxAttemptsSendsOnlyTheLastAttemptAndKeepsTheAccounting) {
  Scripted s({OpenAIToolCall("{\"city\": \"Paris\""),  // cut short: not JSON
              OpenAIText("I would rather not call tools."),
              OpenAIToolCall(R"({"city": 3, "days": 2})", "call_3")});
  auto model = OpenAI(s.server());
  absl::StatusOr<ExtractResult> r = Extract(*model, Ask(), Schema());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("did not match the schema in 3 attempts"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("at '/city' (/properties/city/type): must be string"));
  EXPECT_EQ(std::string(*r.status().GetPayload(std::string(kPayloadAttempts))), "3");
  Json usage = *Json::Parse(std::string(*r.status().GetPayload(std::string(kPayloadUsage))));
  EXPECT_EQ(usage["input_tokens"].as_int(), 51);
  EXPECT_EQ(usage["output_tokens"].as_int(), 23);
  std::vector<Json> requests = s.requests();
  ASSERT_EQ(requests.size(), 3u);
  Json::Array second = requests[1]["messages"].as_array();
  EXPECT_THAT(second.back()["content"].as_string(), HasSubstr("not valid JSON"));
  Json::Array third = requests[2]["messages"].as_array();
  ASSERT_EQ(third.size(), 4u);  // The first attempt is not sent again.
  EXPECT_EQ(third[3]["role"].as_string(), "user");
  EXPECT_THAT(third[3]["content"].as_string(), HasSubstr("Call the function `output`"));
}

TEST(Extract, ResponseFormatAndPromptModesReadTheText) {
  Scripted s({OpenAIText(R"({"city": "Oslo", "days": 3})"),
              OpenAIText("Here it is:\n```json\n{\"city\": \"Rome\", \"days\": 1}\n```")});
  auto model = OpenAI(s.server());
  absl::StatusOr<ExtractResult> r =
      Extract(*model, Ask(), Schema(), {.mode = StructuredMode::kResponseFormat, .name = "fc"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value["city"].as_string(), "Oslo");
  absl::StatusOr<ExtractResult> p =
      Extract(*model, Ask(), Schema(), {.mode = StructuredMode::kPrompt});
  ASSERT_TRUE(p.ok()) << p.status();  // The fenced JSON, with a sentence before it.
  EXPECT_EQ(p->value["city"].as_string(), "Rome");
  EXPECT_EQ(p->attempts, 1);
  std::vector<Json> requests = s.requests();
  EXPECT_EQ(requests[0]["response_format"]["type"].as_string(), "json_schema");
  EXPECT_EQ(requests[0]["response_format"]["json_schema"]["name"].as_string(), "fc");
  EXPECT_TRUE(requests[0]["response_format"]["json_schema"]["strict"].as_bool());
  Json::Array prompt_messages = requests[1]["messages"].as_array();
  EXPECT_THAT(prompt_messages[0]["content"].as_string(), HasSubstr("conforms to this JSON Schema"));
}

TEST(Extract, PromptModeAcceptsAFencedReply) {
  Scripted s({OpenAIText("```json\n{\"city\": \"Rome\", \"days\": 1}\n```\nAnything else?")});
  auto model = OpenAI(s.server());
  absl::StatusOr<ExtractResult> r =
      Extract(*model, Ask(), Schema(), {.mode = StructuredMode::kPrompt});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value["city"].as_string(), "Rome");
}

TEST(Extract, AnthropicForcedToolAndToolResultFeedback) {
  auto reply = [](const char* input, const char* id) {
    return absl::StrCat(R"({"id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "stop_reason": "tool_use",
        "content": [{"type": "tool_use", "id": ")",
                        id, R"(", "name": "output", "input": )", input, R"(}],
        "usage": {"input_tokens": 30, "output_tokens": 7}})");
  };
  Scripted s({reply(R"({"city": "Paris"})", "toolu_1"),
              reply(R"({"city": "Paris", "days": 5})", "toolu_2")});
  auto client = NewAnthropicClient(
      {.base_url = s.server().Url("/"), .api_key = "sk-ant-test", .model = "claude-sonnet-4-5"});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<ExtractResult> r = Extract(**client, Ask(), Schema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value["days"].as_int(), 5);
  EXPECT_EQ(r->usage.input_tokens, 60);
  std::vector<Json> requests = s.requests();
  EXPECT_EQ(requests[0]["tool_choice"].Dump(), R"({"type":"tool","name":"output"})");
  Json::Array tools = requests[0]["tools"].as_array();
  EXPECT_EQ(tools[0]["input_schema"], Schema());
  const std::string second = requests[1]["messages"].Dump();
  EXPECT_THAT(second, HasSubstr(R"("type":"tool_result")"));
  EXPECT_THAT(second, HasSubstr(R"("tool_use_id":"toolu_1")"));
  EXPECT_THAT(second, HasSubstr("must have required property 'days'"));
}

TEST(Extract, ModelErrorsBadSchemasAndDeadlines) {
  Scripted s({});
  auto model = OpenAI(s.server());
  absl::StatusOr<ExtractResult> r = Extract(*model, Ask(), Schema());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);  // the 500, not re-asked
  EXPECT_EQ(std::string(*r.status().GetPayload(std::string(kPayloadAttempts))), "1");
  EXPECT_EQ(Extract(*model, Ask(), *Json::Parse(R"({"type": 3})")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Extract(*model, Ask(), Schema(), {.max_attempts = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  CallContext expired;
  expired.deadline = CallContext::Clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(Extract(*model, Ask(), Schema(), {}, expired).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.requests().size(), 1u);  // Nothing sent after the deadline.
}

}  // namespace
}  // namespace llmkit

namespace llmkit {
namespace {

// An OpenAI stream whose forced tool call's arguments arrive in `pieces`.
std::string ToolCallStream(const std::vector<std::string>& pieces) {
  std::string out;
  auto event = [&](const std::string& json) { out += "data: " + json + "\n\n"; };
  event(
      R"({"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"output","arguments":""}}]}}]})");
  for (const std::string& piece : pieces) {
    Json delta = *Json::Parse(
        R"({"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{}}]}}]})");
    Json::Array choices = delta["choices"].as_array();
    Json::Array calls = choices[0]["delta"]["tool_calls"].as_array();
    calls[0]["function"].Set("arguments", piece);
    choices[0]["delta"].Set("tool_calls", Json(calls));
    delta.Set("choices", Json(choices));
    event(delta.Dump());
  }
  event(
      R"({"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
  event(
      R"({"id":"c1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29}})");
  return out + "data: [DONE]\n\n";
}

// An Anthropic stream whose forced tool_use input arrives in `pieces` (input_json_delta).
std::string AnthropicToolStream(const std::vector<std::string>& pieces) {
  std::string out;
  auto event = [&](const char* name, const std::string& json) {
    out += std::string("event: ") + name + "\ndata: " + json + "\n\n";
  };
  event(
      "message_start",
      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":30,"output_tokens":1}}})");
  event(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"output","input":{}}})");
  for (const std::string& piece : pieces) {
    Json delta = *Json::Parse(
        R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta"}})");
    delta["delta"].Set("partial_json", piece);
    event("content_block_delta", delta.Dump());
  }
  event("content_block_stop", R"({"type":"content_block_stop","index":0})");
  event(
      "message_delta",
      R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":12}})");
  event("message_stop", R"({"type":"message_stop"})");
  return out;
}

TEST(StreamExtract, AnthropicToolUseStreamsPartialValues) {
  TestServer server([&](const ServerRequest&) {
    return ::llmkit::testing::StreamReply(
        AnthropicToolStream({R"({"city": "Os)", R"(lo", "days")", R"(: 2})"}), 5);
  });
  auto client = NewAnthropicClient(
      {.base_url = server.Url("/"), .api_key = "sk-ant-test", .model = "claude-sonnet-4-5"});
  ASSERT_TRUE(client.ok());
  std::vector<std::string> seen;
  absl::StatusOr<ExtractResult> r =
      StreamExtract(**client, Ask(), Schema(), [&](const Json& partial, int) {
        seen.push_back(partial.Dump());
        return true;
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value.Dump(), R"({"city":"Oslo","days":2})");
  EXPECT_THAT(seen,
              ::testing::ElementsAre("{}", R"({"city":"Oslo"})", R"({"city":"Oslo","days":2})"));
  EXPECT_EQ(r->usage.input_tokens, 30);
}

TEST(StreamExtract, ShowsGrowingPartialValuesThenTheValidatedOne) {
  std::vector<std::string> streams = {
      ToolCallStream({R"({"city": "Pa)", R"(ris", "da)", R"(ys": 3)", R"(0})"}),
      ToolCallStream({R"({"city": "Paris",)", R"( "days": 14})"})};
  std::mutex mu;
  size_t next = 0;
  TestServer server([&](const ServerRequest&) {
    std::lock_guard<std::mutex> lock(mu);
    return ::llmkit::testing::StreamReply(streams[std::min(next++, streams.size() - 1)], 7);
  });
  auto model = OpenAI(server);
  std::vector<std::pair<int, std::string>> seen;
  absl::StatusOr<ExtractResult> r =
      StreamExtract(*model, Ask(), Schema(), [&](const Json& partial, int attempt) {
        seen.emplace_back(attempt, partial.Dump());
        return true;
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->value.Dump(), R"({"city":"Paris","days":14})");
  EXPECT_EQ(r->attempts, 2);  // days 30 was re-asked.
  EXPECT_EQ(r->usage.input_tokens, 40);
  EXPECT_THAT(seen,
              ::testing::ElementsAre(std::pair(1, std::string("{}")),
                                     std::pair(1, std::string(R"({"city":"Paris"})")),
                                     std::pair(1, std::string(R"({"city":"Paris","days":30})")),
                                     std::pair(2, std::string(R"({"city":"Paris"})")),
                                     std::pair(2, std::string(R"({"city":"Paris","days":14})"))));
  // A callback that says stop ends the call.
  absl::StatusOr<ExtractResult> stopped =
      StreamExtract(*model, Ask(), Schema(), [](const Json&, int) { return false; });
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace llmkit
