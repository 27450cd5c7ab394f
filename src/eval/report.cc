// EvalReport: pass rates, comparisons, the regression gate, and the JSON, JUnit XML and terminal
// forms of a run.

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/absl_compat.h"
#include "eval/eval_impl.h"
#include "llmkit/eval.h"
#include "llmkit/status.h"
#include "unicode/utf8.h"

namespace llmkit {
using internal::eval::EscapeMarkup;

namespace {

std::string Percent(double x) { return absl::StrFormat("%.1f%%", 100 * x); }

Json ResultToJson(const AssertionResult& r) {
  Json out = Json::MakeObject();
  out.Set("type", r.type);
  out.Set("pass", r.pass);
  out.Set("score", r.score);
  out.Set("reason", r.reason);
  if (!r.metric.empty()) out.Set("metric", r.metric);
  out.Set("weight", r.weight);
  if (r.error) out.Set("error", true);
  if (r.second_pass) out.Set("second_pass", *r.second_pass);
  return out;
}

std::string StringAt(const Json& json, std::string_view key) {
  const Json* v = json.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

double NumberAt(const Json& json, std::string_view key, double fallback = 0) {
  const Json* v = json.Find(key);
  return v != nullptr && v->is_number() ? v->as_double() : fallback;
}

bool BoolAt(const Json& json, std::string_view key) {
  const Json* v = json.Find(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

absl::StatusOr<std::vector<std::string>> Labels(const Json& json, const char* key) {
  const Json* list = json.Find(key);
  if (list == nullptr || !list->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("an eval report needs a \"", key, "\" list"));
  }
  std::vector<std::string> out;
  for (const Json& item : list->as_array()) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must hold text"));
    }
    out.push_back(item.as_string());
  }
  return out;
}

// Passed/runs of each (prompt label, provider label, test description).
using Key = std::tuple<std::string, std::string, std::string>;
std::map<Key, std::pair<int, int>> ByTest(const EvalReport& r) {
  std::map<Key, std::pair<int, int>> out;
  for (const EvalCaseResult& c : r.cases) {
    auto& [passed, runs] = out[{r.prompts[c.prompt], r.providers[c.provider], r.tests[c.test]}];
    passed += c.pass ? 1 : 0;
    ++runs;
  }
  return out;
}

}  // namespace

namespace internal::eval {

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') break;
        out += ch;
    }
  }
  return out;
}

std::string CutUtf8(const std::string& text, size_t n, std::string_view ellipsis) {
  if (text.size() <= n) return text;
  return absl::StrCat(text.substr(0, CharacterStart(text, n)), ToAbsl(ellipsis));
}

CellSummary Summarize(const EvalReport& report, int prompt, int provider) {
  CellSummary cell;
  int passed = 0, runs = 0;
  std::vector<double> latencies;
  for (const EvalCaseResult& c : report.cases) {
    if ((prompt >= 0 && c.prompt != prompt) || c.provider != provider) continue;
    ++runs;
    passed += c.pass ? 1 : 0;
    latencies.push_back(c.latency_ms);
    cell.tokens += c.usage.total_tokens;
    if (c.cost) {
      cell.cost += *c.cost;
      cell.priced = true;
    }
  }
  cell.rate = WilsonInterval(passed, runs);
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) cell.p50_ms = latencies[latencies.size() / 2];
  return cell;
}

}  // namespace internal::eval

PassRate EvalReport::Rate(int prompt, int provider) const {
  int passed = 0, runs = 0;
  for (const EvalCaseResult& c : cases) {
    if (c.prompt != prompt || c.provider != provider) continue;
    ++runs;
    passed += c.pass ? 1 : 0;
  }
  return WilsonInterval(passed, runs);
}

bool EvalReport::AllPassed() const {
  return std::all_of(cases.begin(), cases.end(), [](const EvalCaseResult& c) { return c.pass; });
}

