// llmkit eval prompts: runs a prompt suite (promptfoo's YAML format), prints the pass rates with
// their intervals, writes JSON / JUnit XML, and gates on a baseline run.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "args.h"
#include "commands.h"
#include "llmkit/cache.h"
#include "llmkit/eval.h"
#include "llmkit/json.h"
#include "llmkit/resilience.h"
#include "read_file.h"

namespace llmkit::cli {
namespace {

const CommandSpec kSpec = {
    "eval prompts",
    "SUITE.yaml [options]",
    "Runs every prompt x provider x test of a suite file (promptfoo's configuration format: "
    "prompts, providers, tests with vars and assert, defaultTest; docs/eval.md lists the keys) "
    "and prints each prompt x provider's pass rate with its 95% Wilson interval, then the failed "
    "cases. Exit status 1 when a case fails, or with --baseline when a case that passed there "
    "fails now or a pass rate dropped significantly (Fisher exact test, p < 0.05).",
    {"SUITE"},
    {
        {"--repeat", "", "N", "runs of each case (default 1)"},
        {"--concurrency", "-j", "N", "cases in flight at once (default 8)"},
        {"--json", "", "FILE", "write the results as JSON (a later --baseline)"},
        {"--junit", "", "FILE", "write JUnit XML (what CI systems read)"},
        {"--html", "", "FILE", "write a self-contained HTML report (tables and charts)"},
        {"--baseline", "", "FILE", "a --json file of an earlier run: fail on regressions from it"},
        {"--cache", "", "DIR",
         "answer repeated requests from a response cache kept in DIR: re-running an unchanged "
         "suite makes no model call (sampled requests too)"},
        {"--rpm", "", "N", "at most N requests per minute to each provider"},
        {"--tpm", "", "N", "at most N tokens per minute to each provider"},
        {"--second-judge", "", "PROVIDER",
         "also ask this judge (openai:chat:MODEL, ...) every llm-rubric and factuality question "
         "and report how often the two agree (Cohen's kappa)"},
        {"--quiet", "-q", "", "print only the summary line"},
    }};

}  // namespace

int RunEvalPrompts(int argc, char** argv, int first) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kSpec, argc, argv, first, &exit);
  if (!args) return exit;
  std::optional<long> repeat = args->Number("--repeat", 1, 1, 1000);
  std::optional<long> concurrency = args->Number("--concurrency", 8, 1, 1024);
  if (!repeat || !concurrency) return kExitUsage;
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "llmkit eval prompts: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  };
  // The baseline is read first: a bad file fails before any model call is paid for.
  std::optional<EvalReport> baseline;
  if (args->Has("--baseline")) {
    absl::StatusOr<std::string> text = ReadWholeFile(args->Get("--baseline"));
    if (!text.ok()) return fail(text.status());
    absl::StatusOr<Json> json = Json::Parse(*text);
    if (!json.ok()) return fail(json.status());
    absl::StatusOr<EvalReport> report = EvalReport::FromJson(*json);
    if (!report.ok()) {
      return fail(absl::Status(report.status().code(), absl::StrCat(args->Get("--baseline"), ": ",
                                                                    report.status().message())));
    }
    baseline = *std::move(report);
  }
  absl::StatusOr<EvalSuite> suite = LoadEvalSuite(args->positional(0));
  if (!suite.ok()) return fail(suite.status());
  std::optional<long> rpm = args->Number("--rpm", 0, 0, 100'000'000);
  std::optional<long> tpm = args->Number("--tpm", 0, 0, 1'000'000'000);
  if (!rpm || !tpm) return kExitUsage;
  // Each provider: rate limited (the limiter paces the concurrent cases), then cached.
  std::shared_ptr<ResponseCache> cache;
  if (args->Has("--cache")) {
    absl::StatusOr<std::shared_ptr<ResponseCache>> created =
        ResponseCache::Create({.path = args->Get("--cache")});
    if (!created.ok()) return fail(created.status());
    cache = *std::move(created);
  }
  for (EvalProvider& provider : suite->providers) {
    if (*rpm > 0 || *tpm > 0) {
      absl::StatusOr<std::shared_ptr<RateLimiter>> limiter =
          RateLimiter::Create({.requests_per_minute = static_cast<double>(*rpm),
                               .tokens_per_minute = static_cast<double>(*tpm)});
      if (!limiter.ok()) return fail(limiter.status());
      absl::StatusOr<std::unique_ptr<ChatModel>> limited =
          WithRateLimit(provider.model, *std::move(limiter));
      if (!limited.ok()) return fail(limited.status());
      provider.model = *std::move(limited);
    }
    if (cache != nullptr) {
      // Keyed on the run's number too: the repeats of one run stay separate calls, and a re-run
      // of an unchanged suite (sampled requests included) is served from the cache.
      absl::StatusOr<std::unique_ptr<ChatModel>> cached =
          WithCache(provider.model, cache,
                    {.namespace_tags = {kRepeatTag}, .scope = provider.id, .cache_sampled = true});
      if (!cached.ok()) return fail(cached.status());
      provider.model = *std::move(cached);
    }
  }
  EvalOptions options;
  if (args->Has("--second-judge")) {
    absl::StatusOr<std::shared_ptr<ChatModel>> second =
        NewEvalModel(args->Get("--second-judge"), Json::MakeObject(), &options.second_judge_model);
    if (!second.ok()) return fail(second.status());
    options.second_judge = *std::move(second);
  }
  options.repeat = static_cast<int>(*repeat);
  options.concurrency = static_cast<int>(*concurrency);
  const bool quiet = args->Has("--quiet");
  absl::StatusOr<EvalReport> report = llmkit::RunEval(*suite, options);
  if (!report.ok()) return fail(report.status());
  if (args->Has("--json")) {
    absl::Status written =
        WriteWholeFile(args->Get("--json"), report->ToJson().Dump({.indent = 2}) + "\n");
    if (!written.ok()) return fail(written);
  }
  if (args->Has("--junit")) {
    absl::Status written = WriteWholeFile(args->Get("--junit"), report->ToJUnitXml());
    if (!written.ok()) return fail(written);
  }
  if (args->Has("--html")) {
    absl::Status written = WriteWholeFile(args->Get("--html"), report->ToHtml());
    if (!written.ok()) return fail(written);
  }
  if (!quiet) std::fputs(report->ToTable().c_str(), stdout);
  int passed = 0;
  for (const EvalCaseResult& c : report->cases) passed += c.pass ? 1 : 0;
  int cached = 0;
  for (const EvalCaseResult& c : report->cases) cached += c.cache_hit ? 1 : 0;
  const std::string from_cache =
      cache != nullptr ? absl::StrCat(" (", cached, " from the cache)") : std::string();
  std::printf("%s%d/%zu runs passed in %.1f s%s\n", quiet ? "" : "\n", passed, report->cases.size(),
              report->seconds, from_cache.c_str());
  int status = passed == static_cast<int>(report->cases.size()) ? kExitOk : kExitFailure;
  if (baseline) {
    std::vector<std::string> worse = Regressions(*baseline, *report);
    if (worse.empty()) {
      std::printf("no regression from %s\n", args->Get("--baseline").c_str());
    } else {
      std::printf("%zu regression(s) from %s:\n", worse.size(), args->Get("--baseline").c_str());
      for (const std::string& w : worse) std::printf("  %s\n", w.c_str());
      status = kExitFailure;
    }
  }
  return status;
}

}  // namespace llmkit::cli
