// WithFallback on scripted models and a fake clock: which errors move on, the context-window and
// content-policy lists, served_by and attempts, LiteLLM's cooldown rule; then a primary that is
// down over HTTP.

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
using std::chrono::seconds;
using testing::Answer;
using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::HasSubstr;
using testing::Http;
using testing::ScriptedEmbeddingModel;
using testing::ScriptedModel;

using Script = std::deque<absl::StatusOr<ChatResponse>>;

std::shared_ptr<ScriptedModel> Scripted(Script script, int events = 0) {
  return std::make_shared<ScriptedModel>(std::move(script), events);
}

FallbackPolicy<ChatModel> Policy(std::shared_ptr<FakeClock> clock) {
  FallbackPolicy<ChatModel> policy;
  policy.clock = std::move(clock);
  return policy;
}

TEST(WithFallback, NextModelOnRetryableErrorsOnly) {
  auto clock = std::make_shared<FakeClock>();
  auto primary = Scripted({Http(absl::StatusCode::kUnavailable)});
  auto secondary = Scripted({Answer("from secondary")});
  auto model =
      Must(WithFallback({{primary, "", "primary"}, {secondary, "", "secondary"}}, Policy(clock)));
  auto r = model->Complete({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "from secondary");
  EXPECT_EQ(r->served_by, "secondary");
  EXPECT_EQ(r->attempts, 2);

  // A bad request is the caller's: no fallback.
  auto bad = Scripted({Http(absl::StatusCode::kInvalidArgument)});
  auto untouched = Scripted({Answer("never")});
  absl::Status status =
      Must(WithFallback({{bad}, {untouched}}, Policy(clock)))->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(untouched->calls(), 0);

  // Provider-specific errors (a wrong key, an unknown model) move on.
  auto unauthorized = Scripted({Http(absl::StatusCode::kUnauthenticated)});
  auto other = Scripted({Answer("ok")});
  EXPECT_TRUE(Must(WithFallback({{unauthorized}, {other}}, Policy(clock)))->Complete({}).ok());
}

TEST(WithFallback, AllFailingNamesEveryModel) {
  auto clock = std::make_shared<FakeClock>();
  auto a = Scripted({Http(absl::StatusCode::kUnavailable)});
  auto b = Scripted({Http(absl::StatusCode::kResourceExhausted, {{kPayloadHttpStatus, "429"}})});
  absl::Status status =
      Must(WithFallback({{a, "gpt-a"}, {b, "", "b"}}, Policy(clock)))->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("gpt-a (UNAVAILABLE), b (RESOURCE_EXHAUSTED)"));
  EXPECT_EQ(GetPayload(status, kPayloadAttempts), "2");
  EXPECT_EQ(GetPayload(status, kPayloadHttpStatus), "429");  // The last error's payloads stay.
}

TEST(WithFallback, ModelNameOverrideAndServedBy) {
  auto clock = std::make_shared<FakeClock>();
  auto client = Scripted({Http(absl::StatusCode::kUnavailable), Answer("mini")});
  auto model = Must(WithFallback({{client, "gpt-big"}, {client, "gpt-mini"}}, Policy(clock)));
  ChatRequest request;
  request.model = "ignored";
  auto r = model->Complete(request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->served_by, "gpt-mini");
  EXPECT_THAT(client->models, ElementsAre("gpt-big", "gpt-mini"));
  // No name and no override: the model the provider reported.
  ChatResponse reported = Answer("x");
  reported.model = "provider-model-2026";
  auto plain = Scripted({reported});
  EXPECT_EQ(Must(WithFallback({{plain}}, Policy(clock)))->Complete({})->served_by,
            "provider-model-2026");
}