PairedComparison EvalReport::CompareCells(int prompt_a, int provider_a, int prompt_b,
                                          int provider_b) const {
  std::vector<bool> pa(tests.size(), true), pb(tests.size(), true);
  for (const EvalCaseResult& c : cases) {
    if (c.pass) continue;
    if (c.prompt == prompt_a && c.provider == provider_a) pa[c.test] = false;
    if (c.prompt == prompt_b && c.provider == provider_b) pb[c.test] = false;
  }
  return McNemar(pa, pb);
}

std::vector<std::string> EvalReport::Comparisons() const {
  std::vector<std::string> out;
  auto line = [&](const std::string& a, const std::string& b, const std::string& on,
                  const PairedComparison& c) {
    std::string verdict = c.only_a + c.only_b == 0 ? "the same tests pass"
                          : c.significant()        ? "a significant difference"
                                                   : "no significant difference";
    out.push_back(absl::StrCat(
        a, " vs ", b, " on ", on, ": ", c.only_a, " test(s) pass only with the first, ", c.only_b,
        " only with the second (McNemar exact p = ", absl::StrFormat("%.3g", c.p_value), ", ",
        verdict, ")"));
  };
  const int np = static_cast<int>(prompts.size()), nv = static_cast<int>(providers.size());
  for (int v = 0; v < nv; ++v) {
    for (int a = 0; a < np; ++a) {
      for (int b = a + 1; b < np; ++b)
        line(prompts[a], prompts[b], providers[v], ComparePrompts(a, b, v));
    }
  }
  for (int p = 0; p < np; ++p) {
    for (int a = 0; a < nv; ++a) {
      for (int b = a + 1; b < nv; ++b) {
        line(providers[a], providers[b], prompts[p], CompareProviders(a, b, p));
      }
    }
  }
  return out;
}

JudgeAgreement EvalReport::Agreement() const {
  JudgeAgreement a;
  for (const EvalCaseResult& c : cases) {
    for (const AssertionResult& r : c.assertions) {
      if (!r.second_pass || r.error) continue;
      const bool first = r.pass, second = *r.second_pass;
      (first ? (second ? a.both_pass : a.first_only) : (second ? a.second_only : a.both_fail)) += 1;
    }
  }
  const double n = a.judged();
  if (n == 0) return a;
  const double observed = (a.both_pass + a.both_fail) / n;
  const double first_yes = (a.both_pass + a.first_only) / n;
  const double second_yes = (a.both_pass + a.second_only) / n;
  const double chance = first_yes * second_yes + (1 - first_yes) * (1 - second_yes);
  a.agreement = observed;
  a.kappa = chance >= 1 ? 1 : (observed - chance) / (1 - chance);
  return a;
}

Json EvalReport::ToJson() const {
  Json out = Json::MakeObject();
  out.Set("version", 1);
  out.Set("description", description);
  auto list = [](const std::vector<std::string>& items) {
    Json a = Json::MakeArray();
    for (const std::string& s : items) a.push_back(s);
    return a;
  };
  out.Set("prompts", list(prompts));
  out.Set("providers", list(providers));
  out.Set("tests", list(tests));
  out.Set("repeat", repeat);
  out.Set("seconds", seconds);
  Json summary = Json::MakeArray();
  for (int p = 0; p < static_cast<int>(prompts.size()); ++p) {
    for (int v = 0; v < static_cast<int>(providers.size()); ++v) {
      const PassRate rate = Rate(p, v);
      Json cell = Json::MakeObject();
      cell.Set("prompt", p);
      cell.Set("provider", v);
      cell.Set("passed", rate.passed);
      cell.Set("runs", rate.runs);
      cell.Set("rate", rate.rate);
      cell.Set("low", rate.low);
      cell.Set("high", rate.high);
      summary.push_back(std::move(cell));
    }
  }
  out.Set("summary", std::move(summary));
  if (const JudgeAgreement a = Agreement(); a.judged() > 0) {
    Json agreement = Json::MakeObject();
    agreement.Set("judged", a.judged());
    agreement.Set("both_pass", a.both_pass);
    agreement.Set("first_only", a.first_only);
    agreement.Set("second_only", a.second_only);
    agreement.Set("both_fail", a.both_fail);
    agreement.Set("agreement", a.agreement);
    agreement.Set("kappa", a.kappa);
    out.Set("judge_agreement", std::move(agreement));
  }
  Json all = Json::MakeArray();
  for (const EvalCaseResult& c : cases) {
    Json j = Json::MakeObject();
    j.Set("prompt", c.prompt);
    j.Set("provider", c.provider);
    j.Set("test", c.test);
    j.Set("repeat", c.repeat);
    j.Set("pass", c.pass);
    j.Set("score", c.score);
    j.Set("output", c.output);
    if (!c.error.empty()) j.Set("error", c.error);
    j.Set("latency_ms", c.latency_ms);
    j.Set("usage", UsageToJson(c.usage));
    if (c.cost) j.Set("cost", *c.cost);
    if (c.cache_hit) j.Set("cache_hit", true);
    j.Set("rendered_prompt", c.rendered_prompt);
    Json asserts = Json::MakeArray();
    for (const AssertionResult& r : c.assertions) asserts.push_back(ResultToJson(r));
    j.Set("assertions", std::move(asserts));
    all.push_back(std::move(j));
  }
  out.Set("cases", std::move(all));
  return out;
}

