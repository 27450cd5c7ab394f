// Evaluation suites against a real OpenAI-compatible HTTP server on 127.0.0.1 whose answers
// depend on the question: suite files, every assertion type, judges, concurrency, reports, the
// regression gate, and the deterministic scorers against autoevals' own expectations.

#include "llmkit/eval.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/scripted_chat_server.h"
#include "http/test_server.h"
#include "llmkit/json.h"
#include "llmkit/openai.h"

namespace llmkit {
namespace {

using ::llmkit::testing::OpenAIText;
using ::llmkit::testing::OpenAIToolCalls;
using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;

// The last message's text of a chat request.
std::string LastContent(const Json& request) {
  const Json& messages = *request.Find("messages");
  return messages.as_array().back().Find("content")->as_string();
}

std::string SystemContent(const Json& request) {
  const Json& first = request.Find("messages")->as_array().front();
  return first.Find("role")->as_string() == "system" ? first.Find("content")->as_string() : "";
}

// Answers by the question; a grader (system prompt about a rubric) passes outputs that mention
// Paris. `delay_ms` before each answer.
class QuestionServer {
 public:
  explicit QuestionServer(int delay_ms = 0)
      : server_([this, delay_ms](const ServerRequest& r) {
          Json request = *Json::Parse(r.body);
          calls_.fetch_add(1);
          Script script = Reply(200, Answer(request));
          if (delay_ms > 0) script.insert(script.begin(), Sleep(delay_ms));
          return script;
        }) {}
  std::string url() const { return server_.Url("/v1"); }
  int calls() const { return calls_.load(); }
  int max_in_flight() const { return server_.max_in_flight(); }

  static std::string Answer(const Json& request) {
    const std::string system = SystemContent(request);
    const std::string question = LastContent(request);
    if (absl::StrContains(system, "rubric")) {
      if (absl::StrContains(question, "NOT-JSON")) return OpenAIText("I think it passes.");
      if (absl::StrContains(question, "NAN-SCORE")) {
        return OpenAIText(R"({"reason": "odd", "pass": true, "score": "NaN"})");
      }
      const bool paris = absl::StrContains(question, "Paris");
      return OpenAIText(paris ? R"({"reason": "names Paris", "pass": true, "score": 1})"
                              : R"(Verdict: {"reason": "no Paris", "pass": false, "score": 0.2})");
    }
    if (absl::StrContains(system, "fact checker")) {
      return OpenAIText(absl::StrContains(question, "[Submission]: Paris")
                            ? R"({"reason": "same", "choice": "C"})"
                            : R"({"reason": "disagrees", "choice": "D"})");
    }
    if (absl::StrContains(question, "capital of France")) {
      return OpenAIText("Paris is the capital of France.", 12, 7);
    }
    if (absl::StrContains(question, "capital of Italy")) return OpenAIText("Rome.", 12, 2);
    if (absl::StrContains(question, "as JSON")) {
      return OpenAIText(R"(Here: {"name": "Ada", "age": 36} as asked.)");
    }
    if (absl::StrContains(question, "weather")) {
      return OpenAIToolCalls({{"call_1", "get_weather", R"({"city": "Paris"})"}});
    }
    return OpenAIText("You said: " + question);
  }

 private:
  std::atomic<int> calls_{0};
  TestServer server_;
};

std::string Suite(const std::string& url, const std::string& tests, const std::string& extra = "") {
  return absl::StrCat(R"(description: capitals
prompts:
  - "Answer briefly: what is the capital of {{ country }}?"
providers:
  - id: openai:chat:gpt-4o-mini
    config:
      apiBaseUrl: )",
                      url, R"(
      apiKey: sk-test
      temperature: 0
)",
                      extra, "tests:\n", tests);
}

EvalSuite MustParse(const std::string& yaml, const std::string& dir = "") {
  absl::StatusOr<EvalSuite> suite = ParseEvalSuite(yaml, dir);
  EXPECT_TRUE(suite.ok()) << suite.status();
  return suite.ok() ? *std::move(suite) : EvalSuite();
}

