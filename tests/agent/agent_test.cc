// The agent loop against an OpenAI-compatible server on 127.0.0.1 replaying fixed replies: tool
// results fed back in the model's order, bad arguments and failing tools reported to the model,
// parallel tools, every ceiling, deadlines, cancellation, tool timeouts, nested agents, events.

#include "llmkit/agent.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/scripted_chat_server.h"
#include "llmkit/openai.h"

namespace llmkit {
namespace {

using ::llmkit::testing::OpenAIText;
using ::llmkit::testing::OpenAIToolCalls;
using ::llmkit::testing::ScriptedChatServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::shared_ptr<ChatModel> OpenAI(const ScriptedChatServer& s) {
  auto client = NewOpenAIClient(
      {.base_url = s.server().Url("/v1"), .api_key = "sk-test", .model = "gpt-4o-mini"});
  EXPECT_TRUE(client.ok());
  return std::shared_ptr<ChatModel>(std::move(*client));
}

AgentTool Weather(std::atomic<int>* calls = nullptr) {
  AgentTool tool;
  tool.name = "get_weather";
  tool.description = "Current weather for a city";
  tool.parameters = *Json::Parse(R"({"type": "object",
      "properties": {"city": {"type": "string"}}, "required": ["city"],
      "additionalProperties": false})");
  tool.run = [calls](const Json& args, const ToolContext&) -> absl::StatusOr<Json> {
    if (calls != nullptr) ++*calls;
    return Json("18C in " + args.Find("city")->as_string());
  };
  return tool;
}

AgentTool Sleeper(std::string name, int ms) {
  AgentTool tool;
  tool.name = std::move(name);
  tool.run = [ms](const Json&, const ToolContext&) -> absl::StatusOr<Json> {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return Json::MakeObject();
  };
  return tool;
}

std::unique_ptr<Agent> Make(std::shared_ptr<ChatModel> model, AgentOptions options) {
  auto agent = Agent::Create(std::move(model), std::move(options));
  EXPECT_TRUE(agent.ok()) << agent.status();
  return std::move(*agent);
}

std::vector<std::string> Roles(Json request) {
  std::vector<std::string> roles;
  for (Json& m : request["messages"].as_array()) roles.push_back(m["role"].as_string());
  return roles;
}

TEST(Agent, AnswersWithoutTools) {
  ScriptedChatServer s({OpenAIText("Hello!")});
  auto agent = Make(OpenAI(s), {.instructions = "Be brief, {{ name }}.", .tools = {Weather()}});
  absl::StatusOr<AgentResult> r =
      agent->Run("Hi", {}, {.variables = *Json::Parse(R"({"name": "Bot"})")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "Hello!");
  EXPECT_EQ(r->stop_reason, AgentStopReason::kCompleted);
  EXPECT_EQ(r->turns, 1);
  EXPECT_EQ(r->usage.total_tokens, 16);
  ASSERT_EQ(r->transcript.size(), 3u);
  EXPECT_EQ(r->transcript[0].content, "Be brief, Bot.");
  std::vector<Json> requests = s.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["messages"].as_array()[0]["content"].as_string(), "Be brief, Bot.");
  EXPECT_EQ(requests[0]["tools"].as_array()[0]["function"]["name"].as_string(), "get_weather");
}

TEST(Agent, RunsToolsAndFeedsResultsBackInTheModelsOrder) {
  ScriptedChatServer s({OpenAIToolCalls({{"call_1", "get_weather", R"({"city": "Paris"})"},
                                         {"call_2", "get_weather", R"({"city": "Oslo"})"}}),
                        OpenAIText("Paris 18C, Oslo 18C.")});
  std::atomic<int> calls{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&calls)}});
  absl::StatusOr<AgentResult> r = agent->Run("Weather in Paris and Oslo?");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "Paris 18C, Oslo 18C.");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(r->turns, 2);
  EXPECT_EQ(r->tool_calls, 2);
  EXPECT_EQ(r->tool_errors, 0);
  EXPECT_EQ(r->usage.total_tokens, 29 + 16);
  std::vector<Json> requests = s.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(Roles(requests[1]), ElementsAre("user", "assistant", "tool", "tool"));
  Json::Array m = requests[1]["messages"].as_array();
  EXPECT_EQ(m[1]["tool_calls"].as_array().size(), 2u);
  EXPECT_EQ(m[2]["tool_call_id"].as_string(), "call_1");
  EXPECT_EQ(m[2]["content"].as_string(), "18C in Paris");
  EXPECT_EQ(m[3]["tool_call_id"].as_string(), "call_2");
  EXPECT_EQ(m[3]["content"].as_string(), "18C in Oslo");
  ASSERT_EQ(r->transcript.size(), 5u);
  EXPECT_EQ(r->transcript[4].role, "assistant");
}