absl::StatusOr<EvalReport> EvalReport::FromJson(const Json& json) {
  if (!json.is_object() || NumberAt(json, "version") != 1) {
    return absl::InvalidArgumentError("not an llmkit eval report (version 1)");
  }
  EvalReport r;
  r.description = StringAt(json, "description");
  LLMKIT_ASSIGN_OR_RETURN(r.prompts, Labels(json, "prompts"));
  LLMKIT_ASSIGN_OR_RETURN(r.providers, Labels(json, "providers"));
  LLMKIT_ASSIGN_OR_RETURN(r.tests, Labels(json, "tests"));
  r.repeat = static_cast<int>(NumberAt(json, "repeat", 1));
  r.seconds = NumberAt(json, "seconds");
  const Json* cases = json.Find("cases");
  if (cases == nullptr || !cases->is_array()) {
    return absl::InvalidArgumentError("an eval report needs a \"cases\" list");
  }
  for (size_t i = 0; i < cases->size(); ++i) {
    const Json& j = cases->as_array()[i];
    if (!j.is_object())
      return absl::InvalidArgumentError(absl::StrCat("cases[", i, "]: not an object"));
    EvalCaseResult c;
    auto index = [&](const char* key, size_t limit, int* out) -> absl::Status {
      const Json* v = j.Find(key);
      if (v == nullptr || !v->is_int() || v->as_int() < 0 ||
          static_cast<size_t>(v->as_int()) >= limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("cases[", i, "].", key, ": missing or out of range"));
      }
      *out = static_cast<int>(v->as_int());
      return absl::OkStatus();
    };
    LLMKIT_RETURN_IF_ERROR(index("prompt", r.prompts.size(), &c.prompt));
    LLMKIT_RETURN_IF_ERROR(index("provider", r.providers.size(), &c.provider));
    LLMKIT_RETURN_IF_ERROR(index("test", r.tests.size(), &c.test));
    c.repeat = static_cast<int>(NumberAt(j, "repeat"));
    c.pass = BoolAt(j, "pass");
    c.score = NumberAt(j, "score");
    c.output = StringAt(j, "output");
    c.error = StringAt(j, "error");
    c.latency_ms = NumberAt(j, "latency_ms");
    if (const Json* usage = j.Find("usage"); usage != nullptr) c.usage = UsageFromJson(*usage);
    if (const Json* cost = j.Find("cost"); cost != nullptr && cost->is_number()) {
      c.cost = cost->as_double();
    }
    c.cache_hit = BoolAt(j, "cache_hit");
    c.rendered_prompt = StringAt(j, "rendered_prompt");
    if (const Json* asserts = j.Find("assertions"); asserts != nullptr && asserts->is_array()) {
      for (const Json& a : asserts->as_array()) {
        AssertionResult ar;
        ar.type = StringAt(a, "type");
        ar.pass = BoolAt(a, "pass");
        ar.score = NumberAt(a, "score");
        ar.reason = StringAt(a, "reason");
        ar.metric = StringAt(a, "metric");
        ar.weight = NumberAt(a, "weight", 1);
        ar.error = BoolAt(a, "error");
        if (const Json* second = a.Find("second_pass"); second != nullptr && second->is_bool()) {
          ar.second_pass = second->as_bool();
        }
        c.assertions.push_back(std::move(ar));
      }
    }
    r.cases.push_back(std::move(c));
  }
  return r;
}

