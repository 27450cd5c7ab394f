// The Ledger's state, shared by ledger.cc (records, files, reports) and budget_model.cc
// (budgets' reservations and settlements), which both run under `mu`.

#ifndef LLMKIT_SRC_COST_LEDGER_IMPL_H_
#define LLMKIT_SRC_COST_LEDGER_IMPL_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis.h"
#include "llmkit/cost.h"

namespace llmkit {

// A settled call as the hot path holds it: the caller's values, not copies.
struct RecordRef {
  int64_t unix_ms;
  std::string_view model;
  const CallTags& tags;
  const Usage& usage;
  const Cost& cost;
  bool cache_hit = false;
  double saved_usd = 0;

  static RecordRef Of(const SpendRecord& r) {
    return {r.unix_ms, r.model, r.tags, r.usage, r.cost, r.cache_hit, r.saved_usd};
  }
};

// Appends `text` as a JSON string; invalid UTF-8 (a tag from a user's request) is written with
// U+FFFD in its place, so that records stay valid JSON (ledger.cc).
void AppendJsonString(std::string& out, std::string_view text);

// True when `tags` has every key of `wanted` with the same value.
bool TagsInclude(const CallTags& tags, const CallTags& wanted);

// A budget's running state: what settled in its current window and what calls in flight hold.
struct BudgetWatch {
  Budget budget;
  int64_t window_key = 0;
  double settled = 0;
  double reserved = 0;
  bool soft_fired = false;
};

// The totals of one model and set of tags on one day.
struct LedgerGroup {
  std::string model;
  CallTags tags;
  SpendTotals totals;
};
using LedgerDays = std::map<int64_t, absl::flat_hash_map<std::string, LedgerGroup>>;  // By day.

class Ledger::Impl {
 public:
  using Group = LedgerGroup;
  using Days = LedgerDays;

  // A soft budget a settlement took past its limit: its index among the given budgets.
  struct Fired {
    size_t index;
    double settled;
  };

  ~Impl();

  // Adds `record` to the aggregates and the watches. REQUIRES: mu held (or not yet shared).
  void Apply(const RecordRef& record);
  // Appends `record`'s line to the file, if any; a failed write leaves the file as it was.
  absl::Status Append(const RecordRef& record);
  absl::Status ReadAll(bool writable);

  // The Redis backend (redis_ledger.cc). Budgets' state lives in hashes named by budget and
  // window; a reservation is a field of its budget's hash with a lease, swept once expired.
  // Admits a call estimated at `estimate` against `budgets` (those the call's tags match): the
  // index of the hard budget it would pass and that budget's held amount, or nullopt after
  // reserving the estimate under `id` in each.
  absl::StatusOr<std::optional<std::pair<size_t, double>>> RedisAdmit(
      const std::vector<const Budget*>& budgets, int64_t now, double estimate,
      const std::string& id, int64_t lease_until);
  // Releases `id`'s reservations and, with `record`, adds it to the totals and the budgets.
  absl::StatusOr<std::vector<Fired>> RedisSettle(const std::vector<const Budget*>& budgets,
                                                 int64_t now, const std::string& id,
                                                 const RecordRef* record);
  // The aggregates of the days in `window` at `now`.
  absl::StatusOr<Days> RedisDays(BudgetWindow window, int64_t now);
  std::string BudgetKey(const Budget& budget, int64_t now) const;

  std::mutex mu;
  std::function<int64_t()> now;
  std::string path;
  int fd = -1;
  off_t file_size = 0;  // Bytes of whole records in the file.
  Days days;
  std::deque<BudgetWatch> watches;  // Only grows; indices and addresses are stable.
  int64_t records = 0;
  int64_t torn = 0;
  std::unique_ptr<internal::RedisClient> redis;  // Null: the aggregates above.
  std::string redis_prefix;
  bool redis_fail_open = false;
  std::atomic<int64_t> backend_failures{0};
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_COST_LEDGER_IMPL_H_
