// Tokens of provider calls that failed after the provider counted them (chat.h SpentAttempt,
// payload kPayloadSpent): the clients report them, WithRetry, WithFallback and WithGuard pass them
// on, WithBudget prices and records them. Real HTTP servers on 127.0.0.1 play the providers.

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/anthropic.h"
#include "llmkit/cost.h"
#include "llmkit/guard.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::StreamReply;
using ::llmkit::testing::TestServer;

void ExpectNear(double actual, double expected, const std::string& what) {
  EXPECT_LE(std::fabs(actual - expected), 1e-9 * std::max(std::fabs(expected), 1e-12))
      << what << ": " << actual << " vs " << expected;
}

std::string Event(const std::string& name, const std::string& data) {
  return "event: " + name + "\ndata: " + data + "\n\n";
}

// message_start with 2,000 input tokens (500 of them prompt-cache reads).
std::string MessageStart() {
  return Event(
      "message_start",
      R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
      R"("role":"assistant","model":"claude-sonnet-4-5","content":[],)"
      R"("usage":{"input_tokens":1500,"cache_read_input_tokens":500,"output_tokens":1}}})");
}

std::string TextDelta(const std::string& text) {
  return Event("content_block_delta",
               absl::StrCat(R"({"type":"content_block_delta","index":0,"delta":{"type":)"
                            R"("text_delta","text":")",
                            text, R"("}})"));
}

std::string WholeAnswer() {
  return MessageStart() +
         Event(
             "content_block_start",
             R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
         TextDelta("Paris.") +
         Event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
         Event(
             "message_delta",
             R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}})") +
         Event("message_stop", R"({"type":"message_stop"})");
}

std::shared_ptr<ChatModel> Anthropic(const TestServer& server) {
  AnthropicOptions options;
  options.base_url = server.Url("/");
  options.api_key = "sk-ant-test";
  options.model = "claude-sonnet-4-5";
  return NewAnthropicClient(std::move(options)).value();
}

ChatRequest Ask() {
  ChatRequest request;
  request.messages = {{.role = "user", .content = std::string(400, 'q')}};
  request.max_tokens = 100;
  return request;
}

// claude-sonnet-4-5: $3 per million input, $0.30 cache reads, $15 output.
double Sonnet(int64_t uncached, int64_t cached, int64_t output) {
  return uncached * 3e-6 + cached * 0.3e-6 + output * 15e-6;
}

TEST(SpentTokens, AStreamCutAfterTheProviderCountedItsInputIsBilledAndRecorded) {
  // The input was counted (message_start), two chunks of text came, then the connection died.
  TestServer server([](const ServerRequest&) {
    return StreamReply(MessageStart() + TextDelta("Par") + TextDelta("is"), 64);
  });
  auto ledger = Ledger::Open().value();
  auto model = WithBudget(Anthropic(server), {.ledger = ledger,
                                              .budgets = {{.name = "b", .limit_usd = 1}},
                                              .default_model = "claude-sonnet-4-5"})
                   .value();
  std::string seen;
  auto result = model->Stream(Ask(),
                              [&](const StreamEvent& e) {
                                seen += e.text;
                                return true;
                              },
                              {});
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_EQ(seen, "Paris");
  std::vector<SpentAttempt> spent = SpentOf(result.status());
  ASSERT_EQ(spent.size(), 1u);
  EXPECT_EQ(spent[0].model, "claude-sonnet-4-5");
  EXPECT_EQ(spent[0].failure, "unavailable");
  EXPECT_EQ(spent[0].usage.input_tokens, 2000);
  EXPECT_EQ(spent[0].usage.cached_input_tokens, 500);
  EXPECT_EQ(spent[0].usage.output_tokens, 2);  // One per chunk: more than message_start's 1.
  EXPECT_TRUE(spent[0].estimated);
  const double cost = Sonnet(1500, 500, 2);
  auto usd = GetPayload(result.status(), kPayloadSpentUsd);
  ASSERT_TRUE(usd.has_value());
  ExpectNear(std::stod(*usd), cost, "payload");
  SpendTotals totals = ledger->Spent({}, BudgetWindow::kAllTime).value();
  EXPECT_EQ(totals.calls, 1);
  EXPECT_EQ(totals.input_tokens, 2000);
  ExpectNear(totals.cost.total, cost, "ledger");
  // The caller stopping the stream bills what was counted too.
  auto stopped = model->Stream(Ask(), [](const StreamEvent&) { return false; }, {});
  ASSERT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(SpentOf(stopped.status()).size(), 1u);
  EXPECT_EQ(SpentOf(stopped.status())[0].failure, "cancelled");
  EXPECT_EQ(SpentOf(stopped.status())[0].usage.output_tokens, 1);
  ExpectNear(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total,
             cost + Sonnet(1500, 500, 1), "ledger after the stop");
}

