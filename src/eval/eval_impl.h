// Internals of the evaluation part shared by its files.

#ifndef LLMKIT_SRC_EVAL_EVAL_IMPL_H_
#define LLMKIT_SRC_EVAL_EVAL_IMPL_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "llmkit/eval.h"
#include "llmkit/json.h"

namespace llmkit::internal::eval {

// UTF-8 as UTF-16 code units: autoevals (JavaScript) measures strings in those.
std::u16string Utf16(std::string_view text);

// Two-sided Fisher exact test of a_pass/a_runs against b_pass/b_runs.
double FisherExact(int a_pass, int a_runs, int b_pass, int b_runs);

// A YAML document as Json (YAML 1.2 core schema scalars: null, booleans, integers, floats; a
// quoted scalar is always a string). Errors: kInvalidArgument with the line and column.
absl::StatusOr<Json> YamlToJson(std::string_view yaml);

// What the runner needs to judge one output: the judge for llm-rubric and factuality.
struct Judges {
  std::shared_ptr<ChatModel> model;
  std::string model_name;
  std::shared_ptr<ChatModel> second;  // The agreement check's judge, or null.
  std::string second_name;
};

// One assertion's verdict (the built-in types; `custom` first).
AssertionResult Evaluate(const EvalAssertion& assertion, const EvalOutput& output,
                         const EvalOptions& options, const Judges& judges, const CallContext& call);

// Text safe in XML 1.0 and HTML (element or attribute): markup escaped, the control characters
// XML forbids (all but tab and newlines) dropped.
std::string EscapeMarkup(std::string_view text);

// `text` cut to at most `n` bytes at a UTF-8 character boundary, `ellipsis` appended when cut.
std::string CutUtf8(const std::string& text, size_t n, std::string_view ellipsis);

// The runs of one prompt × provider (prompt -1: of every prompt) summed for the reports.
struct CellSummary {
  PassRate rate;
  double p50_ms = 0;
  int64_t tokens = 0;
  double cost = 0;
  bool priced = false;  // Some run had a cost.
};
CellSummary Summarize(const EvalReport& report, int prompt, int provider);

// A judge's answer as a JSON object: the whole reply, or the first object inside it.
std::optional<Json> JudgeObject(const std::string& reply);

// The built-in assertion types (without "not-").
bool IsBuiltInAssertion(std::string_view type);

}  // namespace llmkit::internal::eval

#endif  // LLMKIT_SRC_EVAL_EVAL_IMPL_H_