TEST(EvalSuiteFile, ReadsPromptfooKeysAndRunsAgainstARealServer) {
  QuestionServer server;
  const std::string yaml = Suite(server.url(), R"(
  - description: France
    vars: {country: France}
    assert:
      - type: equals
        value: Paris is the capital of France.
      - type: contains
        value: Paris
      - type: icontains
        value: PARIS
      - type: not-contains
        value: London
      - type: contains-any
        value: [Lyon, Paris]
      - type: contains-all
        value: "Paris, France"
      - type: starts-with
        value: Paris
      - type: regex
        value: "^Paris\\b.*\\.$"
      - type: levenshtein
        value: Paris is the capital of Franc
        threshold: 2
      - type: latency
        threshold: 10000
      - type: cost
        threshold: 0.01
  - description: Italy
    vars: {country: Italy}
    assert:
      - type: contains
        value: Paris
)");
  EvalSuite suite = MustParse(yaml);
  ASSERT_EQ(suite.prompts.size(), 1u);
  ASSERT_EQ(suite.providers.size(), 1u);
  EXPECT_EQ(suite.providers[0].model_name, "gpt-4o-mini");
  EXPECT_EQ(suite.providers[0].defaults.temperature, 0);
  ASSERT_EQ(suite.tests.size(), 2u);
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->cases.size(), 2u);
  const EvalCaseResult& france = report->cases[0];
  EXPECT_TRUE(france.error.empty()) << france.error;
  EXPECT_EQ(france.output, "Paris is the capital of France.");
  EXPECT_EQ(france.rendered_prompt, "Answer briefly: what is the capital of France?");
  for (const AssertionResult& a : france.assertions) {
    EXPECT_TRUE(a.pass) << a.type << ": " << a.reason;
  }
  EXPECT_TRUE(france.pass);
  EXPECT_EQ(france.usage.input_tokens, 12);
  ASSERT_TRUE(france.cost.has_value());  // gpt-4o-mini is in the bundled price table.
  EXPECT_GT(*france.cost, 0);
  EXPECT_FALSE(report->cases[1].pass);
  EXPECT_EQ(report->cases[1].output, "Rome.");
  EXPECT_FALSE(report->AllPassed());
  const PassRate rate = report->Rate(0, 0);
  EXPECT_EQ(rate.passed, 1);
  EXPECT_EQ(rate.runs, 2);
}

TEST(EvalSuiteFile, EveryFailingAssertionFailsAndNotInvertsIt) {
  QuestionServer server;
  EvalSuite suite = MustParse(Suite(server.url(), R"(
  - vars: {country: France}
    assert:
      - {type: equals, value: Paris}
      - {type: contains, value: Berlin}
      - {type: icontains, value: berlin}
      - {type: not-icontains, value: paris}
      - {type: contains-any, value: [Lyon, Nice]}
      - {type: contains-all, value: [Paris, Lyon]}
      - {type: starts-with, value: The}
      - {type: regex, value: "^Rome"}
      - {type: is-json}
      - {type: contains-json}
      - {type: levenshtein, value: Rome, threshold: 3}
      - {type: latency, threshold: 0}
      - {type: cost, threshold: 0}
      - {type: is-valid-openai-tools-call}
)"));
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  const EvalCaseResult& c = report->cases[0];
  ASSERT_EQ(c.assertions.size(), 14u);
  for (const AssertionResult& a : c.assertions) {
    EXPECT_FALSE(a.pass) << a.type << ": " << a.reason;
    EXPECT_FALSE(a.error) << a.type;
    EXPECT_EQ(a.score, 0) << a.type;
  }
  EXPECT_EQ(c.score, 0);
  EXPECT_FALSE(c.pass);
}

TEST(EvalSuiteFile, JsonSchemaAndToolCallAssertions) {
  QuestionServer server;
  const std::string schema = R"({type: object, required: [name, age],
                                 properties: {name: {type: string}, age: {type: integer}}})";
  EvalSuite suite = MustParse(absl::StrCat(R"(prompts:
  - "{{ q }}"
providers:
  - id: openai:chat:gpt-4o-mini
    config: {apiBaseUrl: )",
                                           server.url(), R"(, apiKey: sk-test}
tests:
  - vars: {q: "Describe Ada as JSON"}
    assert:
      - type: contains-json
        value: )",
                                           schema, R"(
      - type: not-is-json
      - type: contains-json
        value: {type: object, required: [email]}
  - vars: {q: "What's the weather in Paris?"}
    assert:
      - type: is-valid-openai-tools-call
      - type: is-valid-openai-tools-call
        value:
          - type: function
            function:
              name: get_weather
              parameters: {type: object, required: [city], properties: {city: {type: string}}}
      - type: is-valid-openai-tools-call
        value:
          - function:
              name: get_weather
              parameters: {type: object, required: [country]}
      - type: is-valid-openai-tools-call
        value: [{function: {name: get_time}}]
)"));
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto& json_case = report->cases[0].assertions;
  ASSERT_EQ(json_case.size(), 3u);
  EXPECT_TRUE(json_case[0].pass) << json_case[0].reason;
  EXPECT_TRUE(json_case[1].pass) << json_case[1].reason;  // Text around it: not JSON as a whole.
  EXPECT_FALSE(json_case[2].pass);
  EXPECT_THAT(json_case[2].reason, HasSubstr("email"));
  const auto& tools = report->cases[1].assertions;
  ASSERT_EQ(tools.size(), 4u);
  EXPECT_TRUE(tools[0].pass) << tools[0].reason;
  EXPECT_TRUE(tools[1].pass) << tools[1].reason;
  EXPECT_FALSE(tools[2].pass);
  EXPECT_THAT(tools[2].reason, HasSubstr("country"));
  EXPECT_FALSE(tools[3].pass);
  EXPECT_THAT(tools[3].reason, HasSubstr("get_weather"));
}