TEST(Agent, BadArgumentsUnknownToolsAndFailingToolsBecomeErrorsTheModelSees) {
  AgentTool failing;
  failing.name = "fail";
  failing.run = [](const Json&, const ToolContext&) -> absl::StatusOr<Json> {
    return absl::UnavailableError("the database is down");
  };
  AgentTool throwing;
  throwing.name = "throw";
  throwing.run = [](const Json&, const ToolContext&) -> absl::StatusOr<Json> {
    throw std::runtime_error("boom");
  };
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "get_weather", R"({"city": 3})"},
                                         {"c2", "get_weather", R"({"city": "Par)"},
                                         {"c3", "nope", "{}"},
                                         {"c4", "fail", "{}"},
                                         {"c5", "throw", ""}}),
                        OpenAIText("Sorry.")});
  std::atomic<int> calls{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&calls), failing, throwing}});
  absl::StatusOr<AgentResult> r = agent->Run("Weather?");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(calls.load(), 0);  // Never called with bad arguments.
  EXPECT_EQ(r->tool_calls, 5);
  EXPECT_EQ(r->tool_errors, 5);
  Json::Array m = s.requests()[1]["messages"].as_array();
  EXPECT_THAT(m[2]["content"].as_string(),
              HasSubstr("invalid arguments for get_weather:\n- at '/city' "
                        "(/properties/city/type): must be string"));
  EXPECT_THAT(m[3]["content"].as_string(), HasSubstr("arguments of get_weather are not JSON"));
  EXPECT_THAT(m[4]["content"].as_string(),
              HasSubstr("no tool named 'nope'; the tools are: get_weather, fail, throw"));
  EXPECT_EQ(m[5]["content"].as_string(), "Error: the database is down");
  EXPECT_EQ(m[6]["content"].as_string(), "Error: the tool threw: boom");
}

TEST(Agent, ParallelToolsTakeTheSlowestNotTheSum) {
  ScriptedChatServer s(
      {OpenAIToolCalls({{"a", "slow_a", "{}"}, {"b", "slow_b", "{}"}, {"c", "slow_c", "{}"}}),
       OpenAIText("done")});
  auto agent =
      Make(OpenAI(s),
           {.tools = {Sleeper("slow_a", 500), Sleeper("slow_b", 500), Sleeper("slow_c", 500)}});
  const auto t0 = Clock::now();
  absl::StatusOr<AgentResult> r = agent->Run("go");
  const auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "done");
  EXPECT_LT(elapsed, std::chrono::milliseconds(900));
  EXPECT_GE(elapsed, std::chrono::milliseconds(500));
  EXPECT_THAT(Roles(s.requests()[1]), ElementsAre("user", "assistant", "tool", "tool", "tool"));
}

