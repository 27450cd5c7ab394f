// Prices, the ledger and budgets: the bundled table and LiteLLM-format files, name resolution,
// the differential test against npm @pydantic/genai-prices, the ledger's file across restarts
// and a kill -9, and budgets under 64 concurrent calls.

#include "llmkit/cost.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/guard.h"
#include "llmkit/observe.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::testing::HasSubstr;

std::string PeersDir() {
  const char* env = std::getenv("LLMKIT_PEERS_DIR");
  return env != nullptr && *env != '\0' ? env : LLMKIT_PEERS_DIR_DEFAULT;
}

bool HavePeer(const std::string& package) {
  return std::filesystem::exists(PeersDir() + "/node_modules/" + package + "/package.json");
}

#define REQUIRE_PEER(package)                                                        \
  if (!HavePeer(package)) {                                                          \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no npm " package; \
    GTEST_SKIP() << "no npm " package ": run scripts/install-test-peers.sh";         \
  }

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "llmkit_cost_" + std::to_string(getpid()) + "_" + name;
}

Usage MakeUsage(int64_t input, int64_t output, int64_t cached = 0, int64_t written = 0,
                int64_t reasoning = 0) {
  Usage usage;
  usage.input_tokens = input;
  usage.output_tokens = output;
  usage.total_tokens = input + output;
  usage.cached_input_tokens = cached;
  usage.cache_creation_input_tokens = written;
  usage.reasoning_tokens = reasoning;
  return usage;
}

void ExpectNear(double actual, double expected, const std::string& what) {
  EXPECT_LE(std::fabs(actual - expected), 1e-9 * std::max(std::fabs(expected), 1e-12))
      << what << ": " << actual << " vs " << expected;
}

TEST(PriceTable, BundledTablePricesCachedTokensAtTheCacheRate) {
  auto table = PriceTable::Default();
  ASSERT_GT(table->size(), 400u);
  // PEERS.md: genai-prices' calcPrice gives $0.00725 for gpt-4o, 1000 input of which 200 cached,
  // 500 output. The cached 200 are billed at $1.25/M, not at the $2.5/M input price.
  Cost cost = table->Price("gpt-4o", MakeUsage(1000, 500, 200));
  EXPECT_TRUE(cost.priced);
  ExpectNear(cost.total, 0.00725, "total");
  ExpectNear(cost.input, 800 * 2.5e-6, "input");
  ExpectNear(cost.cached_input, 200 * 1.25e-6, "cached");
  ExpectNear(cost.output, 500 * 10e-6, "output");
  // Anthropic: cache reads and cache writes each at their own price.
  Cost claude = table->Price("claude-3-5-sonnet-20241022", MakeUsage(4740, 255, 0, 4735));
  ExpectNear(claude.cache_write, 4735 * 3.75e-6, "cache write");
  ExpectNear(claude.input, 5 * 3e-6, "uncached input");
  ExpectNear(claude.total, 5 * 3e-6 + 4735 * 3.75e-6 + 255 * 15e-6, "total");
}

TEST(PriceTable, NamesResolveAsLiteLLMDoesAndUnknownModelsAreUnpriced) {
  auto table = PriceTable::Default();
  auto name = [&](std::string_view model, std::string_view provider = {}) {
    auto match = table->Find(model, provider);
    return match ? std::string(match->name) : std::string("(unpriced)");
  };
  EXPECT_EQ(name("gpt-4o"), "gpt-4o");
  EXPECT_EQ(name("GPT-4o"), "gpt-4o");
  EXPECT_EQ(name("openai/gpt-4o"), "gpt-4o");         // Provider prefix of the entry's provider.
  EXPECT_EQ(name("anthropic/gpt-4o"), "(unpriced)");  // Not that provider's model.
  EXPECT_EQ(name("gemini-2.5-pro", "gemini"), "gemini/gemini-2.5-pro");
  EXPECT_EQ(name("gemini/gemini-2.5-pro"), "gemini/gemini-2.5-pro");
  // Dated snapshots: their own entry where the table has one (gpt-4o-2024-05-13 was dearer)...
  EXPECT_EQ(name("gpt-4o-2024-05-13"), "gpt-4o-2024-05-13");
  EXPECT_GT(table->Price("gpt-4o-2024-05-13", MakeUsage(1000, 0)).total,
            table->Price("gpt-4o", MakeUsage(1000, 0)).total);
  // ... the base entry only where it says every snapshot shares its price ...
  EXPECT_EQ(name("claude-3-5-sonnet-20241022"), "claude-3-5-sonnet");
  EXPECT_EQ(name("claude-3-5-sonnet-latest"), "claude-3-5-sonnet");
  // ... and never a guess: gpt-4o's entry does not cover an unknown future snapshot.
  EXPECT_EQ(name("gpt-4o-2099-01-01"), "(unpriced)");
  Cost unknown = table->Price("my-local-llama", MakeUsage(100, 10));
  EXPECT_FALSE(unknown.priced);
  EXPECT_EQ(unknown.unpriced_model, "my-local-llama");
  EXPECT_EQ(unknown.total, 0);
  EXPECT_TRUE(table->Price("my-local-llama", MakeUsage(0, 0)).priced);  // Nothing used.
}