TEST(EvalSuiteFile, DefaultTestArrayVarsWeightsAndThresholds) {
  QuestionServer server;
  EvalSuite suite = MustParse(Suite(server.url(), R"(
  - description: capitals
    vars:
      country: [France, Italy]
    threshold: 0.5
    assert:
      - {type: contains, value: Paris, weight: 3}
      - {type: contains, value: Rome, weight: 1}
)",
                                    R"(defaultTest:
  vars: {style: brief}
  assert:
    - {type: not-contains, value: "sorry", metric: polite}
)"));
  ASSERT_EQ(suite.tests.size(), 2u);  // One test per country.
  EXPECT_EQ(suite.tests[0].description, "capitals [country=France]");
  EXPECT_EQ(suite.tests[1].description, "capitals [country=Italy]");
  EXPECT_EQ(suite.tests[0].vars.Find("style")->as_string(), "brief");
  ASSERT_EQ(suite.tests[0].asserts.size(), 3u);  // defaultTest's first.
  EXPECT_EQ(suite.tests[0].asserts[0].metric, "polite");
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  // France: weights 1 + 3 pass, Rome's 1 fails: 4/5 >= 0.5. Italy: 1 + 1 of 5: 0.4 < 0.5.
  EXPECT_DOUBLE_EQ(report->cases[0].score, 0.8);
  EXPECT_TRUE(report->cases[0].pass);
  EXPECT_DOUBLE_EQ(report->cases[1].score, 0.4);
  EXPECT_FALSE(report->cases[1].pass);
}

TEST(EvalSuiteFile, PromptFilesChatMessagesAndRegistry) {
  char dir[] = "/tmp/llmkit_eval_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  std::ofstream(d + "/two.txt") << "Capital of {{ country }}?\n---\nWhat is the capital of "
                                   "{{ country }}?";
  std::ofstream(d + "/chat.json") << R"([{"role": "system", "content": "Be brief."},
             {"role": "user", "content": "capital of {{ country }}"}])";
  std::ofstream(d + "/tests.yaml") << "- vars: {country: France}\n  assert: [{type: icontains, "
                                      "value: paris}]\n";
  QuestionServer server;
  EvalSuite suite = MustParse(absl::StrCat(R"(prompts:
  - file://two.txt
  - {id: file://chat.json, label: chat}
providers:
  - openai:chat:gpt-4o-mini:
      config: {apiBaseUrl: )",
                                           server.url(), R"(, apiKey: k}
tests: file://tests.yaml
)"),
                              d);
  ASSERT_EQ(suite.prompts.size(), 3u);
  EXPECT_EQ(suite.prompts[0].label, "two.txt: 1");
  EXPECT_EQ(suite.prompts[2].label, "chat");
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->cases.size(), 3u);
  EXPECT_FALSE(report->cases[0].pass);  // "Capital of France?" is not a question it knows.
  EXPECT_TRUE(report->cases[1].pass);
  EXPECT_TRUE(report->cases[2].pass);  // Sent as two messages: the last one asks.
  std::filesystem::remove_all(d);
}