TEST(Agent, MaxParallelToolsBoundsConcurrency) {
  std::atomic<int> now{0}, most{0};
  AgentTool tool;
  tool.name = "work";
  tool.run = [&](const Json&, const ToolContext&) -> absl::StatusOr<Json> {
    int n = ++now;
    int m = most.load();
    while (n > m && !most.compare_exchange_weak(m, n)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --now;
    return Json("ok");
  };
  std::vector<std::vector<std::string>> calls;
  for (int i = 0; i < 6; ++i) calls.push_back({"c" + std::to_string(i), "work", "{}"});
  ScriptedChatServer s({OpenAIToolCalls(calls), OpenAIText("done")});
  auto agent = Make(OpenAI(s), {.tools = {tool}, .max_parallel_tools = 2});
  absl::StatusOr<AgentResult> r =
      agent->Run("go", CallContext::WithTimeout(std::chrono::seconds(30)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(most.load(), 2);
  EXPECT_EQ(r->tool_calls, 6);
}

TEST(Agent, MaxTurnsStopsAfterRunningTheLastTurnsToolsAndCanAskForAFinalAnswer) {
  std::vector<std::string> replies;
  for (int i = 0; i < 3; ++i) {
    replies.push_back(
        OpenAIToolCalls({{"c" + std::to_string(i), "get_weather", R"({"city": "Paris"})"}}));
  }
  ScriptedChatServer s(replies);
  std::atomic<int> calls{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&calls)}, .limits = {.max_turns = 3}});
  absl::StatusOr<AgentResult> r = agent->Run("loop");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kMaxTurns);
  EXPECT_EQ(r->turns, 3);
  EXPECT_EQ(calls.load(), 3);  // The third turn's call ran, as in the OpenAI Agents SDK.
  EXPECT_EQ(s.requests().size(), 3u);
  EXPECT_EQ(r->transcript.size(), 1u + 3 * 2);
  EXPECT_EQ(r->transcript.back().role, "tool");

  ScriptedChatServer f(replies);
  f.Add(OpenAIText("Paris is at 18C."));
  auto final_agent = Make(
      OpenAI(f), {.tools = {Weather()}, .limits = {.max_turns = 3, .final_answer_on_limit = true}});
  r = final_agent->Run("loop");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kMaxTurns);
  EXPECT_EQ(r->text, "Paris is at 18C.");
  EXPECT_EQ(r->turns, 4);
  std::vector<Json> requests = f.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[3]["tool_choice"].as_string(), "none");
}

TEST(Agent, MaxToolCallsRefusesTheCallsPastIt) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "get_weather", R"({"city": "A"})"},
                                         {"c2", "get_weather", R"({"city": "B"})"},
                                         {"c3", "get_weather", R"({"city": "C"})"}})});
  std::atomic<int> calls{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&calls)}, .limits = {.max_tool_calls = 2}});
  absl::StatusOr<AgentResult> r = agent->Run("three cities");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kMaxToolCalls);
  EXPECT_EQ(calls.load(), 2);
  ASSERT_EQ(r->transcript.size(), 5u);  // user, assistant, three tool results
  EXPECT_EQ(r->transcript[4].tool_call_id, "c3");
  EXPECT_THAT(r->transcript[4].content, HasSubstr("not run: the run reached its max_tool_calls"));
}

TEST(Agent, TokenAndCostCeilings) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "get_weather", R"({"city": "A"})"}}, 1000, 100),
                        OpenAIText("never asked")});
  std::atomic<int> calls{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&calls)}, .limits = {.max_tokens = 1000}});
  absl::StatusOr<AgentResult> r = agent->Run("go");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kMaxTokens);
  EXPECT_EQ(calls.load(), 0);  // Past the ceiling, the calls are not run.
  EXPECT_EQ(s.requests().size(), 1u);

  // gpt-4o-mini: $0.15 / M input, $0.60 / M output.
  ScriptedChatServer c({OpenAIToolCalls({{"c1", "get_weather", R"({"city": "A"})"}}, 1000, 100),
                        OpenAIToolCalls({{"c2", "get_weather", R"({"city": "B"})"}}, 1000, 100),
                        OpenAIText("never asked")});
  auto priced = Make(OpenAI(c), {.tools = {Weather()}, .limits = {.max_cost = 0.0003}});
  r = priced->Run("go");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kMaxCost);
  EXPECT_EQ(c.requests().size(), 2u);
  EXPECT_NEAR(r->cost.total, 2 * (1000 * 0.15e-6 + 100 * 0.6e-6), 1e-12);
}