std::string EvalReport::ToJUnitXml() const {
  int total = 0, failures = 0, errors = 0;
  std::string suites;
  for (int p = 0; p < static_cast<int>(prompts.size()); ++p) {
    for (int v = 0; v < static_cast<int>(providers.size()); ++v) {
      const std::string name = absl::StrCat(prompts[p], " × ", providers[v]);
      std::string body;
      int suite_failures = 0, suite_errors = 0;
      double suite_seconds = 0;
      for (int t = 0; t < static_cast<int>(tests.size()); ++t) {
        int passed = 0, runs = 0;
        double seconds = 0;
        std::string details, error;
        for (const EvalCaseResult& c : cases) {
          if (c.prompt != p || c.provider != v || c.test != t) continue;
          ++runs;
          seconds += c.latency_ms / 1000;
          if (c.pass) {
            ++passed;
            continue;
          }
          if (!c.error.empty() && error.empty()) error = c.error;
          absl::StrAppend(&details, "run ", c.repeat + 1, ": output ", c.output.substr(0, 500),
                          "\n");
          for (const AssertionResult& a : c.assertions) {
            if (!a.pass) absl::StrAppend(&details, "  ", a.type, ": ", a.reason, "\n");
          }
          if (!c.error.empty()) absl::StrAppend(&details, "  error: ", c.error, "\n");
        }
        if (runs == 0) continue;
        ++total;
        suite_seconds += seconds;
        absl::StrAppend(&body, "    <testcase classname=\"", EscapeMarkup(name), "\" name=\"",
                        EscapeMarkup(tests[t]), "\" time=\"", absl::StrFormat("%.3f", seconds),
                        "\"");
        if (passed == runs) {
          body += "/>\n";
          continue;
        }
        const bool is_error = passed == 0 && !error.empty();
        (is_error ? suite_errors : suite_failures) += 1;
        absl::StrAppend(&body, ">\n      <", is_error ? "error" : "failure", " message=\"",
                        EscapeMarkup(absl::StrCat(passed, "/", runs, " runs passed",
                                                  is_error ? absl::StrCat(": ", error) : "")),
                        "\">", EscapeMarkup(details), "</", is_error ? "error" : "failure",
                        ">\n    </testcase>\n");
      }
      failures += suite_failures;
      errors += suite_errors;
      absl::StrAppend(&suites, "  <testsuite name=\"", EscapeMarkup(name), "\" tests=\"",
                      tests.size(), "\" failures=\"", suite_failures, "\" errors=\"", suite_errors,
                      "\" time=\"", absl::StrFormat("%.3f", suite_seconds), "\">\n", body,
                      "  </testsuite>\n");
    }
  }
  return absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"",
                      EscapeMarkup(description.empty() ? "llmkit eval" : description),
                      "\" tests=\"", total, "\" failures=\"", failures, "\" errors=\"", errors,
                      "\" time=\"", absl::StrFormat("%.3f", seconds), "\">\n", suites,
                      "</testsuites>\n");
}

