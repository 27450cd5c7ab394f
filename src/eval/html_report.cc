// EvalReport::ToHtml: one self-contained page (inline CSS and SVG, no network): the pass-rate
// table per prompt × provider with intervals, a chart of the rates with their intervals, latency
// and cost per provider, the test × cell matrix, the tests where prompts disagree side by side,
// and every failure with its reasons.

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "eval/eval_impl.h"
#include "llmkit/eval.h"

namespace llmkit {
namespace {

using internal::eval::CellSummary;
using internal::eval::Summarize;

std::string Html(std::string_view text) { return internal::eval::EscapeMarkup(text); }
std::string Cut(const std::string& text, size_t n) { return internal::eval::CutUtf8(text, n, "…"); }

std::string Pct(double x) { return absl::StrFormat("%.1f%%", 100 * x); }

constexpr char kStyle[] = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
.meta{color:#5b6475}table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid #e3e6ec;padding:5px 8px;text-align:left;vertical-align:top}th{background:#f5f7fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}.pass{background:#e7f6ea}.fail{background:#fdeaea}
.part{background:#fff6dd}pre{white-space:pre-wrap;margin:0;font:12px/1.4 ui-monospace,monospace;max-height:14em;overflow:auto}
.reason{color:#8a1f11;font-size:12px}svg text{font:12px system-ui,sans-serif;fill:#1d2330}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}
.ok{background:#2e8540}.bad{background:#c0392b}
)";

}  // namespace

std::string EvalReport::ToHtml() const {
  const int np = static_cast<int>(prompts.size()), nv = static_cast<int>(providers.size());
  std::vector<CellSummary> cells;
  for (int p = 0; p < np; ++p) {
    for (int v = 0; v < nv; ++v) cells.push_back(Summarize(*this, p, v));
  }
  int passed = 0;
  for (const EvalCaseResult& c : cases) passed += c.pass ? 1 : 0;
  const bool ok = passed == static_cast<int>(cases.size());
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>",
      Html(description.empty() ? "llmkit eval" : description), "</title><style>", kStyle,
      "</style></head><body>\n<h1>", Html(description.empty() ? "llmkit eval" : description),
      "</h1>\n<p class=\"meta\"><span id=\"verdict\" class=\"badge ", ok ? "ok" : "bad", "\">",
      ok ? "all passed" : "failures", "</span> ", passed, "/", cases.size(), " runs passed · ", np,
      " prompt(s) × ", nv, " provider(s) × ", tests.size(), " test(s) × ", repeat, " repeat(s) · ",
      absl::StrFormat("%.1f", seconds), " s</p>\n");

  // The pass-rate table.
  absl::StrAppend(&out,
                  "<h2>Pass rates</h2>\n<table id=\"rates\"><thead><tr><th>prompt</th>"
                  "<th>provider</th><th>passed</th><th>rate</th><th>95% interval</th>"
                  "<th>p50 latency</th><th>tokens</th><th>cost</th></tr></thead><tbody>\n");
  for (int p = 0; p < np; ++p) {
    for (int v = 0; v < nv; ++v) {
      const CellSummary& cell = cells[static_cast<size_t>(p * nv + v)];
      const char* cls = cell.rate.passed == cell.rate.runs ? "pass"
                        : cell.rate.passed == 0            ? "fail"
                                                           : "part";
      absl::StrAppend(&out, "<tr class=\"", cls, "\"><td>", Html(prompts[p]), "</td><td>",
                      Html(providers[v]), "</td><td class=\"num\">", cell.rate.passed, "/",
                      cell.rate.runs, "</td><td class=\"num\">", Pct(cell.rate.rate),
                      "</td><td class=\"num\">", Pct(cell.rate.low), " – ", Pct(cell.rate.high),
                      "</td><td class=\"num\">", absl::StrFormat("%.0f ms", cell.p50_ms),
                      "</td><td class=\"num\">", cell.tokens, "</td><td class=\"num\">",
                      cell.priced ? absl::StrFormat("$%.4f", cell.cost) : "–", "</td></tr>\n");
    }
  }
  out += "</tbody></table>\n";

  // Chart: each cell's rate as a bar, its interval as a whisker.
  const int row = 28, label = 330, width = 820, plot = width - label - 40;
  const int height = row * np * nv + 40;
  absl::StrAppend(&out, "<h2>Pass rate with 95% interval</h2>\n<svg id=\"rate-chart\" width=\"",
                  width, "\" height=\"", height, "\" viewBox=\"0 0 ", width, " ", height,
                  "\" role=\"img\" aria-label=\"pass rates\">\n");
  for (int tick = 0; tick <= 4; ++tick) {
    const int x = label + plot * tick / 4;
    absl::StrAppend(&out, "<line x1=\"", x, "\" y1=\"0\" x2=\"", x, "\" y2=\"", height - 24,
                    "\" stroke=\"#e3e6ec\"/><text text-anchor=\"middle\" x=\"", x, "\" y=\"",
                    height - 8, "\">", tick * 25, "%</text>\n");
  }
  int y = 6;
  for (int p = 0; p < np; ++p) {
    for (int v = 0; v < nv; ++v) {
      const CellSummary& cell = cells[static_cast<size_t>(p * nv + v)];
      const int w = std::max(2, static_cast<int>(plot * cell.rate.rate));
      const int lo = label + static_cast<int>(plot * cell.rate.low);
      const int hi = label + static_cast<int>(plot * cell.rate.high);
      absl::StrAppend(&out, "<text x=\"4\" y=\"", y + 15, "\">",
                      Html(Cut(prompts[p] + " × " + providers[v], 48)),
                      "</text><rect class=\"bar\" x=\"", label, "\" y=\"", y + 3, "\" width=\"", w,
                      "\" height=\"16\" fill=\"", cell.rate.rate >= 0.999 ? "#2e8540" : "#c0392b",
                      "\" opacity=\"0.8\"/><line x1=\"", lo, "\" y1=\"", y + 11, "\" x2=\"", hi,
                      "\" y2=\"", y + 11, "\" stroke=\"#1d2330\" stroke-width=\"2\"/><line x1=\"",
                      lo, "\" y1=\"", y + 5, "\" x2=\"", lo, "\" y2=\"", y + 17,
                      "\" stroke=\"#1d2330\"/><line x1=\"", hi, "\" y1=\"", y + 5, "\" x2=\"", hi,
                      "\" y2=\"", y + 17, "\" stroke=\"#1d2330\"/>\n");
      y += row;
    }
  }
  out += "</svg>\n";

  // Chart: p50 latency and cost per provider (over all prompts).
  std::vector<double> latency, cost;
  for (int v = 0; v < nv; ++v) {
    const CellSummary all = Summarize(*this, /*prompt=*/-1, v);
    latency.push_back(all.p50_ms);
    cost.push_back(all.cost);
  }
  const double max_latency = std::max(1.0, *std::max_element(latency.begin(), latency.end()));
  const double max_cost = std::max(1e-12, *std::max_element(cost.begin(), cost.end()));
  const int pheight = row * nv * 2 + 16;
  absl::StrAppend(&out,
                  "<h2>Latency and cost per provider</h2>\n<svg id=\"provider-chart\" width=\"",
                  width, "\" height=\"", pheight, "\" viewBox=\"0 0 ", width, " ", pheight,
                  "\" role=\"img\" aria-label=\"latency and cost\">\n");
  y = 4;
  for (int v = 0; v < nv; ++v) {
    const size_t i = static_cast<size_t>(v);
    const int lw = std::max(2, static_cast<int>((plot - 120) * latency[i] / max_latency));
    const int cw = std::max(2, static_cast<int>((plot - 120) * cost[i] / max_cost));
    absl::StrAppend(&out, "<text x=\"4\" y=\"", y + 15, "\">", Html(Cut(providers[v], 40)),
                    " p50</text><rect class=\"bar\" x=\"", label, "\" y=\"", y + 3, "\" width=\"",
                    lw, "\" height=\"16\" fill=\"#3867d6\"/><text x=\"", label + lw + 6, "\" y=\"",
                    y + 15, "\">", absl::StrFormat("%.0f ms", latency[i]), "</text>\n");
    y += row;
    absl::StrAppend(&out, "<text x=\"4\" y=\"", y + 15, "\">", Html(Cut(providers[v], 40)),
                    " cost</text><rect class=\"bar\" x=\"", label, "\" y=\"", y + 3, "\" width=\"",
                    cw, "\" height=\"16\" fill=\"#8854d0\"/><text x=\"", label + cw + 6, "\" y=\"",
                    y + 15, "\">", absl::StrFormat("$%.4f", cost[i]), "</text>\n");
    y += row;
  }
  out += "</svg>\n";

  // Paired comparisons of prompts and of providers.
  if (const std::vector<std::string> comparisons = Comparisons(); !comparisons.empty()) {
    out += "<h2>Comparisons</h2>\n<ul id=\"comparisons\">\n";
    for (const std::string& c : comparisons) absl::StrAppend(&out, "<li>", Html(c), "</li>\n");
    out += "</ul>\n";
  }

  // The test × cell matrix.
  absl::StrAppend(&out, "<h2>Tests</h2>\n<table id=\"matrix\"><thead><tr><th>test</th>");
  for (int p = 0; p < np; ++p) {
    for (int v = 0; v < nv; ++v) {
      absl::StrAppend(&out, "<th>", Html(Cut(prompts[p], 40)), "<br>", Html(providers[v]), "</th>");
    }
  }
  out += "</tr></thead><tbody>\n";
  std::map<std::tuple<int, int, int>, std::pair<int, int>> counts;
  std::map<std::tuple<int, int, int>, const EvalCaseResult*> first;
  for (const EvalCaseResult& c : cases) {
    auto& [ok_runs, runs] = counts[{c.test, c.prompt, c.provider}];
    ok_runs += c.pass ? 1 : 0;
    ++runs;
    first.emplace(std::tuple<int, int, int>{c.test, c.prompt, c.provider}, &c);
  }
  for (int t = 0; t < static_cast<int>(tests.size()); ++t) {
    absl::StrAppend(&out, "<tr><td>", Html(tests[t]), "</td>");
    for (int p = 0; p < np; ++p) {
      for (int v = 0; v < nv; ++v) {
        const auto [ok_runs, runs] = counts[{t, p, v}];
        const char* cls = ok_runs == runs ? "pass" : ok_runs == 0 ? "fail" : "part";
        absl::StrAppend(&out, "<td class=\"num ", cls, "\">", ok_runs, "/", runs, "</td>");
      }
    }
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";

  // Where two prompts disagree on a test (same provider): their outputs side by side.
  std::string diffs;
  for (int v = 0; v < nv; ++v) {
    for (int a = 0; a < np; ++a) {
      for (int b = a + 1; b < np; ++b) {
        for (int t = 0; t < static_cast<int>(tests.size()); ++t) {
          const auto ca = counts[{t, a, v}], cb = counts[{t, b, v}];
          if ((ca.first == ca.second) == (cb.first == cb.second)) continue;
          const EvalCaseResult* x = first[{t, a, v}];
          const EvalCaseResult* z = first[{t, b, v}];
          if (x == nullptr || z == nullptr) continue;
          absl::StrAppend(
              &diffs, "<tr><td>", Html(tests[t]), "<br><span class=\"meta\">", Html(providers[v]),
              "</span></td><td class=\"", ca.first == ca.second ? "pass" : "fail", "\"><pre>",
              Html(Cut(x->error.empty() ? x->output : x->error, 2000)), "</pre></td><td class=\"",
              cb.first == cb.second ? "pass" : "fail", "\"><pre>",
              Html(Cut(z->error.empty() ? z->output : z->error, 2000)), "</pre></td></tr>\n");
        }
        if (!diffs.empty()) {
          absl::StrAppend(&out, "<h2>", Html(Cut(prompts[a], 60)), " vs ",
                          Html(Cut(prompts[b], 60)),
                          "</h2>\n<table class=\"diff\"><thead><tr><th>test</th><th>",
                          Html(Cut(prompts[a], 60)), "</th><th>", Html(Cut(prompts[b], 60)),
                          "</th></tr></thead><tbody>\n", diffs, "</tbody></table>\n");
          diffs.clear();
        }
      }
    }
  }

  // Every failed run with its reasons.
  std::string failures;
  int shown = 0;
  for (const EvalCaseResult& c : cases) {
    if (c.pass || ++shown > 500) continue;
    std::string reasons;
    if (!c.error.empty()) absl::StrAppend(&reasons, "error: ", c.error, "\n");
    for (const AssertionResult& a : c.assertions) {
      if (!a.pass) absl::StrAppend(&reasons, a.type, ": ", a.reason, "\n");
    }
    absl::StrAppend(&failures, "<tr><td>", Html(tests[c.test]),
                    repeat > 1 ? absl::StrCat(" (run ", c.repeat + 1, ")") : "", "</td><td>",
                    Html(Cut(prompts[c.prompt], 40)), "<br>", Html(providers[c.provider]),
                    "</td><td><pre>", Html(Cut(c.output, 2000)),
                    "</pre></td><td class=\"reason\"><pre>", Html(Cut(reasons, 2000)),
                    "</pre></td></tr>\n");
  }
  if (!failures.empty()) {
    absl::StrAppend(&out,
                    "<h2>Failures</h2>\n<table id=\"failures\"><thead><tr><th>test</th>"
                    "<th>prompt / provider</th><th>output</th><th>why</th></tr></thead><tbody>\n",
                    failures, "</tbody></table>\n");
  }
  out +=
      "<p class=\"meta\">Made by llmkit eval. Intervals: Wilson score, 95%.</p>\n</body></html>\n";
  return out;
}

}  // namespace llmkit