TEST(Agent, DeadlineEndsTheRunInsideABlockingTool) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "stuck", "{}"}})});
  auto agent = Make(OpenAI(s), {.tools = {Sleeper("stuck", 3000)}});
  const auto t0 = Clock::now();
  absl::StatusOr<AgentResult> r =
      agent->Run("go", CallContext::WithTimeout(std::chrono::milliseconds(400)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(r->stop_reason, AgentStopReason::kDeadline);
  ASSERT_EQ(r->transcript.size(), 3u);
  EXPECT_THAT(r->transcript[2].content, HasSubstr("deadline passed"));
}

TEST(Agent, CancellationFromAnotherThread) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "stuck", "{}"}})});
  AgentTool stuck;
  stuck.name = "stuck";
  std::atomic<bool> told{false};
  stuck.run = [&](const Json&, const ToolContext& context) -> absl::StatusOr<Json> {
    while (!context.call.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    told = true;
    return absl::CancelledError("stopped");
  };
  auto agent = Make(OpenAI(s), {.tools = {stuck}});
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    call.cancellation->Cancel();
  });
  absl::StatusOr<AgentResult> r = agent->Run("go", call);
  canceller.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kCancelled);
  for (int i = 0; i < 200 && !told; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(told.load());  // The tool saw the cancellation.
}

TEST(Agent, AToolsOwnTimeoutIsReportedAndTheRunGoesOn) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "slow", "{}"}}), OpenAIText("gave up on it")});
  AgentTool slow = Sleeper("slow", 2000);
  slow.timeout = std::chrono::milliseconds(100);
  auto agent = Make(OpenAI(s), {.tools = {slow}});
  const auto t0 = Clock::now();
  absl::StatusOr<AgentResult> r = agent->Run("go");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(r->text, "gave up on it");
  EXPECT_EQ(r->tool_errors, 1);
  EXPECT_THAT(r->transcript[2].content, HasSubstr("did not finish within its timeout of 100 ms"));
}

TEST(Agent, NestedAgentsDrawFromTheSameCeilings) {
  // The inner agent asks for two weather calls; the outer run allows three tool calls in all:
  // its own call of the inner agent plus the inner's two.
  ScriptedChatServer inner_server({OpenAIToolCalls({{"i1", "get_weather", R"({"city": "A"})"}}),
                                   OpenAIToolCalls({{"i2", "get_weather", R"({"city": "B"})"},
                                                    {"i3", "get_weather", R"({"city": "C"})"}}),
                                   OpenAIText("inner never answers")});
  std::atomic<int> calls{0};
  auto inner = Make(OpenAI(inner_server), {.tools = {Weather(&calls)}});
  ScriptedChatServer outer_server(
      {OpenAIToolCalls({{"o1", "researcher", R"({"input": "weather in A, B, C"})"}}),
       OpenAIText("outer answer")});
  auto outer = Make(OpenAI(outer_server), {.tools = {inner->AsTool("researcher", "Researches")},
                                           .limits = {.max_tool_calls = 3}});
  absl::StatusOr<AgentResult> r = outer->Run("go");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(calls.load(), 2);  // i1 and i2; i3 would pass the outer ceiling.
  EXPECT_THAT(r->transcript[2].content, HasSubstr("the agent stopped (max_tool_calls)"));
  // The inner run's tokens count in the outer run's usage: 3 outer+inner calls before the ceiling.
  EXPECT_EQ(r->usage.total_tokens, 29 + 29 + 29 + 16);
  EXPECT_EQ(r->text, "outer answer");
}