TEST(EvalSuiteFile, UnsupportedKeysAndBadYamlAreNamedErrors) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<EvalSuite> suite = ParseEvalSuite(yaml, "");
    EXPECT_FALSE(suite.ok());
    return std::string(suite.status().message());
  };
  const std::string base = "prompts: [hi]\nproviders: [openai:chat:gpt-4o-mini]\n";
  EXPECT_THAT(error(base + "scenarios: []\n"), HasSubstr("\"scenarios\" is not supported"));
  EXPECT_THAT(error(base + "tests:\n  - vars: {a: 1}\n    asert: []\n"),
              HasSubstr("tests[0]: \"asert\" is not supported"));
  EXPECT_THAT(error(base + "tests:\n  - assert: [{type: javascript, value: 'output'}]\n"),
              HasSubstr("tests[0].assert[0]: \"javascript\" assertions run code"));
  EXPECT_THAT(error(base + "tests:\n  - assert: [{type: equals, weight: -1}]\n"),
              HasSubstr("weight must be a number >= 0"));
  EXPECT_THAT(error("prompts: [hi]\nproviders: [bedrock:claude]\n"),
              HasSubstr("providers[0]: provider \"bedrock:claude\""));
  EXPECT_THAT(error("prompts: [hi\nproviders: x\n"), HasSubstr("YAML: line"));
  EXPECT_THAT(error("providers: [openai:x]\n"), HasSubstr("a suite needs prompts"));
  EXPECT_THAT(error("prompts: [file://nowhere.txt]\nproviders: [openai:x]\n"),
              HasSubstr("cannot read nowhere.txt"));
  std::string deep = "prompts: [hi]\nproviders: [openai:x]\ntests: ";
  for (int i = 0; i < 300; ++i) deep += "[";
  EXPECT_THAT(error(deep), ::testing::AnyOf(HasSubstr("deeper"), HasSubstr("YAML")));
  // Aliases that would expand to ten billion values ("billion laughs") are refused, fast.
  std::string laughs =
      "prompts: [hi]\nproviders: [openai:x]\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    absl::StrAppend(&laughs, "a", i, ": &a", i, " [");
    for (int j = 0; j < 10; ++j) absl::StrAppend(&laughs, j ? ", " : "", "*a", i - 1);
    laughs += "]\n";
  }
  EXPECT_THAT(error(laughs), HasSubstr("expands to more than 1000000 values"));
  // An unknown assertion type is a failed (error) assertion when run, never a crash.
  EvalSuite suite = MustParse(base + "tests:\n  - assert: [{type: sentiment}]\n");
}

TEST(EvalJudges, RubricAndFactualityWithAScriptedJudgeNeverNaN) {
  QuestionServer server;
  // The grader is built from the default maker: point it at the server through the environment.
  ASSERT_EQ(setenv("OPENAI_BASE_URL", server.url().c_str(), 1), 0);
  ASSERT_EQ(setenv("OPENAI_API_KEY", "sk-test", 1), 0);
  EvalSuite suite =
      MustParse(Suite(server.url(), R"(
  - vars: {country: France}
    assert:
      - {type: llm-rubric, value: Names the capital correctly}
      - {type: factuality, value: Paris}
  - vars: {country: Italy}
    assert:
      - {type: llm-rubric, value: Names the capital correctly}
      - {type: llm-rubric, value: Names the capital correctly, threshold: 0.1}
      - {type: llm-rubric, value: NOT-JSON}
      - {type: llm-rubric, value: NAN-SCORE}
      - {type: factuality, value: Paris}
)",
                      "defaultTest:\n  options:\n    provider: openai:chat:gpt-4o\n"));
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OPENAI_API_KEY");
  ASSERT_NE(suite.grader, nullptr);
  EXPECT_EQ(suite.grader_model, "gpt-4o");
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto& france = report->cases[0].assertions;
  EXPECT_TRUE(france[0].pass) << france[0].reason;
  EXPECT_EQ(france[0].reason, "names Paris");
  EXPECT_TRUE(france[1].pass) << france[1].reason;
  EXPECT_EQ(france[1].score, 1);  // (C)
  const auto& italy = report->cases[1].assertions;
  EXPECT_FALSE(italy[0].pass);
  EXPECT_DOUBLE_EQ(italy[0].score, 0.2);  // Read out of the text around the verdict.
  EXPECT_TRUE(italy[1].pass);             // 0.2 >= threshold 0.1.
  EXPECT_FALSE(italy[2].pass);
  EXPECT_TRUE(italy[2].error);
  EXPECT_THAT(italy[2].reason, HasSubstr("not JSON"));
  EXPECT_TRUE(italy[3].error);
  EXPECT_THAT(italy[3].reason, HasSubstr("not a finite number"));
  EXPECT_FALSE(italy[4].pass);
  EXPECT_EQ(italy[4].score, 0);  // (D)
  for (const EvalCaseResult& c : report->cases) {
    EXPECT_TRUE(std::isfinite(c.score));
    for (const AssertionResult& a : c.assertions) EXPECT_TRUE(std::isfinite(a.score));
  }
}

