// The ledger's Redis backend: budgets' settled and reserved amounts and the daily totals in
// Redis hashes, changed only by two Lua scripts so that every admission and settlement is atomic
// across processes.
//
// Keys (P = LedgerOptions::redis_prefix):
//   P:b:<budget>:<window key>         hash: settled, reserved, soft (fired), r:<id> (a reservation)
//   P:b:<budget>:<window key>:leases  sorted set: reservation id -> lease end (unix ms)
//   P:d:<UTC day>                     hash: <group>\x1d<metric> -> total (HINCRBYFLOAT)
//   P:days                            set of the day numbers with totals
// A group is the JSON array [model, {tags}]. A reservation whose lease ended (its process died
// mid-call) is swept by the next admission.

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "cost/ledger_impl.h"

namespace llmkit {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

// KEYS: the budgets' hashes. ARGV: now, lease end, id, estimate, ttl seconds, then per budget
// its limit and "1" when hard. Returns {0, ""} after reserving, or {i, held} for the first hard
// budget the estimate would take past its limit.
constexpr char kAdmit[] = R"lua(
local now, lease, id, estimate, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
for i, key in ipairs(KEYS) do
  local leases = key .. ':leases'
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now)) do
    local amount = redis.call('HGET', key, 'r:' .. old)
    if amount then
      redis.call('HINCRBYFLOAT', key, 'reserved', -tonumber(amount))
      redis.call('HDEL', key, 'r:' .. old)
    end
    redis.call('ZREM', leases, old)
  end
end
for i, key in ipairs(KEYS) do
  if ARGV[5 + 2 * i] == '1' then
    local held = tonumber(redis.call('HGET', key, 'settled') or '0') +
                 tonumber(redis.call('HGET', key, 'reserved') or '0')
    if held + estimate > tonumber(ARGV[4 + 2 * i]) then
      return {i, string.format('%.17g', held)}
    end
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBYFLOAT', key, 'reserved', ARGV[4])
  redis.call('HSET', key, 'r:' .. id, ARGV[4])
  redis.call('ZADD', key .. ':leases', lease, id)
  if ttl > 0 then
    redis.call('EXPIRE', key, ttl)
    redis.call('EXPIRE', key .. ':leases', ttl)
  end
end
return {0, ''}
)lua";

// KEYS: the budgets' hashes, then the day's hash and the set of days. ARGV: id, "1" to record,
// the cost, the group, the day number, ttl seconds, the 12 metric deltas, then per budget its
// limit and "1" when hard. Returns {i, settled, ...} for each soft budget first passed.
constexpr char kSettle[] = R"lua(
local n = #KEYS - 2
local id, record, ttl = ARGV[1], ARGV[2] == '1', tonumber(ARGV[6])
local fired = {}
for i = 1, n do
  local key = KEYS[i]
  local amount = redis.call('HGET', key, 'r:' .. id)
  if amount then
    redis.call('HINCRBYFLOAT', key, 'reserved', -tonumber(amount))
    redis.call('HDEL', key, 'r:' .. id)
  end
  redis.call('ZREM', key .. ':leases', id)
  if record then
    local settled = tonumber(redis.call('HINCRBYFLOAT', key, 'settled', ARGV[3]))
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
    local base = 19 + 2 * (i - 1)
    if ARGV[base + 1] == '0' and settled > tonumber(ARGV[base]) and
       redis.call('HSETNX', key, 'soft', '1') == 1 then
      table.insert(fired, i)
      table.insert(fired, string.format('%.17g', settled))
    end
  end
end
if record then
  local day = KEYS[n + 1]
  for m = 1, 12 do
    local delta = ARGV[6 + m]
    if delta ~= '0' then
      redis.call('HINCRBYFLOAT', day, ARGV[4] .. '\29' .. (m - 1), delta)
    end
  end
  redis.call('SADD', KEYS[n + 2], ARGV[5])
end
return fired
)lua";