TEST(Agent, EventsInOrder) {
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "get_weather", R"({"city": "Paris"})"},
                                         {"c2", "get_weather", R"({"town": "Oslo"})"}}),
                        OpenAIText("18C.")});
  auto agent = Make(OpenAI(s), {.tools = {Weather()}});
  std::vector<std::string> seen;
  AgentRunOptions run;
  run.on_event = [&](const AgentEvent& e) {
    switch (e.kind) {
      case AgentEvent::Kind::kTurnStarted:
        seen.push_back("turn " + std::to_string(e.turn));
        break;
      case AgentEvent::Kind::kTextDelta:
        seen.push_back("text " + e.text);
        break;
      case AgentEvent::Kind::kToolCallStarted:
        seen.push_back("start " + e.call.name);
        break;
      case AgentEvent::Kind::kToolCallFinished:
        seen.push_back("end " + e.call.name + " " + e.text);
        break;
      case AgentEvent::Kind::kApprovalRequested:
        seen.push_back("approval " + e.call.name);
        break;
      case AgentEvent::Kind::kLimitHit:
        seen.push_back("limit");
        break;
      case AgentEvent::Kind::kFinished:
        seen.push_back(std::string("finished ") + std::string(AgentStopReasonName(e.stop_reason)));
        break;
    }
  };
  absl::StatusOr<AgentResult> r = agent->Run("go", {}, run);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(seen.size(), 9u) << ::testing::PrintToString(seen);
  EXPECT_EQ(seen[0], "turn 1");
  // The refused call (bad arguments) first, then the one that ran.
  EXPECT_EQ(seen[1], "start get_weather");
  EXPECT_THAT(seen[2], HasSubstr("end get_weather Error: invalid arguments"));
  EXPECT_THAT(std::vector<std::string>(seen.begin() + 3, seen.end()),
              ElementsAre("start get_weather", "end get_weather 18C in Paris", "turn 2", "text 18",
                          "text C.", "finished completed"));
  EXPECT_EQ(r->text, "18C.");
  EXPECT_EQ(r->usage.total_tokens, 29 + 16);  // The streams' usage chunks.
  EXPECT_EQ(r->tool_errors, 1);
  EXPECT_EQ(r->transcript[1].tool_calls[0].arguments, R"({"city": "Paris"})");
}