std::string EvalReport::ToTable() const {
  std::string out;
  absl::StrAppend(
      &out, absl::StrFormat("%-32s %-28s %9s %17s %9s %10s %10s\n", "prompt", "provider", "passed",
                            "rate [95% CI]", "p50 ms", "tokens", "cost $"));
  auto cut = [](const std::string& s, size_t n) {
    return s.size() <= n ? s : internal::eval::CutUtf8(s, n - 3, "...");
  };
  for (int p = 0; p < static_cast<int>(prompts.size()); ++p) {
    for (int v = 0; v < static_cast<int>(providers.size()); ++v) {
      const internal::eval::CellSummary cell = internal::eval::Summarize(*this, p, v);
      const PassRate& rate = cell.rate;
      absl::StrAppend(
          &out,
          absl::StrFormat("%-32s %-28s %4d/%-4d %6s [%s-%s] %9.0f %10d %10s\n", cut(prompts[p], 32),
                          cut(providers[v], 28), rate.passed, rate.runs, Percent(rate.rate),
                          Percent(rate.low), Percent(rate.high), cell.p50_ms, cell.tokens,
                          cell.priced ? absl::StrFormat("%.4f", cell.cost) : "-"));
    }
  }
  const std::vector<std::string> comparisons = Comparisons();
  for (size_t i = 0; i < comparisons.size() && i < 20; ++i) {
    absl::StrAppend(&out, i == 0 ? "\n" : "", comparisons[i], "\n");
  }
  if (const JudgeAgreement a = Agreement(); a.judged() > 0) {
    absl::StrAppend(&out, "\nJudges agree on ", a.both_pass + a.both_fail, "/", a.judged(),
                    " verdicts (", Percent(a.agreement), ", Cohen's kappa ",
                    absl::StrFormat("%.2f", a.kappa), ")\n");
  }
  int shown = 0;
  for (const EvalCaseResult& c : cases) {
    if (c.pass) continue;
    if (shown++ == 0) out += "\nFailed:\n";
    if (shown > 20) {
      out += "  ...\n";
      break;
    }
    absl::StrAppend(&out, "  ", cut(prompts[c.prompt], 32), " × ", providers[c.provider], " / ",
                    tests[c.test], repeat > 1 ? absl::StrCat(" (run ", c.repeat + 1, ")") : "",
                    "\n");
    if (!c.error.empty()) absl::StrAppend(&out, "    error: ", c.error, "\n");
    for (const AssertionResult& a : c.assertions) {
      if (!a.pass) absl::StrAppend(&out, "    ", a.type, ": ", cut(a.reason, 160), "\n");
    }
  }
  return out;
}

std::vector<std::string> Regressions(const EvalReport& baseline, const EvalReport& current,
                                     double alpha) {
  std::vector<std::string> out;
  const auto before = ByTest(baseline);
  const auto now = ByTest(current);
  for (const auto& [key, counts] : now) {
    auto it = before.find(key);
    if (it == before.end()) continue;
    const auto& [was_passed, was_runs] = it->second;
    const auto& [passed, runs] = counts;
    if (was_passed == was_runs && passed < runs) {
      out.push_back(absl::StrCat(std::get<0>(key), " × ", std::get<1>(key), " / ", std::get<2>(key),
                                 ": passed in ", was_runs, "/", was_runs, " baseline runs, now ",
                                 passed, "/", runs));
    }
  }
  for (int p = 0; p < static_cast<int>(current.prompts.size()); ++p) {
    for (int v = 0; v < static_cast<int>(current.providers.size()); ++v) {
      auto bp = std::find(baseline.prompts.begin(), baseline.prompts.end(), current.prompts[p]);
      auto bv =
          std::find(baseline.providers.begin(), baseline.providers.end(), current.providers[v]);
      if (bp == baseline.prompts.end() || bv == baseline.providers.end()) continue;
      const PassRate was = baseline.Rate(static_cast<int>(bp - baseline.prompts.begin()),
                                         static_cast<int>(bv - baseline.providers.begin()));
      const PassRate is = current.Rate(p, v);
      if (is.rate >= was.rate || was.runs == 0 || is.runs == 0) continue;
      const double p_value = internal::eval::FisherExact(was.passed, was.runs, is.passed, is.runs);
      if (p_value < alpha) {
        out.push_back(absl::StrCat(current.prompts[p], " × ", current.providers[v], ": pass rate ",
                                   Percent(was.rate), " -> ", Percent(is.rate),
                                   " (Fisher exact p = ", absl::StrFormat("%.3g", p_value), ")"));
      }
    }
  }
  return out;
}

}  // namespace llmkit