TEST(EvalRun, CasesRunConcurrentlyAndRepeats) {
  QuestionServer server(/*delay_ms=*/50);
  std::string tests;
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&tests,
                    "  - vars: {country: France}\n    assert: [{type: contains, value: "
                    "Paris}]\n");
  }
  EvalSuite suite = MustParse(Suite(server.url(), tests));
  std::atomic<int> seen{0};
  EvalOptions options;
  options.repeat = 4;
  options.concurrency = 8;
  options.on_case = [&](const EvalCaseResult&) { seen.fetch_add(1); };
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<EvalReport> report = RunEval(suite, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->cases.size(), 40u);
  EXPECT_EQ(seen.load(), 40);
  EXPECT_EQ(server.calls(), 40);
  EXPECT_TRUE(report->AllPassed());
  EXPECT_EQ(server.max_in_flight(), 8);
  // 40 calls of 50 ms, 8 at a time: 0.25 s ideal; one at a time would be 2 s.
  EXPECT_LT(seconds, 1.2);
  for (size_t i = 0; i < report->cases.size(); ++i) {  // In suite order whatever the timing.
    EXPECT_EQ(report->cases[i].test, static_cast<int>(i / 4));
    EXPECT_EQ(report->cases[i].repeat, static_cast<int>(i % 4));
  }
  const PassRate rate = report->Rate(0, 0);
  EXPECT_EQ(rate.runs, 40);
  EXPECT_NEAR(rate.low, 0.9124, 1e-3);  // Wilson, 40/40.
  options.repeat = 0;
  EXPECT_EQ(RunEval(suite, options).status().code(), absl::StatusCode::kInvalidArgument);
  // A cancelled run stops taking cases.
  options.repeat = 4;
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  call.cancellation->Cancel();
  EXPECT_EQ(RunEval(suite, options, call).status().code(), absl::StatusCode::kCancelled);
}

TEST(EvalRun, AProviderThatFailsFailsItsCasesWithTheError) {
  TestServer down([](const ServerRequest&) {
    return Reply(400, R"({"error": {"message": "model not found", "type": "invalid_request"}})");
  });
  EvalSuite suite =
      MustParse(Suite(down.Url("/v1"), "  - assert: [{type: not-contains, value: x}]\n"));
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->cases[0].pass);
  EXPECT_THAT(report->cases[0].error, HasSubstr("model not found"));
  EXPECT_THAT(report->ToJUnitXml(), HasSubstr("<error message=\"0/1 runs passed"));
}

EvalReport RunCapitals(const std::string& url, const std::string& prompt, int repeat) {
  EvalSuite suite = MustParse(absl::StrCat("prompts: [\"", prompt, R"("]
providers:
  - id: openai:chat:gpt-4o-mini
    config: {apiBaseUrl: )",
                                           url, R"(, apiKey: k}
tests:
  - {description: France, vars: {c: France}, assert: [{type: contains, value: Paris}]}
  - {description: Italy, vars: {c: Italy}, assert: [{type: contains, value: Rome}]}
)"));
  suite.prompts[0].label = "capital";  // The same cell across versions of the prompt.
  absl::StatusOr<EvalReport> report = RunEval(suite, {.repeat = repeat});
  EXPECT_TRUE(report.ok()) << report.status();
  return *report;
}