TEST(PriceTable, TiersReasoningAndOverrides) {
  absl::StatusOr<PriceTable> table = PriceTable::Parse(R"({
    "sample_spec": {"input_cost_per_token": 1},
    "tiered": {"input_cost_per_token": 1e-6, "input_cost_per_token_above_128k_tokens": 2e-6,
               "output_cost_per_token": 4e-6, "output_cost_per_token_above_128k_tokens": 6e-6,
               "output_cost_per_reasoning_token": 5e-6, "litellm_provider": "x", "mode": "chat"},
    "odd": {"input_cost_per_token": "3e-6", "output_cost_per_token": 1e-6,
            "input_cost_per_token_above_199999_tokens": 9e-6}
  })");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2u);
  // At the threshold: the base price; one token above: every input and output token re-priced.
  ExpectNear(table->Price("tiered", MakeUsage(128000, 10)).total, 128000 * 1e-6 + 10 * 4e-6, "at");
  ExpectNear(table->Price("tiered", MakeUsage(128001, 10)).total, 128001 * 2e-6 + 10 * 6e-6,
             "above");
  Cost reasoning = table->Price("tiered", MakeUsage(10, 100, 0, 0, 60));
  ExpectNear(reasoning.reasoning, 60 * 5e-6, "reasoning");
  ExpectNear(reasoning.output, 40 * 4e-6, "plain output");
  ExpectNear(table->Price("odd", MakeUsage(200000, 0)).total, 200000 * 9e-6, "exact threshold");
  ASSERT_TRUE(table
                  ->Set("my-local-llama", Json::Parse(R"({"input_cost_per_token": 0,
      "output_cost_per_token": 0})")
                                              .value())
                  .ok());
  EXPECT_TRUE(table->Price("my-local-llama", MakeUsage(100, 10)).priced);
}

