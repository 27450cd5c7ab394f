// Cost: prices in LiteLLM's table format, the cost of every call, a spend ledger grouped by the
// call context's tags and by model, and budgets enforced before a request leaves.
//
//   auto prices = llmkit::PriceTable::Default();          // Bundled snapshot (src/cost/data).
//   auto ledger = llmkit::Ledger::Open({.path = "spend.ledger"}).value();
//   auto model = llmkit::WithBudget(client, {.prices = prices, .ledger = ledger,
//       .budgets = {{.name = "alice-monthly", .limit_usd = 20, .tags = {{"user", "alice"}},
//                    .window = llmkit::BudgetWindow::kMonth}}}).value();
//   auto r = model->Complete(request, call);  // r->cost: input, cached_input, ..., total.
//
// Prices. A table in LiteLLM's model_prices_and_context_window.json format: an object of model
// name -> entry with input_cost_per_token, output_cost_per_token, cache_read_input_token_cost,
// cache_creation_input_token_cost, output_cost_per_reasoning_token, the tiered
// "<field>_above_<N>k_tokens" fields (and llmkit's "<field>_above_<N>_tokens" for a count that is
// not a multiple of 1000), max_input_tokens, max_output_tokens, litellm_provider and mode; other
// fields are ignored and "sample_spec" is not a model. A tier applies to all of a call's tokens
// of that kind when the call's input tokens (cached included) exceed N, as LiteLLM bills them.
// Cache reads and writes without their own price are billed at the input price, reasoning
// tokens without one at the output price.
//
// Names resolve as LiteLLM resolves them, in this order: the name as given, then lowercased;
// "<provider>/<model>" as <model> when that entry's litellm_provider is <provider>; <model> as
// "<provider>/<model>" when the caller names the provider (a client knows its own); and a dated
// snapshot ("<base>-2024-08-06", "<base>-20241022", "<base>-0613", "<base>-latest") as <base>
// only where <base>'s entry says "snapshots_share_price": true (the bundled table says so where
// its source prices every snapshot alike). A name that does not resolve is unpriced: the Cost
// says so (priced false, unpriced_model), never a silent zero.
//
// Ledger. Every settled call is one record (time, model, tags, tokens, cost). Totals group by
// any tag and by model over a window (all time, the UTC day, the UTC month). With a path, the
// records are appended to a file (one line per record with a CRC-32C) written before the call
// returns, so a crash (kill -9) loses at most the calls in flight; the file is held by one
// process at a time (share a budget across processes through Redis, docs/cost.md).
//
// Budgets. A budget covers the calls whose tags include all of its tags (none: every call). A
// hard budget refuses a call before it is sent (kResourceExhausted, payloads kPayloadBudget,
// kPayloadBudgetSpent and kPayloadBudgetLimit) when its spent plus the calls in flight plus this
// call's estimate would pass the limit. The estimate prices the prompt's tokens (the tokenizer's
// count, or bytes / 4 without one) and max_tokens (or default_max_output_tokens) of output; it
// is reserved until the call ends and is then replaced by what the call really cost, failed
// attempts included. So spend passes a hard limit only by what admitted calls spent beyond
// their estimates. A soft budget lets calls through and calls on_soft_limit once per window.
//
// Threads: a PriceTable is immutable once shared (Default() and Load() return it so); a Ledger
// and the models WithBudget returns are used from any number of threads.

#ifndef LLMKIT_COST_H_
#define LLMKIT_COST_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/observe.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

// Status payloads of a refused call: the budget's name, its spent (settled plus reserved, US
// dollars as a decimal string) and its limit.
inline constexpr std::string_view kPayloadBudget = "llmkit/budget";
inline constexpr std::string_view kPayloadBudgetSpent = "llmkit/budget_spent_usd";
inline constexpr std::string_view kPayloadBudgetLimit = "llmkit/budget_limit_usd";

// One kind of token's price per token, and the higher prices that apply above input sizes.
struct TokenPrice {
  double per_token = 0;
  // (threshold, price per token), thresholds ascending: the last whose threshold the call's
  // input tokens exceed replaces per_token.
  std::vector<std::pair<int64_t, double>> above;

  double At(int64_t input_tokens) const;
};