TEST(SpentTokens, AnOverloadedStreamRetriedIsItemizedInTheAnswer) {
  // The first attempt fails mid-stream after message_start (Anthropic's overloaded_error, before
  // any text, so it is retried); the second answers.
  std::atomic<int> calls{0};
  TestServer server([&](const ServerRequest&) {
    if (calls++ == 0) {
      return StreamReply(
          MessageStart() + Event("error", R"({"type":"error","error":{"type":)"
                                          R"("overloaded_error","message":"Overloaded"}})"),
          64);
    }
    return StreamReply(WholeAnswer(), 64);
  });
  auto retried = WithRetry(Anthropic(server),
                           {.max_retries = 2, .initial_backoff = std::chrono::milliseconds(1)})
                     .value();
  auto ledger = Ledger::Open().value();
  auto model =
      WithBudget(std::shared_ptr<ChatModel>(std::move(retried)), {.ledger = ledger}).value();
  auto response = model->Stream(Ask(), [](const StreamEvent&) { return true; }, {});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Paris.");
  EXPECT_EQ(response->attempts, 2);
  ASSERT_EQ(response->spent_attempts.size(), 1u);
  const SpentAttempt& failed = response->spent_attempts[0];
  EXPECT_EQ(failed.failure, "unavailable");
  EXPECT_EQ(failed.usage.input_tokens, 2000);
  EXPECT_EQ(failed.usage.output_tokens, 1);
  EXPECT_FALSE(failed.estimated);  // Every count came from the provider.
  // usage counts both calls; the cost prices each.
  EXPECT_EQ(response->usage.input_tokens, 4000);
  EXPECT_EQ(response->usage.output_tokens, 31);
  const double cost = Sonnet(1500, 500, 1) + Sonnet(1500, 500, 30);
  ASSERT_TRUE(response->cost.has_value());
  ExpectNear(response->cost->total, cost, "response");
  ExpectNear(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total, cost, "ledger");
}

TEST(SpentTokens, AnOpenAIStreamCutBeforeItsUsageChunkIsEstimated) {
  std::string chunks;
  for (const char* piece : {"Par", "is", "."}) {
    chunks += absl::StrCat(R"(data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,)",
                           R"("delta":{"content":")", piece, R"("}}]})", "\n\n");
  }
  TestServer server([&](const ServerRequest&) { return StreamReply(chunks, 50); });
  OpenAIOptions options;
  options.base_url = server.Url("/v1");
  options.api_key = "sk-test";
  options.model = "gpt-4o-mini";
  auto ledger = Ledger::Open().value();
  auto model =
      WithBudget(std::shared_ptr<ChatModel>(NewOpenAIClient(options).value()), {.ledger = ledger})
          .value();
  auto result = model->Stream(Ask(), [](const StreamEvent&) { return true; }, {});
  ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  std::vector<SpentAttempt> spent = SpentOf(result.status());
  ASSERT_EQ(spent.size(), 1u);
  EXPECT_EQ(spent[0].model, "gpt-4o-mini");
  EXPECT_TRUE(spent[0].estimated);
  EXPECT_EQ(spent[0].usage.input_tokens, EstimatePromptTokens(Ask()));  // 3 + 4 + 100.
  EXPECT_EQ(spent[0].usage.input_tokens, 107);
  EXPECT_EQ(spent[0].usage.output_tokens, 3);
  ExpectNear(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total,
             107 * 0.15e-6 + 3 * 0.6e-6, "ledger");
  // Refused before streaming (a 429): nothing was counted, nothing is billed.
  TestServer limited([](const ServerRequest&) {
    return ::llmkit::testing::Reply(429, R"({"error":{"message":"slow down"}})");
  });
  options.base_url = limited.Url("/v1");
  auto refused = NewOpenAIClient(options).value()->Stream(Ask(), nullptr, {});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(SpentOf(refused.status()).empty());
}

// Answers with `text` and 1,000 input / 50 output tokens of gpt-4o-mini, or fails with spent
// tokens when `fail` is set.
class Scripted final : public ChatModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest&, const CallContext&) override {
    ++calls;
    SpentAttempt attempt{model, {}, "unavailable", false};
    attempt.usage.input_tokens = 1000;
    attempt.usage.output_tokens = 50;
    attempt.usage.total_tokens = 1050;
    if (fail) return WithSpent(absl::UnavailableError("cut"), {attempt});
    if (!error.ok()) return error;
    ChatResponse response;
    response.model = model;
    response.text = text;
    response.finish_reason = finish_reason;
    response.message = {.role = "assistant", .content = text};
    response.usage = attempt.usage;
    return response;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(request, call);
  }
  std::string model = "gpt-4o-mini";
  std::string text = "a secret";
  std::string finish_reason = "stop";
  bool fail = false;
  absl::Status error;  // Returned as it is when set (no tokens used).
  int calls = 0;
};

