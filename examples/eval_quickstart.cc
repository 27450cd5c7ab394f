// A prompt suite from C++: load a promptfoo-format suite file, run it (each case three times),
// print the pass rates with their intervals, keep the results as JSON for the next run's
// regression gate. The provider reads OPENAI_BASE_URL and OPENAI_API_KEY; ctest runs this
// against a local fake that answers the quiz.
//
//   build/release/examples/eval_quickstart examples/eval/promptfooconfig.yaml

#include <cstdio>

#include "llmkit/eval.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  absl::StatusOr<llmkit::EvalSuite> suite = llmkit::LoadEvalSuite(argv[1]);
  if (!suite.ok()) {
    std::fprintf(stderr, "%s\n", suite.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<llmkit::EvalReport> report =
      llmkit::RunEval(*suite, {.repeat = 3, .concurrency = 8});
  if (!report.ok()) return 1;

  for (size_t p = 0; p < report->prompts.size(); ++p) {
    llmkit::PassRate rate = report->Rate(static_cast<int>(p), 0);
    std::printf("%s: %d/%d passed, 95%% interval [%.2f, %.2f]\n", report->prompts[p].c_str(),
                rate.passed, rate.runs, rate.low, rate.high);
  }
  // Next time: llmkit::Regressions(baseline, *report) lists what got worse.
  llmkit::Json saved = report->ToJson();
  std::printf("%zu runs, all passed: %s\n", report->cases.size(),
              report->AllPassed() ? "yes" : "no");
  return report->AllPassed() && saved.is_object() ? 0 : 1;
}