TEST(PriceTable, BadTablesNameTheEntryAndField) {
  auto error = [](std::string_view json) { return PriceTable::Parse(json).status(); };
  EXPECT_THAT(error(R"({"m": {"input_cost_per_token": -1}})").message(),
              HasSubstr("model \"m\" field \"input_cost_per_token\""));
  EXPECT_THAT(error(R"({"m": {"input_cost_per_token_above_12q_tokens": 1}})").message(),
              HasSubstr("_above_<N>k_tokens"));
  EXPECT_THAT(error(R"({"m": {"input_cost_per_token_above_1k_tokens": 1}})").message(),
              HasSubstr("a tier without a base price"));
  EXPECT_THAT(error(R"({"m": {"output_cost_per_token": "cheap"}})").message(),
              HasSubstr("not a number"));
  EXPECT_THAT(error(R"([1])").message(), HasSubstr("expected an object"));
  absl::Status bad_json = error(R"({"m": {)");
  EXPECT_EQ(bad_json.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(bad_json.GetPayload(internal::ToAbsl(kPayloadByteOffset)).has_value());
  EXPECT_EQ(PriceTable::Load("/nonexistent/prices.json").status().code(),
            absl::StatusCode::kNotFound);
}

// One usage case of the differential test.
struct Case {
  std::string model;
  std::string provider;        // llmkit's (LiteLLM's) provider name.
  std::string genai_provider;  // genai-prices' provider id.
  Usage usage;
};

std::vector<Case> GenerateCases() {
  const std::vector<std::tuple<std::string, std::string, std::string>> models = {
      {"gpt-4o", "openai", "openai"},
      {"gpt-4o-mini", "openai", "openai"},
      {"gpt-4.1", "openai", "openai"},
      {"gpt-4.1-mini", "openai", "openai"},
      {"o3", "openai", "openai"},
      {"o4-mini", "openai", "openai"},
      {"gpt-5", "openai", "openai"},
      {"gpt-5-mini", "openai", "openai"},
      {"gpt-5.4", "openai", "openai"},
      {"claude-3-5-sonnet-20241022", "anthropic", "anthropic"},
      {"claude-3-5-haiku-20241022", "anthropic", "anthropic"},
      {"claude-sonnet-4-5-20250929", "anthropic", "anthropic"},
      {"claude-opus-4-1-20250805", "anthropic", "anthropic"},
      {"claude-haiku-4-5", "anthropic", "anthropic"},
      {"gemini-2.5-pro", "gemini", "google"},
      {"gemini-2.5-flash", "gemini", "google"},
      {"gemini-2.0-flash", "gemini", "google"},
      {"mistral-large-latest", "mistral", "mistral"},
      {"mistral-small-latest", "mistral", "mistral"},
      {"deepseek-chat", "deepseek", "deepseek"},
      {"deepseek-reasoner", "deepseek", "deepseek"},
      {"grok-3", "xai", "x-ai"},
      {"grok-4", "xai", "x-ai"},
      {"sonar-deep-research", "perplexity", "perplexity"},  // Prices reasoning tokens apart.
  };
  std::mt19937_64 random(20261203);
  std::vector<Case> cases;
  for (const auto& [model, provider, genai] : models) {
    for (int i = 0; i < 24; ++i) {
      // Below and above the tier thresholds (128k, 200k, 272k) and near them.
      static constexpr int64_t kSizes[] = {0,       1,       999,     12'345,  127'999,
                                           128'000, 128'001, 199'999, 200'000, 200'001,
                                           271'999, 272'000, 272'001, 500'000};
      const int64_t input =
          i < 14 ? kSizes[i] : std::uniform_int_distribution<int64_t>(0, 600'000)(random);
      const int64_t output = std::uniform_int_distribution<int64_t>(0, 40'000)(random);
      int64_t cached = 0;
      int64_t written = 0;
      if (i % 3 == 1) cached = input / 3;
      if (i % 4 == 2) written = input / 5;
      if (i % 6 == 5) {
        cached = input / 7;
        written = input / 9;
      }
      // Reasoning tokens are part of the output tokens.
      const int64_t reasoning = i % 5 == 3 ? output / 2 : 0;
      cases.push_back(
          {model, provider, genai, MakeUsage(input, output, cached, written, reasoning)});
    }
  }
  return cases;
}

Json TokenPriceJson(const std::optional<TokenPrice>& price) {
  if (!price) return Json();
  Json out = Json::MakeObject();
  out.Set("per_token", price->per_token);
  Json above = Json::MakeArray();
  for (const auto& [threshold, value] : price->above) {
    Json tier = Json::MakeArray();
    tier.push_back(threshold);
    tier.push_back(value);
    above.push_back(std::move(tier));
  }
  out.Set("above", std::move(above));
  return out;
}

// Runs genai_prices_check.mjs on `cases` priced by `table`; returns its results.
Json RunOracle(const std::vector<Case>& cases, const PriceTable& table) {
  Json input = Json::MakeArray();
  for (const Case& c : cases) {
    Json item = Json::MakeObject();
    item.Set("model", c.model);
    item.Set("genai_provider", c.genai_provider);
    Json usage = Json::MakeObject();
    usage.Set("input", c.usage.input_tokens);
    usage.Set("output", c.usage.output_tokens);
    usage.Set("cached_input", c.usage.cached_input_tokens);
    usage.Set("cache_write", c.usage.cache_creation_input_tokens);
    usage.Set("reasoning", c.usage.reasoning_tokens);
    item.Set("usage", std::move(usage));
    if (auto match = table.Find(c.model, c.provider)) {
      Json ours = Json::MakeObject();
      ours.Set("input", TokenPriceJson(match->price->input));
      ours.Set("cache_read", TokenPriceJson(match->price->cache_read));
      ours.Set("cache_write", TokenPriceJson(match->price->cache_write));
      ours.Set("output", TokenPriceJson(match->price->output));
      ours.Set("reasoning", TokenPriceJson(match->price->reasoning));
      item.Set("ours", std::move(ours));
    }
    input.push_back(std::move(item));
  }
  const std::string file = TempPath("cases.json");
  std::ofstream(file) << input.Dump();
  const std::string command =
      absl::StrCat("node ", LLMKIT_TEST_SOURCE_DIR, "/cost/genai_prices_check.mjs ", PeersDir(),
                   " ", file, " 2>&1");
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Json();
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << out;
  std::filesystem::remove(file);
  absl::StatusOr<Json> parsed = Json::Parse(out);
  EXPECT_TRUE(parsed.ok()) << out.substr(0, 2000);
  return parsed.ok() ? *parsed : Json();
}

// Compares llmkit's totals with calcPrice's: to 1e-9 relative where both price the model alike;
// where the tables disagree, reports it and compares llmkit with calcPrice applied to llmkit's
// own prices. Returns {agreeing cases, disagreeing cases, providers with agreeing cases}.
std::tuple<int, int, std::set<std::string>> Compare(const std::vector<Case>& cases,
                                                    const PriceTable& table) {
  Json results = RunOracle(cases, table);
  EXPECT_EQ(results.size(), cases.size());
  int agree = 0;
  int disagree = 0;
  std::set<std::string> providers;
  std::set<std::string> reported;
  for (size_t i = 0; i < cases.size() && i < results.size(); ++i) {
    const Case& c = cases[i];
    const Json& result = results.as_array()[i];
    Cost ours = table.Price(c.model, c.usage, c.provider);
    const Json* theirs = result.Find("total");
    if (!ours.priced) {
      ADD_FAILURE() << c.model << " is unpriced in llmkit's table";
      continue;
    }
    const Json* own = result.Find("own_total");
    if (own == nullptr || !own->is_number()) {
      ADD_FAILURE() << c.model << ": no calcPrice total on llmkit's prices";
      continue;
    }
    // The formula: always, against llmkit's own prices.
    const std::string what =
        absl::StrCat(c.model, " usage ", c.usage.input_tokens, "/", c.usage.cached_input_tokens,
                     "/", c.usage.cache_creation_input_tokens, "/", c.usage.output_tokens);
    ExpectNear(ours.total, own->as_double(), what + " (formula on llmkit's prices)");
    if (theirs == nullptr || !theirs->is_number()) {
      if (reported.insert(c.model).second) {
        std::printf("  genai-prices does not price %s\n", c.model.c_str());
      }
      ++disagree;
      continue;
    }
    const double relative =
        std::fabs(ours.total - theirs->as_double()) / std::max(theirs->as_double(), 1e-12);
    if (relative <= 1e-9) {
      ++agree;
      providers.insert(c.provider);
    } else {
      ++disagree;
      if (reported.insert(c.model).second) {
        std::printf("  tables disagree on %s: llmkit $%.9f, genai-prices $%.9f (%s)\n",
                    c.model.c_str(), ours.total, theirs->as_double(), what.c_str());
      }
    }
  }
  return {agree, disagree, providers};
}

TEST(PriceTable, DifferentialAgainstGenaiPricesCalcPrice) {
  REQUIRE_PEER("@pydantic/genai-prices");
  std::vector<Case> cases = GenerateCases();
  ASSERT_GE(cases.size(), 500u);
  auto [agree, disagree, providers] = Compare(cases, *PriceTable::Default());
  std::printf("bundled table: %d of %zu usages agree with calcPrice to 1e-9, on %zu providers\n",
              agree, cases.size(), providers.size());
  // The bundled table comes from genai-prices' data: every case must agree.
  EXPECT_EQ(disagree, 0);
  EXPECT_GE(providers.size(), 4u);
}

TEST(PriceTable, DifferentialWithAUsersOlderLiteLLMFile) {
  REQUIRE_PEER("@pydantic/genai-prices");
  REQUIRE_PEER("llm-cost");
  // npm llm-cost ships an older copy of LiteLLM's own file: a user's table whose prices differ.
  auto table =
      PriceTable::Load(PeersDir() + "/node_modules/llm-cost/model_prices_and_context_window.json");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_GT((*table)->size(), 400u);
  std::vector<Case> cases;
  for (const Case& c : GenerateCases()) {
    if ((*table)->Find(c.model, c.provider)) cases.push_back(c);
  }
  ASSERT_GE(cases.size(), 100u);
  auto [agree, disagree, providers] = Compare(cases, **table);
  std::printf(
      "llm-cost's table: %d usages agree, %d differ (reported above; each checked "
      "against calcPrice on llmkit's prices)\n",
      agree, disagree);
  EXPECT_GT(agree + disagree, 0);
}

// --- Ledger ---

struct FakeNow {
  std::shared_ptr<std::atomic<int64_t>> ms =
      std::make_shared<std::atomic<int64_t>>(int64_t{1'795'435'200'000});  // 2026-11-23 12:00 UTC.
  std::function<int64_t()> fn() const {
    return [ms = ms] { return ms->load(); };
  }
};

SpendRecord Record(FakeNow& now, std::string model, CallTags tags, double usd) {
  SpendRecord record;
  record.unix_ms = now.ms->load();
  record.model = std::move(model);
  record.tags = std::move(tags);
  record.usage = MakeUsage(100, 10);
  record.cost.input = usd;
  record.cost.total = usd;
  return record;
}

TEST(Ledger, TotalsByTagModelAndWindow) {
  FakeNow now;
  auto ledger = Ledger::Open({.now_unix_ms = now.fn()}).value();
  ASSERT_TRUE(
      ledger->Record(Record(now, "gpt-4o", {{"user", "alice"}, {"feature", "chat"}}, 1)).ok());
  ASSERT_TRUE(
      ledger->Record(Record(now, "gpt-4o", {{"user", "bob"}, {"feature", "chat"}}, 2)).ok());
  ASSERT_TRUE(
      ledger->Record(Record(now, "claude-haiku-4-5", {{"user", "alice"}, {"feature", "rag"}}, 4))
          .ok());
  EXPECT_EQ(ledger->Spent({{"user", "alice"}}, BudgetWindow::kDay).value().cost.total, 5);
  EXPECT_EQ(ledger->Spent({{"feature", "chat"}}, BudgetWindow::kMonth).value().calls, 2);
  EXPECT_EQ(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total, 7);
  auto rows = ledger->Report({"user", "model"}, BudgetWindow::kAllTime).value();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, (std::vector<std::string>{"alice", "claude-haiku-4-5"}));
  // A new UTC day: the day's window is empty, the month's is not; a new month empties it too.
  *now.ms += 86'400'000;
  EXPECT_EQ(ledger->Spent({}, BudgetWindow::kDay).value().calls, 0);
  EXPECT_EQ(ledger->Spent({}, BudgetWindow::kMonth).value().calls, 3);
  *now.ms += 8 * 86'400'000;  // 2026-12-02.
  EXPECT_EQ(ledger->Spent({}, BudgetWindow::kMonth).value().calls, 0);
  EXPECT_EQ(ledger->Spent({}, BudgetWindow::kAllTime).value().calls, 3);
}

TEST(Ledger, FileSurvivesRestartsAndRefusesASecondWriter) {
  const std::string path = TempPath("restart.ledger");
  std::filesystem::remove(path);
  FakeNow now;
  {
    auto ledger = Ledger::Open({.path = path, .now_unix_ms = now.fn()}).value();
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(ledger
                      ->Record(Record(now, "gpt-4o", {{"user", "u" + std::to_string(i % 7)}},
                                      0.001 * (i + 1)))
                      .ok());
    }
    // Hostile tags: quotes, control characters, invalid UTF-8 (kept with U+FFFD in its place).
    ASSERT_TRUE(ledger->Record(Record(now, "m\"\n", {{"user", "a\"b\\c\x01\xff"}}, 0)).ok());
    absl::Status second = Ledger::Open({.path = path}).status();
    EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
    EXPECT_THAT(second.message(), HasSubstr("held by another process"));
    auto reader = Ledger::ReadOnly(path);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->records(), 101);
  }
  auto reopened = Ledger::Open({.path = path, .now_unix_ms = now.fn()}).value();
  EXPECT_EQ(reopened->records(), 101);
  EXPECT_EQ(
      reopened->Spent({{"user", "a\"b\\c\x01\xef\xbf\xbd"}}, BudgetWindow::kAllTime).value().calls,
      1);
  ExpectNear(reopened->Spent({}, BudgetWindow::kAllTime).value().cost.total, 0.001 * 5050, "total");
  ExpectNear(reopened->Spent({{"user", "u3"}}, BudgetWindow::kAllTime).value().cost.total,
             0.001 * (4 + 11 + 18 + 25 + 32 + 39 + 46 + 53 + 60 + 67 + 74 + 81 + 88 + 95 + 0),
             "u3");
  reopened.reset();

  // A torn last line (a crash mid-write) is dropped and the file repaired; damage elsewhere is
  // kDataLoss naming the line.
  { std::ofstream(path, std::ios::app) << "0badc0de {\"t\": 1, \"mod"; }
  auto repaired = Ledger::Open({.path = path, .now_unix_ms = now.fn()}).value();
  EXPECT_EQ(repaired->records(), 101);
  EXPECT_EQ(repaired->torn_records(), 1);
  ASSERT_TRUE(repaired->Record(Record(now, "gpt-4o", {}, 1)).ok());
  repaired.reset();
  EXPECT_EQ(Ledger::Open({.path = path}).value()->records(), 102);
  {
    std::fstream file(path, std::ios::in | std::ios::out);
    file.seekp(300);
    file.put('#');
  }
  absl::Status damaged = Ledger::Open({.path = path}).status();
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss) << damaged;
  EXPECT_THAT(damaged.message(), HasSubstr("line 2"));
  std::filesystem::remove(path);
}