struct ModelPrice {
  std::optional<TokenPrice> input;
  std::optional<TokenPrice> cache_read;
  std::optional<TokenPrice> cache_write;
  std::optional<TokenPrice> output;
  std::optional<TokenPrice> reasoning;
  int64_t max_input_tokens = 0;  // 0: not stated.
  int64_t max_output_tokens = 0;
  std::string provider;  // litellm_provider.
  std::string mode;      // "chat", "embedding", ...
  bool snapshots_share_price = false;

  // The cost of `usage` at these prices (priced true).
  Cost Price(const Usage& usage) const;
};

class PriceTable {
 public:
  PriceTable() = default;

  // The bundled snapshot: first-party providers' prices from npm @pydantic/genai-prices
  // (src/cost/data/NOTICE says which version and date). Parsed once, shared.
  static std::shared_ptr<const PriceTable> Default();
  // A LiteLLM-format file. kNotFound, kInvalidArgument naming the entry and field (a negative or
  // non-finite price, a malformed tier field) or the JSON error's byte offset.
  static absl::StatusOr<std::shared_ptr<const PriceTable>> Load(const std::string& path);
  static absl::StatusOr<PriceTable> Parse(std::string_view json);

  // Adds or replaces one model's entry: a LiteLLM-format object, or a ModelPrice.
  absl::Status Set(std::string_view name, const Json& entry);
  void Set(std::string_view name, ModelPrice price);

  // The entry `model` resolves to (rules above) with its table name; nullopt when unpriced.
  // `provider` ("openai", "anthropic", ...) may be empty.
  struct Match {
    std::string_view name;
    const ModelPrice* price = nullptr;
  };
  std::optional<Match> Find(std::string_view model, std::string_view provider = {}) const;

  // The cost of `usage` by `model`; unpriced (priced false, unpriced_model) when it does not
  // resolve and used tokens.
  Cost Price(std::string_view model, const Usage& usage, std::string_view provider = {}) const;
  // The response's calls: its spent_attempts, each by its own model, and the answer's call
  // (usage minus the spent attempts') by response.model, or `default_model` when that is empty.
  Cost Price(const ChatResponse& response, std::string_view provider = {},
             std::string_view default_model = {}) const;

  size_t size() const;

 private:
  struct Entries;
  std::shared_ptr<Entries> entries_;  // Copied on write.
};

enum class BudgetWindow { kAllTime, kDay, kMonth };  // UTC days and months.

// One settled call.
struct SpendRecord {
  int64_t unix_ms = 0;  // When it was settled.
  std::string model;
  CallTags tags;
  Usage usage;  // All of the call's tokens, spent attempts included.
  Cost cost;
  // A response cache's hit (cache.h): usage and cost are zero, saved_usd is what the call it
  // replayed cost (priced as that call's usage).
  bool cache_hit = false;
  double saved_usd = 0;
};

struct SpendTotals {
  int64_t calls = 0;
  int64_t unpriced_calls = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  Cost cost;
  int64_t cache_hits = 0;  // Calls answered by a response cache (counted in calls too).
  double saved_usd = 0;    // What those would have cost.
};

struct SpendRow {
  std::vector<std::string> key;  // One value per group_by entry ("" where a call lacked the tag).
  SpendTotals totals;
};

struct LedgerOptions {
  std::string path;  // Empty: kept in memory only.
  // The clock records are stamped with and windows are read against (tests set it).
  std::function<int64_t()> now_unix_ms;
  // "redis://[[user]:password@]host[:port][/db]": the totals and the budgets live in that Redis
  // server, shared by every process and machine using it (path must then be empty). Each call
  // is one round trip to admit (when a budget covers it) and one to settle, both atomic Lua
  // scripts; totals are kept per UTC day, model and tags (no per-call log).
  std::string redis_url;
  std::string redis_prefix = "llmkit:spend";  // Every key starts with it.
  std::chrono::milliseconds redis_timeout{2000};
  // Redis unreachable when a budgeted call is admitted: false (the default) refuses the call
  // (kUnavailable); true lets it through unchecked and counts it in backend_failures().
  bool redis_fail_open = false;
};