TEST(Agent, ModelErrorsAreReturned) {
  ScriptedChatServer s({});  // Answers 500 "no more replies".
  auto agent = Make(OpenAI(s), {});
  absl::StatusOr<AgentResult> r = agent->Run("go");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(Agent, CreateValidates) {
  ScriptedChatServer s({});
  auto model = OpenAI(s);
  auto code = [&](AgentOptions options) {
    return Agent::Create(model, std::move(options)).status().code();
  };
  AgentTool bad_name = Weather();
  bad_name.name = "get weather";
  EXPECT_EQ(code({.tools = {bad_name}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.tools = {Weather(), Weather()}}), absl::StatusCode::kInvalidArgument);
  AgentTool bad_schema = Weather();
  bad_schema.parameters = *Json::Parse(R"({"type": 12})");
  EXPECT_EQ(code({.tools = {bad_schema}}), absl::StatusCode::kInvalidArgument);
  AgentTool no_run = Weather();
  no_run.run = nullptr;
  EXPECT_EQ(code({.tools = {no_run}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.limits = {.max_turns = 0}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.limits = {.max_cost = -1}}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.max_parallel_tools = 0}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.instructions = "{% if %}"}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Agent::Create(nullptr, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

// A run store in a fresh temporary directory.
class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/llmkit_run_store_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    auto store = RunStore::Open(dir_ + "/runs.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *store;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  AgentTool Transfer(std::vector<std::string>* log) {
    AgentTool tool;
    tool.name = "transfer";
    tool.parameters = *Json::Parse(R"({"type": "object", "properties":
        {"to": {"type": "string"}, "amount": {"type": "number", "maximum": 1000}},
        "required": ["to", "amount"]})");
    tool.needs_approval = true;
    tool.run = [log](const Json& args, const ToolContext&) -> absl::StatusOr<Json> {
      log->push_back(args.Dump());
      return Json("sent " + args.Dump());
    };
    return tool;
  }

  std::string dir_;
  std::shared_ptr<RunStore> store_;
};

std::vector<std::string> Replies() {
  return {OpenAIToolCalls({{"w1", "get_weather", R"({"city": "Paris"})"},
                           {"t1", "transfer", R"({"to": "bob", "amount": 50})"}}),
          OpenAIText("Done: sent 50 to bob; Paris is 18C.")};
}

TEST_F(RunStoreTest, PausesForApprovalAndResumesToTheSameTranscript) {
  // The run without approvals, for comparison.
  std::vector<std::string> log;
  ScriptedChatServer plain(Replies());
  AgentTool free_transfer = Transfer(&log);
  free_transfer.needs_approval = false;
  absl::StatusOr<AgentResult> expected =
      Make(OpenAI(plain), {.tools = {Weather(), free_transfer}})->Run("Pay bob 50, and weather?");
  ASSERT_TRUE(expected.ok()) << expected.status();
  log.clear();

  ScriptedChatServer s(Replies());
  std::atomic<int> weather{0};
  auto agent = Make(OpenAI(s), {.tools = {Weather(&weather), Transfer(&log)}, .run_store = store_});
  absl::StatusOr<AgentResult> r = agent->Run("Pay bob 50, and weather?");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kAwaitingApproval);
  EXPECT_THAT(r->run_id, ::testing::StartsWith("run_"));
  EXPECT_EQ(weather.load(), 1);  // The call that needs no approval ran.
  EXPECT_TRUE(log.empty());
  ASSERT_EQ(r->pending.size(), 1u);
  EXPECT_EQ(r->pending[0].call_id, "t1");
  absl::StatusOr<std::vector<PendingApproval>> pending = store_->Pending();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].run_id, r->run_id);
  EXPECT_EQ((*pending)[0].tool, "transfer");
  EXPECT_EQ((*pending)[0].arguments, *Json::Parse(R"({"to": "bob", "amount": 50})"));

  // Another store object on the same file (as another process would open it) approves.
  auto other = RunStore::Open(dir_ + "/runs.db");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Approve(r->run_id, "t1").ok());
  EXPECT_EQ((*other)->Approve(r->run_id, "t1").code(), absl::StatusCode::kFailedPrecondition);
  auto resumer =
      Make(OpenAI(s), {.tools = {Weather(&weather), Transfer(&log)}, .run_store = *other});
  absl::StatusOr<AgentResult> done = resumer->Resume(r->run_id);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->stop_reason, AgentStopReason::kCompleted);
  EXPECT_EQ(done->text, expected->text);
  EXPECT_EQ(weather.load(), 1);  // Not run again.
  EXPECT_THAT(log, ElementsAre(R"({"to":"bob","amount":50})"));
  ASSERT_EQ(done->transcript.size(), expected->transcript.size());
  for (size_t i = 0; i < done->transcript.size(); ++i) {
    EXPECT_EQ(done->transcript[i].role, expected->transcript[i].role) << i;
    EXPECT_EQ(done->transcript[i].content, expected->transcript[i].content) << i;
    EXPECT_EQ(done->transcript[i].tool_call_id, expected->transcript[i].tool_call_id) << i;
  }
  EXPECT_EQ(done->usage.total_tokens, expected->usage.total_tokens);
  EXPECT_EQ(done->turns, expected->turns);
  // The run is over: resuming again or deciding again is refused; the store shows its end.
  EXPECT_EQ(resumer->Resume(r->run_id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reject(r->run_id, "t1").code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<RunStore::SavedRun> saved = store_->Get(r->run_id);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->status, "completed");
  EXPECT_EQ(saved->transcript.size(), done->transcript.size());
  EXPECT_TRUE(store_->Pending()->empty());
}