TEST(Ledger, KillNineLosesAtMostTheCallInFlight) {
  const std::string path = TempPath("kill.ledger");
  for (int round = 0; round < 5; ++round) {
    std::filesystem::remove(path);
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      auto ledger = Ledger::Open({.path = path});
      if (!ledger.ok()) _exit(2);
      for (int64_t i = 0;; ++i) {
        SpendRecord record;
        record.unix_ms = 1'795'435'200'000;
        record.model = "gpt-4o";
        record.tags = {{"seq", std::to_string(i)}};
        record.cost.total = 0.5;
        if (!(*ledger)->Record(record).ok()) _exit(3);
        // Tell the parent how many records returned (were acknowledged to the caller).
        if (write(pipe_fds[1], &i, sizeof i) != sizeof i) _exit(4);
      }
    }
    close(pipe_fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + 17 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    int64_t acknowledged = -1;
    int64_t seq = 0;
    while (read(pipe_fds[0], &seq, sizeof seq) == sizeof seq) acknowledged = seq;
    close(pipe_fds[0]);
    ASSERT_GE(acknowledged, 0) << "the child wrote nothing";
    auto ledger = Ledger::Open({.path = path});
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    // Every acknowledged record is there; at most the one being written when killed is extra.
    const int64_t records = (*ledger)->records();
    EXPECT_GE(records, acknowledged + 1);
    EXPECT_LE(records, acknowledged + 2);
    EXPECT_LE((*ledger)->torn_records(), 1);
    ExpectNear((*ledger)->Spent({}, BudgetWindow::kAllTime).value().cost.total, 0.5 * records,
               "total");
  }
  std::filesystem::remove(path);
}