TEST(EvalReports, JsonRoundTripJUnitAndTheRegressionGate) {
  QuestionServer server;
  EvalReport good = RunCapitals(server.url(), "capital of {{ c }}", 3);
  EXPECT_TRUE(good.AllPassed());
  absl::StatusOr<EvalReport> back = EvalReport::FromJson(*Json::Parse(good.ToJson().Dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson().Dump(), good.ToJson().Dump());
  EXPECT_TRUE(Regressions(good, good).empty());
  // A prompt change that breaks Italy (the server only knows "capital of ..."):
  EvalReport bad = RunCapitals(server.url(),
                               "{% if c == 'Italy' %}chief city of{% else %}capital of"
                               "{% endif %} {{ c }}",
                               3);
  std::vector<std::string> worse = Regressions(good, bad);
  ASSERT_FALSE(worse.empty());
  EXPECT_THAT(worse[0], HasSubstr("Italy: passed in 3/3 baseline runs, now 0/3"));
  const std::string junit = bad.ToJUnitXml();
  EXPECT_THAT(junit, HasSubstr("<testsuites name=\"llmkit eval\" tests=\"2\" failures=\"1\""));
  EXPECT_THAT(junit, HasSubstr("<testcase classname=\"capital × openai:chat:gpt-4o-mini\" "
                               "name=\"France\""));
  EXPECT_THAT(junit, HasSubstr("<failure message=\"0/3 runs passed\">"));
  EXPECT_THAT(bad.ToTable(), HasSubstr("Failed:"));
  EXPECT_FALSE(EvalReport::FromJson(*Json::Parse(R"({"version": 2})")).ok());
  EXPECT_FALSE(EvalReport::FromJson(
                   *Json::Parse(
                       R"({"version": 1, "prompts": ["p"], "providers": ["v"], "tests": ["t"],
                       "cases": [{"prompt": 3, "provider": 0, "test": 0}]})"))
                   .ok());
}

TEST(EvalStatistics, WilsonMcNemarAndFisher) {
  // Reference values: statsmodels proportion_confint(method="wilson"), scipy binomtest.
  PassRate r = WilsonInterval(8, 10);
  EXPECT_NEAR(r.low, 0.4902, 1e-4);
  EXPECT_NEAR(r.high, 0.9433, 1e-4);
  r = WilsonInterval(0, 5);
  EXPECT_NEAR(r.low, 0, 1e-12);
  EXPECT_NEAR(r.high, 0.4345, 1e-4);
  r = WilsonInterval(0, 0);
  EXPECT_EQ(r.low, 0);
  EXPECT_EQ(r.high, 1);
  // 10 discordant pairs, 9 one way: two-sided exact p = 22/1024.
  std::vector<bool> a(20, true), b(20, true);
  for (int i = 0; i < 9; ++i) b[i] = false;
  a[19] = false;
  PairedComparison c = McNemar(a, b);
  EXPECT_EQ(c.only_a, 9);
  EXPECT_EQ(c.only_b, 1);
  EXPECT_NEAR(c.p_value, 22.0 / 1024, 1e-12);
  EXPECT_TRUE(c.significant());
  EXPECT_EQ(McNemar(a, a).p_value, 1);
}

// autoevals' own test expectations (js/json.test.ts, autoevals 0.3).
TEST(EvalScorers, MatchAutoevalsExpectations) {
  struct Case {
    const char* a;
    const char* b;
    double expected;
  };
  for (const Case& c : std::vector<Case>{{"", "", 1},
                                         {"", "a", 0},
                                         {"a", "", 0},
                                         {"a", "a", 1},
                                         {"a", "b", 0},
                                         {"ab", "ac", 0.5},
                                         {"ac", "bc", 0.5},
                                         {"abc", "axc", 0.66667},
                                         {"xabxcdxxefxgx", "1ab2cd34ef5g6", 0.53846}}) {
    EXPECT_NEAR(JsonDiffScore(Json(c.a), Json(c.b)), c.expected, 1e-4) << c.a << " / " << c.b;
    EXPECT_NEAR(LevenshteinRatio(c.a, c.b), c.expected, 1e-4);
  }
  auto j = [](const char* text) { return *Json::Parse(text); };
  EXPECT_EQ(JsonDiffScore(Json(), Json()), 1);
  EXPECT_EQ(JsonDiffScore(Json(""), Json()), 0);
  EXPECT_EQ(JsonDiffScore(j("[]"), j("{}")), 0);
  EXPECT_EQ(JsonDiffScore(j("[]"), j("[]")), 1);
  EXPECT_EQ(JsonDiffScore(j("{}"), j("{}")), 1);
  EXPECT_EQ(JsonDiffScore(j(R"({"a": 1})"), j(R"({"a": 1})")), 1);
  EXPECT_NEAR(JsonDiffScore(j(R"({"a": 1})"), j(R"({"a": 2})")), 0.66667, 1e-4);
  EXPECT_NEAR(JsonDiffScore(j(R"({"a": 1})"), j(R"(["a", 1])")), 0.5714285714285714, 1e-9);
  EXPECT_EQ(JsonDiffScore(j(R"({"a": 1})"), j(R"({"b": {"a": 1}})")), 0);
  EXPECT_EQ(JsonDiffScore(j(R"({"a": 1})"), j(R"({"a": null})")), 0);
  EXPECT_NEAR(JsonDiffScore(j(R"({"mapping": {"a": "foo", "b": "bar"}})"),
                            j(R"({"mapping": {"a": "Foo", "b": "Bar"}, "Extra": 5})")),
              0.33333333333333337, 1e-9);
  // Lengths in UTF-16 code units, as JavaScript measures them: one emoji is two.
  EXPECT_EQ(LevenshteinDistance("a😀", "a"), 2u);
  EXPECT_EQ(LevenshteinDistance("é", "e"), 1u);
}

}  // namespace
}  // namespace llmkit