TEST(WithFallback, ContextWindowOverflowGoesToTheLargerModels) {
  auto clock = std::make_shared<FakeClock>();
  auto small = Scripted({Http(absl::StatusCode::kOutOfRange)});
  auto other_small = Scripted({Answer("never")});
  auto big = Scripted({Http(absl::StatusCode::kOutOfRange)});
  auto bigger = Scripted({Answer("fits")});
  FallbackPolicy<ChatModel> policy = Policy(clock);
  policy.context_window_fallbacks = {{big, "", "big"}, {bigger, "", "bigger"}};
  auto r = Must(WithFallback({{small}, {other_small}}, policy))->Complete({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->served_by, "bigger");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(other_small->calls(), 0);
  // Without the list, an overflow is final.
  auto alone = Scripted({Http(absl::StatusCode::kOutOfRange)});
  EXPECT_EQ(
      Must(WithFallback({{alone}, {other_small}}, Policy(clock)))->Complete({}).status().code(),
      absl::StatusCode::kOutOfRange);
  EXPECT_EQ(other_small->calls(), 0);
}

TEST(WithFallback, ContentPolicyRefusalsGoToTheirOwnList) {
  auto clock = std::make_shared<FakeClock>();
  auto strict =
      Scripted({Http(absl::StatusCode::kInvalidArgument, {{kPayloadContentPolicy, "true"}})});
  auto lenient = Scripted({Answer("answered")});
  FallbackPolicy<ChatModel> policy = Policy(clock);
  policy.content_policy_fallbacks = {{lenient, "", "lenient"}};
  auto r = Must(WithFallback({{strict}}, policy))->Complete({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->served_by, "lenient");

  // A refusal that comes back as an answer (finish_reason content_filter / refusal).
  ChatResponse filtered = Answer("");
  filtered.finish_reason = "content_filter";
  auto filtering = Scripted({filtered});
  r = Must(WithFallback({{filtering}}, policy))->Complete({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "answered");
  // With no list, the refusal is the answer.
  r = Must(WithFallback({{filtering}}, Policy(clock)))->Complete({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, "content_filter");
  // Every content-policy fallback refusing too: the first refusal is returned.
  ChatResponse refused = Answer("");
  refused.finish_reason = "refusal";
  policy.content_policy_fallbacks = {{Scripted({refused})}};
  r = Must(WithFallback({{filtering}}, policy))->Complete({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, "content_filter");
  EXPECT_EQ(r->attempts, 2);
}

TEST(WithFallback, NoFallbackOnceAStreamDelivered) {
  auto clock = std::make_shared<FakeClock>();
  auto cut = Scripted({Http(absl::StatusCode::kUnavailable)}, /*events=*/1);
  auto backup = Scripted({Answer("never")});
  absl::Status status = Must(WithFallback({{cut}, {backup}}, Policy(clock)))
                            ->Stream({}, [](const StreamEvent&) { return true; })
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(backup->calls(), 0);
}

TEST(FallbackCooldown, A429CoolsTheModelDown) {
  auto clock = std::make_shared<FakeClock>();
  auto limited =
      Scripted({Http(absl::StatusCode::kResourceExhausted, {{kPayloadHttpStatus, "429"}}),
                Answer("primary again")});
  auto backup = Scripted({Answer("backup")});
  auto model =
      Must(WithFallback({{limited, "", "primary"}, {backup, "", "backup"}}, Policy(clock)));
  EXPECT_EQ(model->Complete({})->served_by, "backup");
  clock->Advance(milliseconds(4900));
  EXPECT_EQ(model->Complete({})->served_by, "backup");  // Still cooling (5 s default).
  EXPECT_EQ(limited->calls(), 1);
  clock->Advance(milliseconds(100));
  EXPECT_EQ(model->Complete({})->served_by, "primary");
}

TEST(FallbackCooldown, MoreThanHalfFailingInTheMinute) {
  auto clock = std::make_shared<FakeClock>();
  // Success, success, failure (1/3), failure (2/4 — not above half), failure (3/5): cooldown.
  auto flaky = Scripted({Answer("a"), Answer("b"), Http(absl::StatusCode::kUnavailable),
                         Http(absl::StatusCode::kUnavailable), Http(absl::StatusCode::kUnavailable),
                         Answer("c")});
  auto backup = Scripted({Answer("backup")});
  auto model = Must(WithFallback({{flaky, "", "flaky"}, {backup, "", "backup"}}, Policy(clock)));
  std::vector<std::string> served;
  for (int i = 0; i < 6; ++i) served.push_back(model->Complete({})->served_by);
  EXPECT_THAT(served, ElementsAre("flaky", "flaky", "backup", "backup", "backup", "backup"));
  EXPECT_EQ(flaky->calls(), 5);
  // Cooling for 5 s; and a new minute starts the count again.
  clock->Advance(seconds(60));
  EXPECT_EQ(model->Complete({})->served_by, "flaky");
}

TEST(FallbackCooldown, LoneModelNeverCoolsAndAllCoolingFailsFast) {
  auto clock = std::make_shared<FakeClock>();
  auto alone =
      Scripted({Http(absl::StatusCode::kResourceExhausted, {{kPayloadHttpStatus, "429"}})});
  auto single = Must(WithFallback({{alone}}, Policy(clock)));
  (void)single->Complete({});
  (void)single->Complete({});
  EXPECT_EQ(alone->calls(), 2);

  auto a = Scripted({Http(absl::StatusCode::kNotFound)});
  auto b = Scripted({Http(absl::StatusCode::kResourceExhausted, {{kPayloadHttpStatus, "429"}})});
  auto both = Must(WithFallback({{a, "", "a"}, {b, "", "b"}}, Policy(clock)));
  (void)both->Complete({});
  clock->Advance(seconds(1));
  absl::Status status = both->Complete({}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetPayload(status, kPayloadCoolingDown), "true");
  EXPECT_EQ(GetPayload(status, kPayloadRetryAfterMs), "4000");
  EXPECT_THAT(status.message(), HasSubstr("a (cooling down), b (cooling down)"));
  EXPECT_EQ(a->calls() + b->calls(), 2);
}

TEST(WithFallback, EmbeddingModelsToo) {
  auto clock = std::make_shared<FakeClock>();
  Embeddings ok;
  ok.dimensions = 1;
  ok.values = {0.5f};
  auto down = std::make_shared<ScriptedEmbeddingModel>(
      std::deque<absl::StatusOr<Embeddings>>{Http(absl::StatusCode::kUnavailable)});
  auto up = std::make_shared<ScriptedEmbeddingModel>(std::deque<absl::StatusOr<Embeddings>>{ok});
  FallbackPolicy<EmbeddingModel> policy;
  policy.clock = clock;
  auto model =
      Must(WithFallback({{down, "", "local"}, {up, "text-embedding-3-small", ""}}, policy));
  std::vector<std::string> inputs = {"x"};
  auto e = model->Embed(inputs, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->served_by, "text-embedding-3-small");
  EXPECT_EQ(e->attempts, 2);
  EXPECT_THAT(up->models, ElementsAre("text-embedding-3-small"));
}

// Over HTTP: the primary's port refuses connections, the fallback server answers.
TEST(WithFallback, PrimaryDownOverHttp) {
  using ::llmkit::testing::Reply;
  using ::llmkit::testing::ServerRequest;
  using ::llmkit::testing::TestServer;
  std::string dead_url;
  {
    TestServer closed([](const ServerRequest&) { return Reply(200, "{}"); });
    dead_url = closed.Url("/v1");
  }  // Closed: the port now refuses.
  TestServer backup([](const ServerRequest&) {
    return Reply(200, R"({"id":"b","model":"backup-model","choices":[{"message":{"content":"up"},
                          "finish_reason":"stop"}]})");
  });
  auto primary = NewOpenAIClient({.base_url = dead_url, .model = "m"});
  auto secondary = NewOpenAIClient({.base_url = backup.Url("/v1"), .model = "m"});
  ASSERT_TRUE(primary.ok() && secondary.ok());
  auto model =
      Must(WithFallback({{std::move(*primary), "", "primary"}, {std::move(*secondary)}}, {}));
  ChatRequest request;
  request.messages = {{.role = "user", .content = "hi"}};
  for (int i = 0; i < 3; ++i) {
    auto r = model->Complete(request);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->text, "up");
    EXPECT_EQ(r->served_by, "backup-model");
  }
  // The first failure cooled the primary down (1 of 1 failed): the later calls went straight on.
  EXPECT_EQ(backup.requests(), 3);
}

}  // namespace
}  // namespace llmkit