// --- Budgets ---

// Answers every call with a fixed usage, counting calls; optionally slow.
class PricedFake final : public ChatModel, public EmbeddingModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    calls.fetch_add(1);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail) return absl::UnavailableError("down");
    ChatResponse response;
    response.model = reported_model.empty() ? request.model : reported_model;
    response.text = "ok";
    response.usage = usage;
    response.spent_attempts = spent;
    (void)call;
    return response;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    StreamEvent event;
    event.text = "ok";
    if (!on_event(event)) return absl::CancelledError("stopped");
    return Complete(request, call);
  }
  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext&) override {
    calls.fetch_add(1);
    Embeddings out;
    out.dimensions = 1;
    out.values.assign(inputs.size(), 0.5f);
    out.model = options.model;
    out.usage.input_tokens = static_cast<int64_t>(inputs.size()) * 10;
    out.usage.total_tokens = out.usage.input_tokens;
    return out;
  }

  std::atomic<int> calls{0};
  Usage usage = MakeUsage(1000, 100);
  std::vector<SpentAttempt> spent;
  std::string reported_model;
  std::chrono::milliseconds delay{0};
  bool fail = false;
};

std::shared_ptr<ChatModel> Chat(const std::shared_ptr<PricedFake>& fake) { return fake; }

