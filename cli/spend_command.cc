// llmkit spend LEDGER: what the calls recorded in a ledger file cost, grouped by tags and model.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "args.h"
#include "commands.h"
#include "llmkit/cost.h"
#include "llmkit/json.h"

namespace llmkit::cli {
namespace {

const CommandSpec kSpendSpec = {
    "spend",
    "LEDGER [options]",
    "Prints what the calls in a ledger file (llmkit.Ledger(path=...), Ledger::Open) cost, grouped\n"
    "by tags and model, biggest first, with the total. Reads the file without holding it, so it\n"
    "runs beside the process that writes it. LEDGER may also be a redis:// URL: the totals the\n"
    "processes sharing that Redis server recorded.",
    {"LEDGER"},
    {
        {"--by", "", "KEYS",
         "comma-separated tag keys and 'model' to group by (default user,model)"},
        {"--window", "", "W", "all (default), day or month: the current UTC day or month"},
        {"--where", "", "K=V,...", "only calls with these tags"},
        {"--prefix", "", "P", "the Redis key prefix (default llmkit:spend)"},
        {"--json", "", "", "print JSON instead of a table"},
    }};

Json TotalsJson(const SpendTotals& totals) {
  Json out = Json::MakeObject();
  out.Set("calls", totals.calls);
  out.Set("unpriced_calls", totals.unpriced_calls);
  out.Set("input_tokens", totals.input_tokens);
  out.Set("output_tokens", totals.output_tokens);
  out.Set("input_usd", totals.cost.input);
  out.Set("cached_input_usd", totals.cost.cached_input);
  out.Set("cache_write_usd", totals.cost.cache_write);
  out.Set("output_usd", totals.cost.output);
  out.Set("reasoning_usd", totals.cost.reasoning);
  out.Set("total_usd", totals.cost.total);
  return out;
}

}  // namespace

int RunSpend(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kSpendSpec, argc, argv, 2, &exit);
  if (!args) return exit;
  std::vector<std::string> group_by =
      absl::StrSplit(args->Get("--by", "user,model"), ',', absl::SkipEmpty());
  const std::string window_name = args->Get("--window", "all");
  BudgetWindow window = BudgetWindow::kAllTime;
  if (window_name == "day") {
    window = BudgetWindow::kDay;
  } else if (window_name == "month") {
    window = BudgetWindow::kMonth;
  } else if (window_name != "all") {
    std::fprintf(stderr, "llmkit spend: --window must be all, day or month, not '%s'\n",
                 window_name.c_str());
    return kExitUsage;
  }
  CallTags where;
  for (absl::string_view pair : absl::StrSplit(args->Get("--where"), ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      std::fprintf(stderr, "llmkit spend: --where takes KEY=VALUE pairs, not '%s'\n",
                   std::string(pair).c_str());
      return kExitUsage;
    }
    where[kv[0]] = kv[1];
  }
  const std::string& source = args->positional(0);
  absl::StatusOr<std::shared_ptr<Ledger>> ledger =
      source.starts_with("redis://")
          ? Ledger::Open(
                {.redis_url = source, .redis_prefix = args->Get("--prefix", "llmkit:spend")})
          : Ledger::ReadOnly(source);
  if (!ledger.ok()) {
    std::fprintf(stderr, "llmkit spend: %s\n", std::string(ledger.status().message()).c_str());
    return kExitFailure;
  }
  absl::StatusOr<std::vector<SpendRow>> report = (*ledger)->Report(group_by, window, where);
  if (!report.ok()) {
    std::fprintf(stderr, "llmkit spend: %s\n", std::string(report.status().message()).c_str());
    return kExitFailure;
  }
  const std::vector<SpendRow>& rows = *report;
  SpendTotals total;
  for (const SpendRow& row : rows) {
    total.calls += row.totals.calls;
    total.unpriced_calls += row.totals.unpriced_calls;
    total.input_tokens += row.totals.input_tokens;
    total.output_tokens += row.totals.output_tokens;
    total.cost += row.totals.cost;
  }
  if (args->Has("--json")) {
    Json out = Json::MakeObject();
    out.Set("window", window_name);
    Json keys = Json::MakeArray();
    for (const std::string& key : group_by) keys.push_back(key);
    out.Set("group_by", std::move(keys));
    Json items = Json::MakeArray();
    for (const SpendRow& row : rows) {
      Json item = TotalsJson(row.totals);
      for (size_t i = 0; i < group_by.size(); ++i) item.Set(group_by[i], row.key[i]);
      items.push_back(std::move(item));
    }
    out.Set("rows", std::move(items));
    out.Set("total", TotalsJson(total));
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  std::vector<size_t> widths;
  for (size_t i = 0; i < group_by.size(); ++i) {
    size_t width = std::max<size_t>(group_by[i].size(), 5);
    for (const SpendRow& row : rows) width = std::max(width, row.key[i].size());
    widths.push_back(width);
  }
  auto print_row = [&](const std::vector<std::string>& key, const SpendTotals& totals) {
    for (size_t i = 0; i < key.size(); ++i) {
      std::printf("%-*s  ", static_cast<int>(widths[i]), key[i].empty() ? "-" : key[i].c_str());
    }
    std::printf(
        "%8lld %12lld %12lld %14s%s\n", static_cast<long long>(totals.calls),
        static_cast<long long>(totals.input_tokens), static_cast<long long>(totals.output_tokens),
        absl::StrFormat("$%.6f", totals.cost.total).c_str(),
        totals.unpriced_calls > 0
            ? absl::StrFormat("  (%lld unpriced)", static_cast<long long>(totals.unpriced_calls))
                  .c_str()
            : "");
  };
  for (size_t i = 0; i < group_by.size(); ++i) {
    std::printf("%-*s  ", static_cast<int>(widths[i]), group_by[i].c_str());
  }
  std::printf("%8s %12s %12s %14s\n", "calls", "input tok", "output tok", "cost (USD)");
  for (const SpendRow& row : rows) print_row(row.key, row.totals);
  std::vector<std::string> total_key(group_by.size());
  if (!total_key.empty()) total_key[0] = "total";
  print_row(total_key, total);
  return kExitOk;
}

}  // namespace llmkit::cli