// [model, {tags}] as JSON (tags and model are valid UTF-8 or replaced, as in the file).
std::string GroupField(const RecordRef& record) {
  std::string out = "[";
  AppendJsonString(out, record.model);
  out += ",{";
  bool first = true;
  for (const auto& [key, value] : record.tags) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, key);
    out.push_back(':');
    AppendJsonString(out, value);
  }
  out += "}]";
  return out;
}

int64_t TtlSeconds(BudgetWindow window) {
  switch (window) {
    case BudgetWindow::kDay:
      return 3 * 86'400;
    case BudgetWindow::kMonth:
      return 62 * 86'400;
    case BudgetWindow::kAllTime:
      return 0;
  }
  return 0;
}

}  // namespace

std::string Ledger::Impl::BudgetKey(const Budget& budget, int64_t now) const {
  return absl::StrCat(redis_prefix, ":b:", budget.name, ":", Ledger::WindowKey(budget.window, now));
}

absl::StatusOr<std::optional<std::pair<size_t, double>>> Ledger::Impl::RedisAdmit(
    const std::vector<const Budget*>& budgets, int64_t now, double estimate, const std::string& id,
    int64_t lease_until) {
  std::vector<std::string> keys;
  std::vector<std::string> args = {std::to_string(now), std::to_string(lease_until), id,
                                   internal::RedisNumber(estimate), "0"};
  int64_t ttl = 0;
  for (const Budget* budget : budgets) {
    keys.push_back(BudgetKey(*budget, now));
    args.push_back(internal::RedisNumber(budget->limit_usd));
    args.push_back(budget->hard ? "1" : "0");
    ttl = std::max(ttl, TtlSeconds(budget->window));
  }
  args[4] = std::to_string(ttl);
  absl::StatusOr<internal::RedisReply> reply = redis->Eval(kAdmit, keys, args);
  if (!reply.ok()) return reply.status();
  if (reply->elements.size() != 2) {
    return absl::InternalError("redis: unexpected reply to the budget check");
  }
  const int64_t refused = reply->elements[0].integer;
  if (refused == 0) return std::nullopt;
  double held = 0;
  (void)absl::SimpleAtod(reply->elements[1].str, &held);
  return std::make_pair(static_cast<size_t>(refused - 1), held);
}

absl::StatusOr<std::vector<Ledger::Impl::Fired>> Ledger::Impl::RedisSettle(
    const std::vector<const Budget*>& budgets, int64_t now, const std::string& id,
    const RecordRef* record) {
  std::vector<std::string> keys;
  int64_t ttl = 0;
  for (const Budget* budget : budgets) {
    keys.push_back(BudgetKey(*budget, now));
    ttl = std::max(ttl, TtlSeconds(budget->window));
  }
  const int64_t day = record != nullptr ? record->unix_ms / kMsPerDay : now / kMsPerDay;
  keys.push_back(absl::StrCat(redis_prefix, ":d:", day));
  keys.push_back(absl::StrCat(redis_prefix, ":days"));
  std::vector<std::string> args = {
      id,
      record != nullptr ? "1" : "0",
      internal::RedisNumber(record != nullptr ? record->cost.total : 0),
      record != nullptr ? GroupField(*record) : "",
      std::to_string(day),
      std::to_string(ttl)};
  if (record != nullptr) {
    const Usage& u = record->usage;
    const Cost& c = record->cost;
    for (double metric :
         {1.0, c.priced ? 0.0 : 1.0, static_cast<double>(u.input_tokens),
          static_cast<double>(u.output_tokens), c.input, c.cached_input, c.cache_write, c.output,
          c.reasoning, c.total, record->cache_hit ? 1.0 : 0.0, record->saved_usd}) {
      args.push_back(metric == 0 ? "0" : internal::RedisNumber(metric));
    }
  } else {
    args.insert(args.end(), 12, "0");
  }
  for (const Budget* budget : budgets) {
    args.push_back(internal::RedisNumber(budget->limit_usd));
    args.push_back(budget->hard ? "1" : "0");
  }
  absl::StatusOr<internal::RedisReply> reply = redis->Eval(kSettle, keys, args);
  if (!reply.ok()) return reply.status();
  std::vector<Fired> fired;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    double settled = 0;
    (void)absl::SimpleAtod(reply->elements[i + 1].str, &settled);
    fired.push_back({static_cast<size_t>(reply->elements[i].integer - 1), settled});
  }
  return fired;
}