ChatRequest Ask(std::string model, int64_t max_tokens = 100) {
  ChatRequest request;
  request.model = std::move(model);
  request.messages = {{"user", std::string(400, 'x')}};  // ~100 tokens by bytes / 4.
  request.max_tokens = max_tokens;
  return request;
}

CallContext Tagged(CallTags tags) {
  CallContext call;
  call.tags = std::move(tags);
  return call;
}

TEST(WithBudget, EveryResponseCarriesItsCostFailedAttemptsIncluded) {
  auto fake = std::make_shared<PricedFake>();
  // The answer's call used 1000/200 cached/500 tokens; an earlier answer, by another model, was
  // dropped (a guard re-asked it): usage counts both calls, spent_attempts itemizes the first.
  fake->usage = MakeUsage(3000, 550, 200);
  fake->reported_model = "gpt-4o-2024-08-06";
  fake->spent = {{"gpt-4o-mini", MakeUsage(2000, 50)}};
  auto ledger = Ledger::Open().value();
  auto model = WithBudget(Chat(fake), {.ledger = ledger}).value();
  auto response = model->Complete(Ask("gpt-4o"), Tagged({{"user", "alice"}}));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(response->cost.has_value());
  const double mini = 2000 * 0.15e-6 + 50 * 0.6e-6;
  ExpectNear(response->cost->total, 0.00725 + mini, "total with the failed attempt");
  ExpectNear(response->cost->cached_input, 200 * 1.25e-6, "cached part");
  SpendTotals alice = ledger->Spent({{"user", "alice"}}, BudgetWindow::kAllTime).value();
  EXPECT_EQ(alice.calls, 1);
  EXPECT_EQ(alice.input_tokens, 3000);
  ExpectNear(alice.cost.total, 0.00725 + mini, "ledger");
}

