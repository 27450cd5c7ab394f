// Evaluation suites: prompts × providers × test cases, each output scored by assertions, run
// concurrently and repeated, with pass rates and their 95% intervals, a regression gate against a
// baseline run, and reports a CI reads (JUnit XML), a program reads (JSON) and a person reads.
//
//   absl::StatusOr<llmkit::EvalSuite> suite = llmkit::LoadEvalSuite("promptfooconfig.yaml");
//   absl::StatusOr<llmkit::EvalReport> report = llmkit::RunEval(*suite, {.repeat = 3});
//   std::puts(report->ToTable().c_str());
//   bool ok = report->AllPassed();
//
// Suite files are promptfoo's configuration format (YAML) for the keys it shares with llmkit;
// docs/eval.md lists them. A key llmkit does not support is an error naming it, never ignored.
//
// Errors: LoadEvalSuite/ParseEvalSuite: kInvalidArgument naming the key (and the line) of what it
// cannot read; kNotFound for a missing prompt or suite file. RunEval: a failed model call is a
// failed case with its error kept, never an error of the run; kInvalidArgument for bad options;
// kCancelled / kDeadlineExceeded when the call context ends the run (no partial report).
// Threads: RunEval runs cases on `concurrency` threads of its own; custom assertions and
// on_case are called from them (on_case one call at a time). A report is a plain value.

#ifndef LLMKIT_EVAL_H_
#define LLMKIT_EVAL_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/cost.h"
#include "llmkit/embeddings.h"
#include "llmkit/json.h"
#include "llmkit/rag.h"

