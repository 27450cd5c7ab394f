// The Ledger's state, shared by ledger.cc (records, files, reports) and budget_model.cc
// (budgets' reservations and settlements), which both run under `mu`.

#ifndef LLMKIT_SRC_COST_LEDGER_IMPL_H_
#define LLMKIT_SRC_COST_LEDGER_IMPL_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "llmkit/cost.h"

namespace llmkit {

// A settled call as the hot path holds it: the caller's values, not copies.
struct RecordRef {
  int64_t unix_ms;
  std::string_view model;
  const CallTags& tags;
  const Usage& usage;
  const Cost& cost;

  static RecordRef Of(const SpendRecord& r) {
    return {r.unix_ms, r.model, r.tags, r.usage, r.cost};
  }
};

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

class Ledger::Impl {
 public:
  struct Group {
    std::string model;
    CallTags tags;
    SpendTotals totals;
  };

  ~Impl();

  // Adds `record` to the aggregates and the watches. REQUIRES: mu held (or not yet shared).
  void Apply(const RecordRef& record);
  // Appends `record`'s line to the file, if any; a failed write leaves the file as it was.
  absl::Status Append(const RecordRef& record);
  absl::Status ReadAll(bool writable);

  std::mutex mu;
  std::function<int64_t()> now;
  std::string path;
  int fd = -1;
  off_t file_size = 0;  // Bytes of whole records in the file.
  std::map<int64_t, absl::flat_hash_map<std::string, Group>> days;  // By UTC day number.
  std::vector<BudgetWatch> watches;  // Only grows; indices are stable.
  int64_t records = 0;
  int64_t torn = 0;
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_COST_LEDGER_IMPL_H_