// Answers "a secret" from a big model first, then "fine" from a small one.
class ReaskedModel final : public ChatModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest&, const CallContext&) override {
    ChatResponse response;
    const bool first = calls++ == 0;
    response.model = first ? "gpt-4o" : "gpt-4o-mini";
    response.text = first ? "a secret" : "fine";
    response.message = {.role = "assistant", .content = response.text};
    response.usage = first ? MakeUsage(150'000, 100) : MakeUsage(150'200, 20);
    return response;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(request, call);
  }
  int calls = 0;
};

TEST(WithBudget, AGuardsReaskedAnswerIsPricedByItsOwnModelAndSize) {
  auto inner = std::make_shared<ReaskedModel>();
  std::shared_ptr<ChatModel> guarded =
      WithGuard(inner, {.banned_terms = {"secret"}, .banned_action = GuardAction::kReask}).value();
  auto ledger = Ledger::Open().value();
  auto model = WithBudget(guarded, {.ledger = ledger}).value();
  auto response = model->Complete(Ask("gpt-4o"), {});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "fine");
  EXPECT_EQ(response->usage.input_tokens, 300'200);  // Both calls.
  ASSERT_EQ(response->spent_attempts.size(), 1u);
  EXPECT_EQ(response->spent_attempts[0].model, "gpt-4o");
  // Each call on its own: no tier is crossed by adding them up, each model at its own price.
  const double expected = (150'000 * 2.5e-6 + 100 * 10e-6) + (150'200 * 0.15e-6 + 20 * 0.6e-6);
  ExpectNear(response->cost->total, expected, "both calls");
  ExpectNear(ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total, expected, "ledger");
}

TEST(WithBudget, TracingPutsTheCostOnSpansAndMetrics) {
  auto fake = std::make_shared<PricedFake>();
  fake->usage = MakeUsage(1000, 500, 200);
  auto tracer = Tracer::Create({.service_name = "cost-test"}).value();
  std::shared_ptr<ChatModel> budgeted = WithBudget(Chat(fake), {}).value();
  auto traced = WithTracing(budgeted, tracer, {.provider = "openai"}).value();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(traced->Complete(Ask("gpt-4o"), {}).ok());
  const std::string text = tracer->PrometheusText();
  const size_t sum = text.find("llmkit_client_operation_cost_sum{gen_ai_operation_name=\"chat\"");
  ASSERT_NE(sum, std::string::npos) << text;
  const size_t value = text.find("} ", sum) + 2;
  ExpectNear(std::stod(text.substr(value, text.find('\n', value) - value)), 2 * 0.00725,
             "two calls of $0.00725");
  // Refusals are counted by budget.
  auto capped =
      WithBudget(Chat(fake), {.budgets = {{.name = "tiny", .limit_usd = 1e-9}}, .tracer = tracer})
          .value();
  EXPECT_EQ(capped->Complete(Ask("gpt-4o"), {}).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(tracer->PrometheusText(), HasSubstr("llmkit_budget_refusals"));
}

TEST(WithBudget, AHardLimitRefusesBeforeSendingAndASoftLimitCallsTheHook) {
  auto fake = std::make_shared<PricedFake>();
  auto ledger = Ledger::Open().value();
  std::vector<BudgetEvent> soft_events;
  // gpt-4o: 1000 input + 100 output = $0.0035 per call; the estimate (~107 prompt tokens + 100
  // max output) is about $0.0013.
  auto model =
      WithBudget(
          Chat(fake),
          {.ledger = ledger,
           .budgets =
               {{.name = "alice", .limit_usd = 0.01, .tags = {{"user", "alice"}}},
                {.name = "team-soft", .limit_usd = 0.005, .tags = {{"team", "a"}}, .hard = false}},
           .on_soft_limit = [&](const BudgetEvent& e) { soft_events.push_back(e); }})
          .value();
  const CallContext alice = Tagged({{"user", "alice"}, {"team", "a"}});
  int admitted = 0;
  absl::Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    auto response = model->Complete(Ask("gpt-4o"), alice);
    if (response.ok()) {
      ++admitted;
    } else {
      refused = response.status();
    }
  }
  // $0.0035 settled per call: after 2 calls ($0.007) a third (estimate $0.0013) fits, a fourth
  // ($0.0105 + estimate) does not.
  EXPECT_EQ(admitted, 3);
  EXPECT_EQ(fake->calls.load(), 3);  // The refused call was never sent.
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(refused.GetPayload(internal::ToAbsl(kPayloadBudget)).value(), "alice");
  EXPECT_EQ(std::string(refused.GetPayload(internal::ToAbsl(kPayloadBudgetLimit)).value()),
            "0.010000000");
  EXPECT_THAT(std::string(refused.GetPayload(internal::ToAbsl(kPayloadBudgetSpent)).value()),
              HasSubstr("0.0105"));
  // Bob is not alice: his calls pass.
  EXPECT_TRUE(model->Complete(Ask("gpt-4o"), Tagged({{"user", "bob"}})).ok());
  // The soft budget fired once, when team a passed $0.005.
  ASSERT_EQ(soft_events.size(), 1u);
  EXPECT_EQ(soft_events[0].budget, "team-soft");
  EXPECT_GT(soft_events[0].spent_usd, 0.005);
  // A model the table cannot price: refused by a hard budget unless allowed.
  absl::Status unpriced = model->Complete(Ask("my-local-llama"), alice).status();
  EXPECT_EQ(unpriced.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unpriced.message(), HasSubstr("not in the price table"));
  auto lenient =
      WithBudget(Chat(fake), {.budgets = {{.name = "all", .limit_usd = 1}}, .allow_unpriced = true})
          .value();
  auto response = lenient->Complete(Ask("my-local-llama"), {});
  ASSERT_TRUE(response.ok());
  EXPECT_FALSE(response->cost->priced);
}