TEST_F(RunStoreTest, RejectionsAndEditedArgumentsReachTheModel) {
  std::vector<std::string> log;
  ScriptedChatServer s({OpenAIToolCalls({{"t1", "transfer", R"({"to": "bob", "amount": 50})"},
                                         {"t2", "transfer", R"({"to": "eve", "amount": 900})"},
                                         {"t3", "transfer", R"({"to": "joe", "amount": 5})"}}),
                        OpenAIText("ok")});
  auto agent = Make(OpenAI(s), {.tools = {Transfer(&log)}, .run_store = store_});
  absl::StatusOr<AgentResult> r = agent->Run("pay");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->pending.size(), 3u);
  EXPECT_EQ(store_->Approve(r->run_id, "nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Approve("run_missing", "t1").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      store_->Approve(r->run_id, "t1", *Json::Parse(R"({"to": "bob", "amount": 40})")).ok());
  ASSERT_TRUE(store_->Reject(r->run_id, "t2", "too much").ok());
  // One call undecided: resuming changes nothing and calls no model.
  absl::StatusOr<AgentResult> again = agent->Resume(r->run_id);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stop_reason, AgentStopReason::kAwaitingApproval);
  ASSERT_EQ(again->pending.size(), 1u);
  EXPECT_EQ(again->pending[0].call_id, "t3");
  EXPECT_EQ(s.requests().size(), 1u);
  ASSERT_TRUE(
      store_->Approve(r->run_id, "t3", *Json::Parse(R"({"to": "joe", "amount": 5000})")).ok());
  absl::StatusOr<AgentResult> done = agent->Resume(r->run_id);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->text, "ok");
  EXPECT_THAT(log, ElementsAre(R"({"to":"bob","amount":40})"));
  Json::Array m = s.requests()[1]["messages"].as_array();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[2]["content"].as_string(), R"(sent {"to":"bob","amount":40})");
  EXPECT_EQ(m[3]["content"].as_string(), "too much");
  EXPECT_THAT(m[4]["content"].as_string(), HasSubstr("must be <= 1000"));  // Edited, invalid.
}

TEST_F(RunStoreTest, ApprovalByPredicateAndConstruction) {
  std::vector<std::string> log;
  AgentTool transfer = Transfer(&log);
  transfer.needs_approval = false;
  transfer.needs_approval_if = [](const Json& args) {
    return args.Find("amount")->as_double() > 100;
  };
  ScriptedChatServer s({OpenAIToolCalls({{"t1", "transfer", R"({"to": "bob", "amount": 50})"}}),
                        OpenAIToolCalls({{"t2", "transfer", R"({"to": "bob", "amount": 500})"}})});
  auto agent = Make(OpenAI(s), {.tools = {transfer}, .run_store = store_});
  absl::StatusOr<AgentResult> r = agent->Run("pay");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stop_reason, AgentStopReason::kAwaitingApproval);
  EXPECT_THAT(log, ElementsAre(R"({"to":"bob","amount":50})"));
  ASSERT_EQ(r->pending.size(), 1u);
  EXPECT_EQ(r->pending[0].call_id, "t2");
  EXPECT_EQ(r->turns, 2);

  auto code = Agent::Create(OpenAI(s), {.tools = {Transfer(&log)}}).status().code();
  EXPECT_EQ(code, absl::StatusCode::kInvalidArgument);  // Approval without a run store.
  EXPECT_EQ(agent->Resume("run_missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RunStore::Open(dir_ + "/no/such/dir/runs.db").status().code(),
            absl::StatusCode::kNotFound);
  // A file that is not a database.
  std::string junk = dir_ + "/junk.db";
  FILE* f = std::fopen(junk.c_str(), "w");
  std::fputs("this is not a database, it is a text file of some length......", f);
  std::fclose(f);
  EXPECT_EQ(RunStore::Open(junk).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace llmkit