namespace llmkit {
namespace {

// A RAG pipeline's chat model and judge in one server: the pipeline's prompt gets an answer by
// the question; the judge's prompts get scripted verdicts.
Script RagServer(const ServerRequest& r) {
  Json request = *Json::Parse(r.body);
  const std::string question = LastContent(request);
  if (absl::StrContains(question, "Break the answer below into its claims")) {
    if (absl::StrContains(question, "Rome")) return Reply(200, OpenAIText("no idea"));
    return Reply(200, OpenAIText(R"({"claims": ["Paris is the capital of France.",
                                               "Paris has 40 million people."]})"));
  }
  if (absl::StrContains(question, "whether the context below supports it")) {
    return Reply(200, OpenAIText(R"(Sure: {"verdicts": [
        {"statement": "Paris is the capital of France.", "reason": "[1] says so", "verdict": 1},
        {"statement": "Paris has 40 million people.", "reason": "not in the context", "verdict": 0}]})"));
  }
  if (absl::StrContains(question, "Rate how directly")) {
    return Reply(200, OpenAIText(R"({"reason": "answers it", "score": 0.9})"));
  }
  if (absl::StrContains(question, "capital of Italy?")) {  // The question, not a passage.
    return Reply(200, OpenAIText("Rome is the capital of Italy [1]."));
  }
  return Reply(200, OpenAIText("Paris is the capital of France, with 40 million people [1]."));
}