TEST(WithBudget, SixtyFourConcurrentCallsNeverOvershootTheLimit) {
  for (bool exact_estimate : {true, false}) {
    auto fake = std::make_shared<PricedFake>();
    fake->delay = std::chrono::milliseconds(2);
    auto ledger = Ledger::Open().value();
    const double limit = 0.25;
    auto model = WithBudget(Chat(fake),
                            {.ledger = ledger, .budgets = {{.name = "shared", .limit_usd = limit}}})
                     .value();
    ChatRequest request = Ask("gpt-4o", 100);
    // The estimate: 107 prompt tokens and 100 output tokens.
    const double estimate = 107 * 2.5e-6 + 100 * 10e-6;
    // Each call really costs its estimate, or (second round) a bit less.
    fake->usage = exact_estimate ? MakeUsage(107, 100) : MakeUsage(90, 70);
    std::atomic<int> admitted{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 40; ++i) {
          auto response = model->Complete(request, {});
          if (response.ok()) {
            admitted.fetch_add(1);
          } else {
            EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
            refused.fetch_add(1);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    const double spent = ledger->Spent({}, BudgetWindow::kAllTime).value().cost.total;
    std::printf("64 threads, exact estimate %d: %d admitted, %d refused, $%.6f of $%.2f\n",
                exact_estimate, admitted.load(), refused.load(), spent, limit);
    EXPECT_LE(spent, limit + 1e-12);
    EXPECT_EQ(fake->calls.load(), admitted.load());
    EXPECT_GT(refused.load(), 0);
    // Nothing stays reserved: the budget is used up to within one estimate.
    EXPECT_GT(spent, limit - estimate - 1e-12);
  }
}

TEST(WithBudget, ReservationsAreReleasedWhenCallsFailAndStreamsArePriced) {
  auto fake = std::make_shared<PricedFake>();
  auto ledger = Ledger::Open().value();
  auto model =
      WithBudget(Chat(fake), {.ledger = ledger, .budgets = {{.name = "b", .limit_usd = 0.002}}})
          .value();
  fake->fail = true;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(model->Complete(Ask("gpt-4o"), {}).status().code(), absl::StatusCode::kUnavailable);
  }
  fake->fail = false;
  fake->usage = MakeUsage(100, 10);
  std::string text;
  auto streamed = model->Stream(Ask("gpt-4o"),
                                [&](const StreamEvent& event) {
                                  text += event.text;
                                  return true;
                                },
                                {});
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(text, "ok");
  ExpectNear(streamed->cost->total, 100 * 2.5e-6 + 10 * 10e-6, "streamed");
  // Embeddings are priced and budgeted the same way.
  auto embedder = WithBudget(std::static_pointer_cast<EmbeddingModel>(fake),
                             {.ledger = ledger, .budgets = {{.name = "b", .limit_usd = 0.002}}})
                      .value();
  auto embedded = embedder->Embed({"a", "b"}, {.model = "text-embedding-3-small"}, {});
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  ASSERT_TRUE(embedded->cost.has_value());
  EXPECT_TRUE(embedded->cost->priced);
  ExpectNear(embedded->cost->total, 20 * 0.02e-6, "embeddings");
  // Bad budgets are refused at construction.
  EXPECT_EQ(WithBudget(std::shared_ptr<ChatModel>(fake), {.budgets = {{.limit_usd = -1}}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithBudget(std::shared_ptr<ChatModel>(fake),
                       {.ledger = ledger, .budgets = {{.name = "b", .limit_usd = 5}}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);  // Same name, other terms, same ledger.
}

}  // namespace
}  // namespace llmkit