namespace llmkit {

// One check of an output, as promptfoo spells it: `type` without its "not-" prefix.
struct EvalAssertion {
  std::string type;                 // "equals", "contains", "regex", "is-json", "llm-rubric", ...
  bool negate = false;              // "not-<type>": passes when the check fails.
  Json value;                       // The expected text, list, schema, rubric...; null when none.
  std::optional<double> threshold;  // levenshtein, similar, cost, latency, llm-rubric.
  double weight = 1;                // Its share of the test's score (0: reported only).
  std::string metric;               // A name to report it under (optional).
};

struct EvalTest {
  std::string description;
  Json vars = Json::MakeObject();  // The prompt's variables.
  std::vector<EvalAssertion> asserts;
  // Unset: the test passes when every assertion passes. Set: when the weighted mean of the
  // assertions' scores is at least this.
  std::optional<double> threshold;
};

struct EvalPrompt {
  std::string label;  // As reports show it.
  std::string text;   // A template rendered with the test's vars. A render that is a JSON array
                      // of {role, content} objects is sent as those messages.
  std::string format = "jinja2";  // Or "f-string" (a registry prompt written so).
};

struct EvalProvider {
  std::string id;     // "openai:chat:gpt-4o-mini", "anthropic:messages:claude-3-5-haiku-latest"
  std::string label;  // As reports show it (default: id).
  std::shared_ptr<ChatModel> model;
  std::string model_name;  // ChatRequest::model.
  // Request settings from the provider's `config`: temperature, max_tokens, top_p, seed, stop.
  ChatRequest defaults;
};

struct EvalSuite {
  std::string description;
  std::vector<EvalPrompt> prompts;
  std::vector<EvalProvider> providers;
  std::vector<EvalTest> tests;  // With defaultTest merged in and array vars expanded.
  // The judge of llm-rubric and factuality (defaultTest.options.provider); null: EvalOptions'.
  std::shared_ptr<ChatModel> grader;
  std::string grader_model;
};

struct EvalSuiteOptions {
  // Makes a provider's model from its id and config; null: the built-in makers (openai:chat:,
  // openai:, anthropic:messages:, anthropic:). Return kInvalidArgument for an id you refuse.
  std::function<absl::StatusOr<std::shared_ptr<ChatModel>>(const std::string& id,
                                                           const Json& config)>
      make_model;
  // The prompt registry's folder for `registry:name@label` prompts (default: $LLMKIT_PROMPTS,
  // else "prompts" beside the suite file).
  std::string registry_dir;
};

// The model a suite's provider id names, as LoadEvalSuite makes it without make_model:
// openai:chat:MODEL, openai:MODEL, anthropic:messages:MODEL, anthropic:MODEL, with `config` read
// as a provider's config (apiBaseUrl, apiKey, apiKeyEnvar, apiHost, organization), wrapped in
// WithRetry. `*model_name` (optional) receives MODEL. Errors: kInvalidArgument naming the id.
absl::StatusOr<std::shared_ptr<ChatModel>> NewEvalModel(const std::string& id,
                                                        const Json& config = Json::MakeObject(),
                                                        std::string* model_name = nullptr);

// Reads a suite file. Prompt files (`file://...`) are read relative to the suite's folder.
absl::StatusOr<EvalSuite> LoadEvalSuite(const std::string& path,
                                        const EvalSuiteOptions& options = {});
// As LoadEvalSuite from YAML text; `base_dir` resolves relative file names.
absl::StatusOr<EvalSuite> ParseEvalSuite(std::string_view yaml, const std::string& base_dir,
                                         const EvalSuiteOptions& options = {});

// One assertion's verdict on one output.
struct AssertionResult {
  std::string type;  // As written, "not-" included.
  bool pass = false;
  double score = 0;  // In [0, 1]; never NaN.
  std::string reason;
  std::string metric;
  double weight = 1;
  // An error, not a verdict (a judge's unparsable answer, a bad regex): counted as a failure.
  bool error = false;
  // llm-rubric and factuality with a second judge (EvalOptions::second_judge): its verdict, for
  // the agreement check; unset when there is none or its answer was not a verdict.
  std::optional<bool> second_pass;
};

// What an assertion sees of one run of a case.
struct EvalOutput {
  std::string_view text;
  const ChatResponse* response = nullptr;  // Null when the call failed.
  double latency_ms = 0;
  std::optional<double> cost;  // US dollars; unset when the model is not priced.
  const Json* vars = nullptr;
  std::string_view prompt;  // The rendered prompt.
};

using CustomAssertion =
    std::function<AssertionResult(const EvalAssertion& assertion, const EvalOutput& output)>;

struct EvalOptions {
  int repeat = 1;       // Runs of each case (1..1000).
  int concurrency = 8;  // Cases in flight at once (1..1024); the models' rate limiters pace them.
  // Assertion types of your own (a name not among the built-in ones, e.g. "python-check").
  std::map<std::string, CustomAssertion> custom;
  std::shared_ptr<const PriceTable> prices;  // For `cost`; default PriceTable::Default().
  std::shared_ptr<EmbeddingModel> embedder;  // For `similar`.
  // For llm-rubric and factuality; a suite's own grader (defaultTest.options.provider) wins.
  std::shared_ptr<ChatModel> judge;
  std::string judge_model;
  // A second judge asked the same rubric and factuality questions: its verdicts are kept beside
  // the first's (which alone decide pass and fail) and EvalReport::JudgeAgreement compares them.
  std::shared_ptr<ChatModel> second_judge;
  std::string second_judge_model;
  // Called after each run of a case, one call at a time, in completion order.
  std::function<void(const struct EvalCaseResult&)> on_case;
};

struct EvalCaseResult {
  int prompt = 0;    // Index into the suite's prompts,
  int provider = 0;  // providers
  int test = 0;      // and tests.
  int repeat = 0;    // 0..repeat-1.
  std::string rendered_prompt;
  std::string output;
  std::string error;  // The call's failure, empty when it answered.
  bool pass = false;
  double score = 0;
  std::vector<AssertionResult> assertions;
  double latency_ms = 0;
  Usage usage;
  std::optional<double> cost;
  bool cache_hit = false;
};

// A pass rate with its 95% Wilson score interval (z = 1.96); an empty set is 0 in [0, 1].
struct PassRate {
  int passed = 0;
  int runs = 0;
  double rate = 0;
  double low = 0;
  double high = 1;
};
PassRate WilsonInterval(int passed, int runs);

// How often two judges gave the same verdict on the same judged assertions, and Cohen's kappa
// (agreement beyond chance: 1 perfect, 0 chance level; 1 when both always agree on one verdict).
struct JudgeAgreement {
  int both_pass = 0;
  int first_only = 0;  // The first judge passed it, the second did not.
  int second_only = 0;
  int both_fail = 0;
  int judged() const { return both_pass + first_only + second_only + both_fail; }
  double agreement = 0;  // (both_pass + both_fail) / judged; 0 when none.
  double kappa = 0;
};

// Two runs of the same cases (two prompts, two providers, a baseline and now), paired by case:
// McNemar's exact test on the cases where exactly one passed (two-sided binomial, p = 0.5).
struct PairedComparison {
  int both_pass = 0;
  int only_a = 0;  // Passed in a, failed in b.
  int only_b = 0;
  int both_fail = 0;
  double p_value = 1;
  bool significant(double alpha = 0.05) const { return p_value < alpha; }
};
PairedComparison McNemar(const std::vector<bool>& a, const std::vector<bool>& b);

struct EvalReport {
  std::string description;
  std::vector<std::string> prompts;    // Labels.
  std::vector<std::string> providers;  // Labels.
  std::vector<std::string> tests;      // Descriptions (default "test N").
  int repeat = 1;
  double seconds = 0;                 // Wall time of the run.
  std::vector<EvalCaseResult> cases;  // Ordered by prompt, provider, test, repeat.

  // Every run of every test for one prompt × provider.
  PassRate Rate(int prompt, int provider) const;
  bool AllPassed() const;
  // Two cells (prompt × provider) test by test (a test passes when all its repeats do):
  // two prompt versions on one provider, or two providers (models) on one prompt.
  PairedComparison CompareCells(int prompt_a, int provider_a, int prompt_b, int provider_b) const;
  PairedComparison ComparePrompts(int a, int b, int provider) const {
    return CompareCells(a, provider, b, provider);
  }
  PairedComparison CompareProviders(int a, int b, int prompt) const {
    return CompareCells(prompt, a, prompt, b);
  }
  // Every such pair (each two prompts on each provider, each two providers on each prompt),
  // one line each: which cell passed which tests the other failed and McNemar's p.
  std::vector<std::string> Comparisons() const;
  // The two judges' verdicts on every assertion both judged.
  JudgeAgreement Agreement() const;