TEST(EvalRag, RetrievalMetricsAndAScriptedJudge) {
  TestServer server(RagServer);
  absl::StatusOr<std::unique_ptr<ChatModel>> chat =
      NewOpenAIClient({.base_url = server.Url("/v1"), .api_key = "k", .model = "gpt-4o-mini"});
  ASSERT_TRUE(chat.ok());
  std::shared_ptr<ChatModel> model = *std::move(chat);
  absl::StatusOr<std::unique_ptr<RagPipeline>> rag =
      RagPipeline::Create({.k = 2, .chat = model, .chat_model = "gpt-4o-mini"});
  ASSERT_TRUE(rag.ok()) << rag.status();
  std::vector<RagDocument> docs = {
      {.id = "france", .text = "Paris is the capital of France. It lies on the Seine."},
      {.id = "italy", .text = "Rome is the capital of Italy. It lies on the Tiber."},
      {.id = "fruit", .text = "Bananas are a yellow fruit grown in the tropics."}};
  ASSERT_TRUE((*rag)->Ingest(docs).ok());
  std::vector<RagQuestion> questions = {
      {.question = "What is the capital of France?", .relevant = {"france"}},
      {.question = "What is the capital of Italy?", .relevant = {"italy", "fruit"}},
  };
  RagMetricsOptions options;
  options.judge = model;
  options.judge_model = "gpt-4o";
  absl::StatusOr<RagMetricsReport> report = EvaluateRag(**rag, questions, options);
  ASSERT_TRUE(report.ok()) << report.status();
  const RagQuestionResult& france = report->questions[0];
  ASSERT_EQ(france.retrieved.size(), 2u);
  EXPECT_EQ(france.retrieved[0], "france");  // Ranked first: average precision 1.
  EXPECT_DOUBLE_EQ(france.context_precision, 1);
  EXPECT_DOUBLE_EQ(france.context_recall, 1);
  ASSERT_EQ(france.claims.size(), 2u) << france.error << " / " << france.answer;
  EXPECT_EQ(france.supported, (std::vector<bool>{true, false}));
  ASSERT_TRUE(france.faithfulness.has_value());
  EXPECT_DOUBLE_EQ(*france.faithfulness, 0.5);  // One of two claims is in the context.
  EXPECT_DOUBLE_EQ(france.answer_relevance.value_or(-1), 0.9);
  EXPECT_TRUE(france.error.empty()) << france.error;
  // Italy: "italy" first, "fruit" not retrieved: precision 1, recall 1/2. The judge's claims
  // answer is not JSON: faithfulness unset with the reason, never NaN.
  const RagQuestionResult& italy = report->questions[1];
  EXPECT_EQ(italy.retrieved[0], "italy");
  EXPECT_DOUBLE_EQ(italy.context_precision, 1);
  EXPECT_DOUBLE_EQ(italy.context_recall, 0.5);
  EXPECT_FALSE(italy.faithfulness.has_value());
  EXPECT_THAT(italy.error, HasSubstr("not JSON"));
  EXPECT_DOUBLE_EQ(report->context_recall, 0.75);
  EXPECT_EQ(report->faithfulness_count, 1);
  EXPECT_DOUBLE_EQ(report->faithfulness, 0.5);
  EXPECT_EQ(report->answer_relevance_count, 2);
  const std::string json = report->ToJson().Dump();
  EXPECT_THAT(json, HasSubstr("\"faithfulness\":null"));
  // Without a judge: the retrieval metrics only.
  absl::StatusOr<RagMetricsReport> plain = EvaluateRag(**rag, questions);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->questions[0].faithfulness.has_value());
  EXPECT_DOUBLE_EQ(plain->context_recall, 0.75);
  EXPECT_EQ(EvaluateRag(**rag, questions, {.concurrency = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit

namespace llmkit {
namespace {

TEST(EvalJudges, TwoJudgesAgreementAndKappa) {
  QuestionServer server;
  // A strict second judge: every rubric fails.
  TestServer strict([](const ServerRequest&) {
    return Reply(200, OpenAIText(R"({"reason": "strict", "pass": false, "score": 0})"));
  });
  EvalSuite suite = MustParse(Suite(server.url(), R"(
  - vars: {country: France}
    assert: [{type: llm-rubric, value: Names the capital correctly}]
  - vars: {country: Italy}
    assert: [{type: llm-rubric, value: Names the capital correctly}]
)"));
  absl::StatusOr<std::shared_ptr<ChatModel>> first = NewEvalModel(
      "openai:chat:gpt-4o",
      *Json::Parse(absl::StrCat(R"({"apiBaseUrl": ")", server.url(), R"(", "apiKey": "k"})")));
  std::string second_name;
  absl::StatusOr<std::shared_ptr<ChatModel>> second = NewEvalModel(
      "openai:claude-x",
      *Json::Parse(absl::StrCat(R"({"apiBaseUrl": ")", strict.Url("/v1"), R"(", "apiKey": "k"})")),
      &second_name);
  ASSERT_TRUE(first.ok() && second.ok()) << first.status() << second.status();
  EXPECT_EQ(second_name, "claude-x");
  EvalOptions options;
  options.judge = *first;
  options.judge_model = "gpt-4o";
  options.second_judge = *second;
  options.second_judge_model = "claude-x";
  absl::StatusOr<EvalReport> report = RunEval(suite, options);
  ASSERT_TRUE(report.ok()) << report.status();
  // France: first passes, second fails; Italy: both fail. The first judge alone decides.
  EXPECT_TRUE(report->cases[0].pass);
  EXPECT_EQ(report->cases[0].assertions[0].second_pass, false);
  const JudgeAgreement a = report->Agreement();
  EXPECT_EQ(a.judged(), 2);
  EXPECT_EQ(a.first_only, 1);
  EXPECT_EQ(a.both_fail, 1);
  EXPECT_DOUBLE_EQ(a.agreement, 0.5);
  EXPECT_DOUBLE_EQ(a.kappa, 0);  // No better than chance.
  EXPECT_THAT(report->ToTable(),
              HasSubstr("Judges agree on 1/2 verdicts (50.0%, Cohen's kappa 0.00)"));
  absl::StatusOr<EvalReport> back = EvalReport::FromJson(report->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Agreement().first_only, 1);
  EXPECT_EQ(NewEvalModel("bedrock:x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit

namespace llmkit {
namespace {

TEST(EvalReports, TwoPromptVersionsComparedTestByTest) {
  QuestionServer server;
  std::string tests;
  for (int i = 0; i < 8; ++i) {
    absl::StrAppend(&tests, "  - {description: t", i,
                    ", vars: {c: France}, assert: [{type: "
                    "contains, value: Paris}]}\n");
  }
  EvalSuite suite =
      MustParse(absl::StrCat(R"(prompts: ["capital of {{ c }}", "chief city of {{ c }}"]
providers:
  - id: openai:chat:gpt-4o-mini
    config: {apiBaseUrl: )",
                             server.url(), R"(, apiKey: k}
tests:
)",
                             tests));
  absl::StatusOr<EvalReport> report = RunEval(suite);
  ASSERT_TRUE(report.ok()) << report.status();
  // The first version passes all 8 tests, the second none: McNemar exact p = 2 / 2^8.
  PairedComparison c = report->ComparePrompts(0, 1, 0);
  EXPECT_EQ(c.only_a, 8);
  EXPECT_EQ(c.only_b, 0);
  EXPECT_NEAR(c.p_value, 2.0 / 256, 1e-12);
  EXPECT_TRUE(c.significant());
  ASSERT_EQ(report->Comparisons().size(), 1u);
  EXPECT_THAT(report->Comparisons()[0],
              HasSubstr("8 test(s) pass only with the first, 0 only with the second (McNemar "
                        "exact p = 0.00781, a significant difference)"));
  EXPECT_THAT(report->ToTable(), HasSubstr("a significant difference"));
  EXPECT_THAT(report->ToHtml(), HasSubstr("<ul id=\"comparisons\">"));
}

}  // namespace
}  // namespace llmkit