absl::StatusOr<Ledger::Impl::Days> Ledger::Impl::RedisDays(BudgetWindow window, int64_t now) {
  std::vector<int64_t> days_wanted;
  if (window == BudgetWindow::kDay) {
    days_wanted.push_back(now / kMsPerDay);
  } else {
    absl::StatusOr<internal::RedisReply> members =
        redis->Command({"SMEMBERS", absl::StrCat(redis_prefix, ":days")});
    if (!members.ok()) return members.status();
    const int64_t key = Ledger::WindowKey(window, now);
    for (const internal::RedisReply& member : members->elements) {
      int64_t day = 0;
      if (!absl::SimpleAtoi(member.str, &day)) continue;
      if (Ledger::WindowKey(window, day * kMsPerDay) == key) days_wanted.push_back(day);
    }
  }
  Days out;
  for (int64_t day : days_wanted) {
    absl::StatusOr<internal::RedisReply> fields =
        redis->Command({"HGETALL", absl::StrCat(redis_prefix, ":d:", day)});
    if (!fields.ok()) return fields.status();
    auto& groups = out[day];
    for (size_t i = 0; i + 1 < fields->elements.size(); i += 2) {
      const std::string& field = fields->elements[i].str;
      const size_t cut = field.rfind('\x1d');
      int metric = -1;
      double value = 0;
      if (cut == std::string::npos ||
          !absl::SimpleAtoi(absl::string_view(field).substr(cut + 1), &metric) ||
          !absl::SimpleAtod(fields->elements[i + 1].str, &value)) {
        continue;
      }
      const std::string group_key = field.substr(0, cut);
      auto [it, inserted] = groups.try_emplace(group_key);
      Group& group = it->second;
      if (inserted) {
        absl::StatusOr<Json> parsed = Json::Parse(group_key);
        if (parsed.ok() && parsed->is_array() && parsed->size() == 2) {
          const Json& model = parsed->as_array()[0];
          const Json& tags = parsed->as_array()[1];
          if (model.is_string()) group.model = model.as_string();
          if (tags.is_object()) {
            for (const auto& [key, tag] : tags.as_object()) {
              if (tag.is_string()) group.tags.emplace(key, tag.as_string());
            }
          }
        }
      }
      SpendTotals& t = group.totals;
      switch (metric) {
        case 0:
          t.calls = static_cast<int64_t>(value + 0.5);
          break;
        case 1:
          t.unpriced_calls = static_cast<int64_t>(value + 0.5);
          break;
        case 2:
          t.input_tokens = static_cast<int64_t>(value + 0.5);
          break;
        case 3:
          t.output_tokens = static_cast<int64_t>(value + 0.5);
          break;
        case 4:
          t.cost.input = value;
          break;
        case 5:
          t.cost.cached_input = value;
          break;
        case 6:
          t.cost.cache_write = value;
          break;
        case 7:
          t.cost.output = value;
          break;
        case 8:
          t.cost.reasoning = value;
          break;
        case 9:
          t.cost.total = value;
          break;
        case 10:
          t.cache_hits = static_cast<int64_t>(value + 0.5);
          break;
        case 11:
          t.saved_usd = value;
          break;
        default:
          break;
      }
    }
    for (auto& [key, group] : groups) group.totals.cost.priced = group.totals.unpriced_calls == 0;
  }
  return out;
}

}  // namespace llmkit