  Json ToJson() const;
  static absl::StatusOr<EvalReport> FromJson(const Json& json);
  std::string ToJUnitXml() const;  // One testsuite per prompt × provider, a testcase per test.
  std::string ToTable() const;     // For a terminal.
  // One self-contained HTML page (no script, no network): pass rates with intervals, charts
  // (inline SVG) of the rates and of latency and cost per provider, the test matrix, the tests
  // where two prompts disagree side by side, and the failures with their reasons.
  std::string ToHtml() const;
};

// What got worse from `baseline` to `current` (same suite: cells matched by prompt and provider
// labels, tests by description): a test that passed in every baseline run and fails now, and a
// prompt × provider whose pass rate dropped significantly (two-sided Fisher exact test on the
// runs, p < alpha). Each entry says what and how.
std::vector<std::string> Regressions(const EvalReport& baseline, const EvalReport& current,
                                     double alpha = 0.05);

// Runs every prompt × provider × test `repeat` times. Each model call carries the call tag
// kRepeatTag = the run's number ("0", "1", ...): a response cache that keys on it
// (WithCacheOptions::namespace_tags) answers a re-run of an unchanged suite without calling the
// model while the repeats of one run stay separate calls.
inline constexpr char kRepeatTag[] = "llmkit.eval.repeat";
absl::StatusOr<EvalReport> RunEval(const EvalSuite& suite, const EvalOptions& options = {},
                                   const CallContext& call = {});

// --- RAG metrics --------------------------------------------------------------------------

// One question of a RAG evaluation set, with the documents judged relevant to it.
struct RagQuestion {
  std::string question;
  std::vector<std::string> relevant;  // Document ids or paths judged relevant.
};

struct RagMetricsOptions {
  // The judge of faithfulness and answer relevance (temperature 0, seed 0). Null: those two
  // metrics are not computed (the retrieval ones still are).
  std::shared_ptr<ChatModel> judge;
  std::string judge_model;
  int concurrency = 4;  // Questions in flight at once (1..256).
  AnswerOptions answer;
};

struct RagQuestionResult {
  std::string question;
  std::string answer;
  std::vector<std::string> retrieved;  // Document ids of the context, in rank order.
  // Average precision of the ranked context against the relevant documents (RAGAS' context
  // precision: the mean of precision@k over the ranks k holding a relevant passage; 0 when none
  // does), and the share of relevant documents that the context holds.
  double context_precision = 0;
  double context_recall = 0;
  // RAGAS' faithfulness: the answer's claims (extracted by the judge) that the retrieved
  // passages support (checked by the judge), over all its claims. Unset when there is no judge,
  // the answer makes no claim, or the judge's answer could not be read (`error` says which).
  std::optional<double> faithfulness;
  std::vector<std::string> claims;
  std::vector<bool> supported;
  // How directly and completely the answer addresses the question, as the judge scores it in
  // [0, 1]; unset as faithfulness.
  std::optional<double> answer_relevance;
  std::string error;  // The pipeline's or the judge's failure, empty when none.
};

struct RagMetricsReport {
  std::vector<RagQuestionResult> questions;  // In the given order.
  // Means over the questions where the metric is set (NaN never: 0 with count 0).
  double context_precision = 0;
  double context_recall = 0;
  double faithfulness = 0;
  int faithfulness_count = 0;
  double answer_relevance = 0;
  int answer_relevance_count = 0;
  Json ToJson() const;
};

// Answers every question with `rag` and scores it. Errors: kInvalidArgument for bad options;
// kCancelled / kDeadlineExceeded from the call context. A question whose answer or judging fails
// keeps its error and is scored on what it has.
absl::StatusOr<RagMetricsReport> EvaluateRag(const RagPipeline& rag,
                                             const std::vector<RagQuestion>& questions,
                                             const RagMetricsOptions& options = {},
                                             const CallContext& call = {});

// The deterministic scorers, as npm autoevals computes them: Levenshtein distance (code
// points) and ratio (1 - distance / longer length; 1 for two empty strings), and JSON diff (a
// structural similarity in [0, 1]: objects by mean over the union of keys, arrays by position,
// strings by Levenshtein ratio, numbers by 1 - |a-b|/(|a|+|b|)).
// ExactMatch: 1 when both normalize to the same text (a value that is an object, list or null, or
// text beside one that is, as compact JSON; numbers as JavaScript prints them), else 0.
double ExactMatchScore(const Json& a, const Json& b);
size_t LevenshteinDistance(std::string_view a, std::string_view b);
double LevenshteinRatio(std::string_view a, std::string_view b);
double JsonDiffScore(const Json& a, const Json& b);

}  // namespace llmkit

#endif  // LLMKIT_EVAL_H_