class Ledger {
 public:
  // Reads the file's records (creating it when absent) and holds it for appending; or connects
  // to redis_url (kUnavailable, kPermissionDenied for a refused password). kDataLoss
  // naming the line when a record other than a torn last one fails its check (a torn last line
  // is a crash's trace: it is dropped and counted in torn_records); kFailedPrecondition when
  // another process holds it.
  static absl::StatusOr<std::shared_ptr<Ledger>> Open(LedgerOptions options = {});
  // The file's records without holding it (a report while the writer runs).
  static absl::StatusOr<std::shared_ptr<Ledger>> ReadOnly(const std::string& path);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Appends one record (written to the file before it returns).
  absl::Status Record(const SpendRecord& record);

  // Totals of the calls whose tags include all of `tags`, within `window` of now.
  // Errors only from Redis (kUnavailable).
  absl::StatusOr<SpendTotals> Spent(const CallTags& tags, BudgetWindow window) const;
  // Totals grouped by `group_by` (tag keys, and "model" for the model), biggest total first.
  absl::StatusOr<std::vector<SpendRow>> Report(const std::vector<std::string>& group_by,
                                               BudgetWindow window,
                                               const CallTags& filter = {}) const;

  int64_t records() const;       // Recorded by this process, or read from the file.
  int64_t torn_records() const;  // Dropped torn last lines found by Open.
  // Settlements that could not be written (the file or Redis failed: the call still returned
  // its answer) and admissions redis_fail_open let through.
  int64_t backend_failures() const;
  int64_t NowUnixMs() const;

  // The window's key at `unix_ms`: 0 for all time, the UTC day or month number otherwise.
  static int64_t WindowKey(BudgetWindow window, int64_t unix_ms);

 private:
  class Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class BudgetKeeper;
};

struct Budget {
  std::string name;  // Named in refusals and events; empty: made from the tags.
  double limit_usd = 0;
  CallTags tags;  // Calls whose tags include all of these; empty: every call.
  BudgetWindow window = BudgetWindow::kMonth;
  bool hard = true;  // False: on_soft_limit instead of a refusal.
};

struct BudgetEvent {
  std::string budget;
  double spent_usd = 0;  // Settled in the window, this call included.
  double limit_usd = 0;
  CallTags tags;  // The call's.
};

struct BudgetOptions {
  std::shared_ptr<const PriceTable> prices;  // Null: PriceTable::Default().
  std::shared_ptr<Ledger> ledger;            // Null: a new in-memory ledger.
  std::vector<Budget> budgets;
  std::string provider;  // Helps resolve names ("openai", "anthropic"); see PriceTable.
  // The model a request naming none goes to (the client's default): priced when the response
  // names no model either.
  std::string default_model;
  // Counts prompt tokens for the estimate; null: prompt bytes / 4 (rounded up).
  std::shared_ptr<const Tokenizer> tokenizer;
  // Output tokens assumed for a request without max_tokens.
  int64_t default_max_output_tokens = 4096;
  // A hard budget refuses a call the price table cannot price (it could cost anything) unless
  // this is true; unpriced calls are always counted (unpriced_calls).
  bool allow_unpriced = false;
  // With a Redis ledger: how long a reservation outlives a process that died mid-call (then the
  // next admission sweeps it); a call with a deadline holds it at least until then.
  std::chrono::milliseconds redis_lease = std::chrono::minutes(15);
  // Called (on the calling thread, after the call) the first time a soft budget's window passes
  // its limit.
  std::function<void(const BudgetEvent&)> on_soft_limit;
  // With a tracer: refusals add to the counter llmkit.budget.refusals and soft budgets passed
  // to llmkit.budget.soft_limits (both by llmkit.budget).
  std::shared_ptr<Tracer> tracer;
};

// A model whose calls are priced (response.cost), recorded in the ledger under the call
// context's tags and checked against the budgets. kInvalidArgument for a null model, a budget
// with a negative or non-finite limit, or duplicate budget names.
absl::StatusOr<std::unique_ptr<ChatModel>> WithBudget(std::shared_ptr<ChatModel> model,
                                                      BudgetOptions options);
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithBudget(std::shared_ptr<EmbeddingModel> model,
                                                           BudgetOptions options);

}  // namespace llmkit

#endif  // LLMKIT_COST_H_