TEST(SpentTokens, AFallbackHopThatFailedAfterUsingTokensIsItemized) {
  auto first = std::make_shared<Scripted>();
  first->fail = true;
  auto second = std::make_shared<Scripted>();
  second->model = "gpt-4o";
  second->text = "fine";
  auto model =
      WithFallback({{first}, {second}}, {.cooldown = std::chrono::milliseconds(0)}).value();
  auto response = model->Complete(Ask(), {});
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->spent_attempts.size(), 1u);
  EXPECT_EQ(response->spent_attempts[0].model, "gpt-4o-mini");
  EXPECT_EQ(response->usage.input_tokens, 2000);
  const double cost = (1000 * 0.15e-6 + 50 * 0.6e-6) + (1000 * 2.5e-6 + 50 * 10e-6);
  ExpectNear(PriceTable::Default()->Price(*response).total, cost, "both hops");
  // Every hop failing: the error carries both.
  second->fail = true;
  auto failed = model->Complete(Ask(), {});
  ASSERT_FALSE(failed.ok());
  ASSERT_EQ(SpentOf(failed.status()).size(), 2u);
  EXPECT_EQ(SpentOf(failed.status())[1].model, "gpt-4o");
}

TEST(SpentTokens, AContentPolicyRefusalReplacedOrFollowedByAFailureIsCounted) {
  auto refusing = std::make_shared<Scripted>();
  refusing->finish_reason = "content_filter";
  auto backup = std::make_shared<Scripted>();
  backup->model = "gpt-4o";
  backup->text = "fine";
  auto model = WithFallback({{refusing}}, {.content_policy_fallbacks = {{backup}},
                                           .cooldown = std::chrono::milliseconds(0)})
                   .value();
  // The backup answers: the refusal's call is itemized.
  auto answered = model->Complete(Ask(), {});
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->text, "fine");
  ASSERT_EQ(answered->spent_attempts.size(), 1u);
  EXPECT_EQ(answered->spent_attempts[0].failure, "content_filter");
  EXPECT_EQ(answered->usage.input_tokens, 2000);
  // The backup refuses the request outright: the error still carries the refusal's call.
  backup->error = absl::InvalidArgumentError("bad request");
  auto failed = model->Complete(Ask(), {});
  ASSERT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(SpentOf(failed.status()).size(), 1u);
  EXPECT_EQ(SpentOf(failed.status())[0].model, "gpt-4o-mini");
}

TEST(SpentTokens, AGuardRefusalCarriesEveryAnswerItDropped) {
  // Every answer holds the banned term: one re-ask, then the guard refuses. Both calls were
  // billed, so the budget records both.
  auto inner = std::make_shared<Scripted>();
  std::shared_ptr<ChatModel> guarded =
      WithGuard(inner,
                {.max_reasks = 1, .banned_terms = {"secret"}, .banned_action = GuardAction::kReask})
          .value();
  auto ledger = Ledger::Open().value();
  auto model = WithBudget(guarded, {.ledger = ledger}).value();
  auto result = model->Complete(Ask(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(inner->calls, 2);
  std::vector<SpentAttempt> spent = SpentOf(result.status());
  ASSERT_EQ(spent.size(), 2u);
  EXPECT_EQ(spent[0].failure, "");  // Re-asked.
  EXPECT_NE(spent[1].failure, "");  // Refused.
  EXPECT_EQ(spent[1].usage.input_tokens, 1000);
  ExpectNear(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total,
             2 * (1000 * 0.15e-6 + 50 * 0.6e-6), "ledger");
  // A re-ask that itself fails after using tokens: the dropped answer and the failed call.
  struct FailSecond final : ChatModel {
    Scripted inner;
    absl::StatusOr<ChatResponse> Complete(const ChatRequest& r, const CallContext& c) override {
      inner.fail = inner.calls == 1;
      return inner.Complete(r, c);
    }
    absl::StatusOr<ChatResponse> Stream(const ChatRequest& r, const StreamCallback&,
                                        const CallContext& c) override {
      return Complete(r, c);
    }
  };
  auto fail_second = std::make_shared<FailSecond>();
  auto cut =
      WithGuard(fail_second, {.banned_terms = {"secret"}, .banned_action = GuardAction::kReask})
          .value()
          ->Complete(Ask(), {});
  ASSERT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_EQ(SpentOf(cut.status()).size(), 2u);
  EXPECT_EQ(SpentOf(cut.status())[0].failure, "");
  EXPECT_EQ(SpentOf(cut.status())[1].failure, "unavailable");
}

TEST(SpentTokens, PayloadRoundTripsAndMalformedPayloadsReadAsNone) {
  SpentAttempt a{"m", {}, "cancelled", true};
  a.usage.input_tokens = 7;
  a.usage.reasoning_tokens = 3;
  absl::Status status = WithSpent(absl::UnavailableError("x"), {a, a});
  std::vector<SpentAttempt> back = SpentOf(status);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].model, "m");
  EXPECT_EQ(back[1].usage.input_tokens, 7);
  EXPECT_EQ(back[1].usage.reasoning_tokens, 3);
  EXPECT_EQ(back[1].failure, "cancelled");
  EXPECT_TRUE(back[1].estimated);
  EXPECT_TRUE(SpentOf(WithSpent(status, {})).empty());
  EXPECT_TRUE(SpentOf(WithPayload(absl::UnknownError("x"), kPayloadSpent, "[1, {")).empty());
  EXPECT_TRUE(SpentOf(WithPayload(absl::UnknownError("x"), kPayloadSpent, "[1]")).empty());
  EXPECT_TRUE(WithSpent(absl::OkStatus(), {a}).ok());
}

}  // namespace
}  // namespace llmkit
