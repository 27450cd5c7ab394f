// The built-in assertions: what each type checks of an output, and the judges (llm-rubric,
// factuality).

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"
#include "eval/eval_impl.h"
#include "llmkit/eval.h"
#include "llmkit/schema.h"
#include "re2/re2.h"
#include "schema/program.h"
#include "unicode/py_text.h"

namespace llmkit::internal::eval {
namespace {

AssertionResult Verdict(bool pass, std::string reason) {
  AssertionResult r;
  r.pass = pass;
  r.score = pass ? 1 : 0;
  r.reason = std::move(reason);
  return r;
}

AssertionResult Failure(std::string reason) {
  AssertionResult r = Verdict(false, std::move(reason));
  r.error = true;
  return r;
}

std::string Text(const Json& value) {
  if (value.is_string()) return value.as_string();
  if (value.is_null()) return "";
  return value.Dump();
}

std::string Quoted(absl::string_view text) {
  std::string shown(text.substr(0, 80));
  if (text.size() > 80) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

// contains-any / contains-all's list: a list, or text split at commas (promptfoo's rule).
std::vector<std::string> Items(const Json& value) {
  std::vector<std::string> items;
  if (value.is_array()) {
    for (const Json& item : value.as_array()) items.push_back(Text(item));
  } else {
    for (absl::string_view part : absl::StrSplit(Text(value), ',')) {
      items.emplace_back(absl::StripAsciiWhitespace(part));
    }
  }
  return items;
}

// The first JSON object or array inside `text` (contains-json), parsed.
std::optional<Json> FirstJson(absl::string_view text) {
  for (size_t start = 0; start < text.size(); ++start) {
    if (text[start] != '{' && text[start] != '[') continue;
    // Try each closing bracket from the furthest back: the longest document that parses.
    for (size_t end = text.size(); end > start; --end) {
      const char last = text[end - 1];
      if (last != '}' && last != ']') continue;
      absl::StatusOr<Json> parsed = Json::Parse(ToStd(text.substr(start, end - start)));
      if (parsed.ok()) return *std::move(parsed);
    }
  }
  return std::nullopt;
}

AssertionResult SchemaVerdict(const Json& instance, const Json& schema) {
  absl::StatusOr<JsonSchema> compiled = JsonSchema::Compile(schema);
  if (!compiled.ok()) return Failure(absl::StrCat("bad schema: ", compiled.status().message()));
  std::vector<SchemaError> errors = compiled->Validate(instance);
  if (errors.empty()) return Verdict(true, "valid against the schema");
  std::vector<std::string> shown;
  for (size_t i = 0; i < errors.size() && i < 3; ++i) {
    shown.push_back(absl::StrCat(errors[i].instance_path.empty() ? "/" : errors[i].instance_path,
                                 ": ", errors[i].message));
  }
  return Verdict(false, absl::StrCat("schema: ", absl::StrJoin(shown, "; ")));
}

double Cosine(const float* a, const float* b, size_t n) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < n; ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / std::sqrt(na * nb);
}

// --- Judges ---------------------------------------------------------------------------------

constexpr char kRubricPrompt[] =
    "You are grading output according to a user-specified rubric. If the statement in the "
    "rubric is true, then the output passes the test. You respond with a JSON object with this "
    "structure: {\"reason\": string, \"pass\": boolean, \"score\": number}, where score is "
    "between 0 and 1.\n\n"
    "Examples:\n\n"
    "<Output>Hello world</Output>\n<Rubric>Content contains a greeting</Rubric>\n"
    "{\"reason\": \"the content contains the word 'Hello'\", \"pass\": true, \"score\": 1.0}\n\n"
    "<Output>Avast ye swabs, repel the invaders!</Output>\n"
    "<Rubric>Does not speak like a pirate</Rubric>\n"
    "{\"reason\": \"'avast ye' is a common pirate term\", \"pass\": false, \"score\": 0.0}";

constexpr char kFactualityPrompt[] =
    "You are comparing a submitted answer to an expert answer on a given question. Here is the "
    "data:\n[BEGIN DATA]\n************\n[Question]: {{input}}\n************\n[Expert]: "
    "{{expected}}\n************\n[Submission]: {{output}}\n************\n[END DATA]\n\n"
    "Compare the factual content of the submitted answer with the expert answer. Ignore any "
    "differences in style, grammar, or punctuation.\nThe submitted answer may either be a subset "
    "or superset of the expert answer, or it may conflict with it. Determine which case applies. "
    "Answer the question by selecting one of the following options:\n"
    "(A) The submitted answer is a subset of the expert answer and is fully consistent with it.\n"
    "(B) The submitted answer is a superset of the expert answer and is fully consistent with "
    "it.\n"
    "(C) The submitted answer contains all the same details as the expert answer.\n"
    "(D) There is a disagreement between the submitted answer and the expert answer.\n"
    "(E) The answers differ, but these differences don't matter from the perspective of "
    "factuality.\n\n"
    "Respond with a JSON object: {\"reason\": string, \"choice\": \"A\" | \"B\" | \"C\" | \"D\" | "
    "\"E\"}.";

absl::StatusOr<ChatResponse> AskJudge(const Judges& judges, std::string system, std::string user,
                                      const CallContext& call) {
  ChatRequest request;
  request.model = judges.model_name;
  request.temperature = 0;
  request.seed = 0;
  request.messages = {{.role = "system", .content = std::move(system)},
                      {.role = "user", .content = std::move(user)}};
  return judges.model->Complete(request, call);
}

AssertionResult Rubric(const EvalAssertion& a, const EvalOutput& out, const Judges& judges,
                       const CallContext& call) {
  if (judges.model == nullptr) {
    return Failure(
        "llm-rubric needs a judge (defaultTest.options.provider, or EvalOptions::judge)");
  }
  absl::StatusOr<ChatResponse> reply = AskJudge(
      judges, kRubricPrompt,
      absl::StrCat("<Output>", ToAbsl(out.text), "</Output>\n<Rubric>", Text(a.value), "</Rubric>"),
      call);
  if (!reply.ok()) return Failure(absl::StrCat("the judge failed: ", reply.status().message()));
  std::optional<Json> verdict = JudgeObject(reply->text);
  if (!verdict)
    return Failure(absl::StrCat("the judge's answer is not JSON: ", Quoted(reply->text)));
  const Json* pass = verdict->Find("pass");
  const Json* score = verdict->Find("score");
  const Json* reason = verdict->Find("reason");
  if (pass != nullptr && !pass->is_bool()) return Failure("the judge's \"pass\" is not a boolean");
  if (score != nullptr && !(score->is_number() && std::isfinite(score->as_double()))) {
    return Failure(absl::StrCat("the judge's \"score\" is not a finite number: ", score->Dump()));
  }
  if (pass == nullptr && score == nullptr) return Failure("the judge gave neither pass nor score");
  AssertionResult r;
  r.score =
      score != nullptr ? std::clamp(score->as_double(), 0.0, 1.0) : (pass->as_bool() ? 1.0 : 0.0);
  r.pass =
      a.threshold ? r.score >= *a.threshold : (pass != nullptr ? pass->as_bool() : r.score >= 0.5);
  r.reason = reason != nullptr && reason->is_string() ? reason->as_string() : reply->text;
  return r;
}

AssertionResult Factuality(const EvalAssertion& a, const EvalOutput& out, const Judges& judges,
                           const CallContext& call) {
  if (judges.model == nullptr) {
    return Failure(
        "factuality needs a judge (defaultTest.options.provider, or EvalOptions::judge)");
  }
  std::string question(out.prompt);
  std::string prompt = kFactualityPrompt;
  auto put = [&](absl::string_view name, absl::string_view value) {
    prompt = absl::StrReplaceAll(prompt, {{name, value}});
  };
  put("{{input}}", question);
  put("{{expected}}", Text(a.value));
  put("{{output}}", ToAbsl(out.text));
  absl::StatusOr<ChatResponse> reply =
      AskJudge(judges, "You are a careful fact checker.", prompt, call);
  if (!reply.ok()) return Failure(absl::StrCat("the judge failed: ", reply.status().message()));
  std::optional<Json> verdict = JudgeObject(reply->text);
  const Json* choice = verdict ? verdict->Find("choice") : nullptr;
  if (choice == nullptr || !choice->is_string() || choice->as_string().size() != 1 ||
      choice->as_string()[0] < 'A' || choice->as_string()[0] > 'E') {
    return Failure(absl::StrCat("the judge's answer has no choice A-E: ", Quoted(reply->text)));
  }
  // autoevals' scores for the five choices.
  static constexpr double kScores[] = {0.4, 0.6, 1, 0, 1};
  const char c = choice->as_string()[0];
  AssertionResult r;
  r.score = kScores[c - 'A'];
  r.pass = a.threshold ? r.score >= *a.threshold : c != 'D';
  const Json* reason = verdict->Find("reason");
  r.reason = absl::StrCat("(", std::string(1, c), ") ",
                          reason != nullptr && reason->is_string() ? reason->as_string() : "");
  return r;
}

AssertionResult ToolsCall(const EvalAssertion& a, const EvalOutput& out) {
  if (out.response == nullptr || out.response->message.tool_calls.empty()) {
    return Verdict(false, "no tool call in the answer");
  }
  for (const ToolCall& call : out.response->message.tool_calls) {
    absl::StatusOr<Json> arguments = Json::Parse(call.arguments.empty() ? "{}" : call.arguments);
    if (!arguments.ok() || !arguments->is_object()) {
      return Verdict(false, absl::StrCat(call.name, ": arguments are not a JSON object"));
    }
    if (!a.value.is_array()) continue;
    const Json* spec = nullptr;
    for (const Json& tool : a.value.as_array()) {
      const Json* function = tool.Find("function");
      const Json& f = function != nullptr ? *function : tool;
      const Json* name = f.Find("name");
      if (name != nullptr && name->is_string() && name->as_string() == call.name) spec = &f;
    }
    if (spec == nullptr) return Verdict(false, absl::StrCat("no tool named ", Quoted(call.name)));
    if (const Json* parameters = spec->Find("parameters"); parameters != nullptr) {
      AssertionResult r = SchemaVerdict(*arguments, *parameters);
      if (!r.pass) {
        r.reason = absl::StrCat(call.name, ": ", r.reason);
        return r;
      }
    }
  }
  return Verdict(true,
                 absl::StrCat(out.response->message.tool_calls.size(), " valid tool call(s)"));
}

AssertionResult Check(const EvalAssertion& a, const EvalOutput& out, const EvalOptions& options,
                      const Judges& judges, const CallContext& call) {
  const absl::string_view text = ToAbsl(out.text);
  const std::string& type = a.type;
  if (type == "equals") {
    if (a.value.is_object() || a.value.is_array()) {
      absl::StatusOr<Json> parsed = Json::Parse(out.text);
      return Verdict(parsed.ok() && *parsed == a.value, absl::StrCat("expected ", a.value.Dump()));
    }
    return Verdict(text == Text(a.value), absl::StrCat("expected ", Quoted(Text(a.value))));
  }
  if (type == "contains") {
    return Verdict(absl::StrContains(text, Text(a.value)),
                   absl::StrCat("looked for ", Quoted(Text(a.value))));
  }
  if (type == "icontains") {
    return Verdict(absl::StrContains(ToLower(out.text), ToLower(Text(a.value))),
                   absl::StrCat("looked for ", Quoted(Text(a.value)), ", any case"));
  }
  if (type == "contains-any" || type == "icontains-any" || type == "contains-all" ||
      type == "icontains-all") {
    const bool fold = type[0] == 'i';
    const bool all = absl::EndsWith(type, "-all");
    const std::string haystack = fold ? ToLower(out.text) : std::string(text);
    std::vector<std::string> missing, found;
    for (const std::string& item : Items(a.value)) {
      (absl::StrContains(haystack, fold ? ToLower(item) : item) ? found : missing).push_back(item);
    }
    const bool pass = all ? missing.empty() : !found.empty();
    return Verdict(pass, all ? absl::StrCat("missing: ", absl::StrJoin(missing, ", "))
                             : absl::StrCat("found: ", absl::StrJoin(found, ", ")));
  }
  if (type == "starts-with") {
    return Verdict(absl::StartsWith(text, Text(a.value)),
                   absl::StrCat("expected to start with ", Quoted(Text(a.value))));
  }
  if (type == "regex") {
    absl::StatusOr<std::string> pattern = schema::EcmaToRe2(Text(a.value));
    if (!pattern.ok()) return Failure(absl::StrCat("regex: ", pattern.status().message()));
    RE2 re(*pattern, RE2::Quiet);
    if (!re.ok()) return Failure(absl::StrCat("regex: ", re.error()));
    return Verdict(RE2::PartialMatch(out.text, re), absl::StrCat("pattern /", Text(a.value), "/"));
  }
  if (type == "is-json" || type == "contains-json" || type == "json-schema") {
    std::optional<Json> parsed;
    if (type == "contains-json") {
      parsed = FirstJson(text);
    } else if (absl::StatusOr<Json> whole = Json::Parse(out.text); whole.ok()) {
      parsed = *std::move(whole);
    }
    if (!parsed)
      return Verdict(false, type == "contains-json" ? "no JSON in the output" : "not JSON");
    if (type == "json-schema" && !a.value.is_object() && !a.value.is_bool()) {
      return Failure("json-schema needs a schema as its value");
    }
    if (a.value.is_object() || a.value.is_bool()) return SchemaVerdict(*parsed, a.value);
    return Verdict(true, "valid JSON");
  }
  if (type == "is-valid-openai-tools-call") return ToolsCall(a, out);
  if (type == "levenshtein") {
    const double limit = a.threshold.value_or(5);
    const size_t distance = LevenshteinDistance(out.text, Text(a.value));
    return Verdict(static_cast<double>(distance) <= limit,
                   absl::StrCat("distance ", distance, " (at most ", limit, ")"));
  }
  if (type == "similar") {
    if (options.embedder == nullptr) return Failure("similar needs an embedder (EvalOptions)");
    const std::vector<std::string> inputs = {std::string(text), Text(a.value)};
    absl::StatusOr<Embeddings> e = options.embedder->Embed(inputs, {}, call);
    if (!e.ok()) return Failure(absl::StrCat("the embedder failed: ", e.status().message()));
    const double similarity =
        Cosine(e->values.data(), e->values.data() + e->dimensions, e->dimensions);
    const double limit = a.threshold.value_or(0.75);
    AssertionResult r = Verdict(similarity >= limit,
                                absl::StrCat("cosine ", similarity, " (at least ", limit, ")"));
    r.score = std::isfinite(similarity) ? std::clamp(similarity, 0.0, 1.0) : 0;
    return r;
  }
  if (type == "cost") {
    if (!a.threshold) return Failure("cost needs a threshold (US dollars)");
    if (!out.cost) return Failure("the model is not in the price table: no cost to compare");
    return Verdict(*out.cost <= *a.threshold,
                   absl::StrCat("cost $", *out.cost, " (at most $", *a.threshold, ")"));
  }
  if (type == "latency") {
    if (!a.threshold) return Failure("latency needs a threshold (milliseconds)");
    return Verdict(out.latency_ms <= *a.threshold,
                   absl::StrCat("latency ", static_cast<int64_t>(out.latency_ms), " ms (at most ",
                                *a.threshold, " ms)"));
  }
  if (type == "llm-rubric") return Rubric(a, out, judges, call);
  if (type == "factuality") return Factuality(a, out, judges, call);
  return Failure(absl::StrCat("unknown assertion type \"", type, "\""));
}

}  // namespace

std::optional<Json> JudgeObject(const std::string& reply) {
  absl::StatusOr<Json> whole = Json::Parse(reply);
  if (whole.ok() && whole->is_object()) return *std::move(whole);
  std::optional<Json> found = FirstJson(reply);
  if (found && found->is_object()) return found;
  return std::nullopt;
}

bool IsBuiltInAssertion(std::string_view type) {
  static constexpr std::string_view kTypes[] = {"equals",
                                                "contains",
                                                "icontains",
                                                "contains-any",
                                                "icontains-any",
                                                "contains-all",
                                                "icontains-all",
                                                "starts-with",
                                                "regex",
                                                "is-json",
                                                "contains-json",
                                                "json-schema",
                                                "is-valid-openai-tools-call",
                                                "levenshtein",
                                                "similar",
                                                "cost",
                                                "latency",
                                                "llm-rubric",
                                                "factuality"};
  for (std::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

AssertionResult Evaluate(const EvalAssertion& a, const EvalOutput& output,
                         const EvalOptions& options, const Judges& judges,
                         const CallContext& call) {
  AssertionResult r;
  if (auto custom = options.custom.find(a.type); custom != options.custom.end()) {
    try {
      r = custom->second(a, output);
    } catch (const std::exception& e) {
      r = Failure(absl::StrCat("the custom assertion threw: ", e.what()));
    }
    if (!std::isfinite(r.score)) {
      r = Failure(absl::StrCat("the custom assertion's score is not finite: ", r.score));
    }
  } else {
    r = Check(a, output, options, judges, call);
    if (judges.second != nullptr && (a.type == "llm-rubric" || a.type == "factuality")) {
      const Judges second{judges.second, judges.second_name, nullptr, ""};
      AssertionResult other = Check(a, output, options, second, call);
      if (!other.error) r.second_pass = a.negate ? !other.pass : other.pass;
    }
  }
  if (a.negate && !r.error) {
    r.pass = !r.pass;
    r.score = 1 - r.score;
    r.reason = absl::StrCat("not: ", r.reason);
  }
  r.type = a.negate ? absl::StrCat("not-", a.type) : a.type;
  r.metric = a.metric;
  r.weight = a.weight;
  r.score = std::clamp(r.score, 0.0, 1.0);
  return r;
}

}  // namespace llmkit::internal::eval
