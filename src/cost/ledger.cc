// Ledger: settled calls aggregated by UTC day, model and tags, optionally appended to a file of
// checksummed JSON lines; budgets' running totals (ledger_impl.h).

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/crc32c.h"
#include "cost/ledger_impl.h"
#include "llmkit/chunker.h"
#include "llmkit/tokenizer.h"

namespace llmkit {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  if (!ValidateUtf8(text).ok()) {
    AppendJsonString(out, Utf8Lossy(text));
    return;
  }
  out.push_back('"');
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out.append(escaped);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

namespace {

// Shortest text that reads back as the same double (non-finite amounts never reach a record:
// prices are checked finite and counts are integers).
void AppendNumber(std::string& out, double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, error == std::errc() ? end : buffer);
}

void AppendNumber(std::string& out, int64_t value) { absl::StrAppend(&out, value); }

// One record as `<crc32c hex> <json>\n`, the JSON written by hand (this runs once per call).
std::string RecordLine(const RecordRef& record) {
  std::string json = "{\"t\":";
  AppendNumber(json, record.unix_ms);
  json += ",\"model\":";
  AppendJsonString(json, record.model);
  json += ",\"tags\":{";
  bool first = true;
  for (const auto& [key, value] : record.tags) {
    if (!first) json.push_back(',');
    first = false;
    AppendJsonString(json, key);
    json.push_back(':');
    AppendJsonString(json, value);
  }
  const Usage& u = record.usage;
  json += "},\"usage\":{\"input\":";
  AppendNumber(json, u.input_tokens);
  json += ",\"output\":";
  AppendNumber(json, u.output_tokens);
  json += ",\"cached_input\":";
  AppendNumber(json, u.cached_input_tokens);
  json += ",\"cache_write\":";
  AppendNumber(json, u.cache_creation_input_tokens);
  json += ",\"reasoning\":";
  AppendNumber(json, u.reasoning_tokens);
  const Cost& c = record.cost;
  json += "},\"cost\":{\"input\":";
  AppendNumber(json, c.input);
  json += ",\"cached_input\":";
  AppendNumber(json, c.cached_input);
  json += ",\"cache_write\":";
  AppendNumber(json, c.cache_write);
  json += ",\"output\":";
  AppendNumber(json, c.output);
  json += ",\"reasoning\":";
  AppendNumber(json, c.reasoning);
  json += ",\"total\":";
  AppendNumber(json, c.total);
  if (!c.priced) {
    json += ",\"unpriced_model\":";
    AppendJsonString(json, c.unpriced_model);
  }
  json += "}";
  if (record.cache_hit) {  // Only then: files written before the cache read the same.
    json += ",\"cache_hit\":true,\"saved\":";
    AppendNumber(json, record.saved_usd);
  }
  json += "}";
  return absl::StrCat(internal::Crc32cHex(json), " ", json, "\n");
}

int64_t IntMember(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  return value != nullptr && value->is_int() ? value->as_int() : 0;
}
double DoubleMember(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  return value != nullptr && value->is_number() ? value->as_double() : 0;
}

// One line (without its newline) back to a record; nullopt when it fails its check.
std::optional<SpendRecord> ParseLine(std::string_view line) {
  if (line.size() < 10 || line[8] != ' ') return std::nullopt;
  std::string_view json = line.substr(9);
  if (internal::Crc32cHex(json) != line.substr(0, 8)) return std::nullopt;
  absl::StatusOr<Json> parsed = Json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  SpendRecord record;
  record.unix_ms = IntMember(*parsed, "t");
  if (const Json* model = parsed->Find("model"); model != nullptr && model->is_string()) {
    record.model = model->as_string();
  }
  if (const Json* tags = parsed->Find("tags"); tags != nullptr && tags->is_object()) {
    for (const auto& [key, value] : tags->as_object()) {
      if (value.is_string()) record.tags.emplace(key, value.as_string());
    }
  }
  if (const Json* usage = parsed->Find("usage"); usage != nullptr) {
    record.usage.input_tokens = IntMember(*usage, "input");
    record.usage.output_tokens = IntMember(*usage, "output");
    record.usage.cached_input_tokens = IntMember(*usage, "cached_input");
    record.usage.cache_creation_input_tokens = IntMember(*usage, "cache_write");
    record.usage.reasoning_tokens = IntMember(*usage, "reasoning");
    record.usage.total_tokens = record.usage.input_tokens + record.usage.output_tokens;
  }
  if (const Json* cost = parsed->Find("cost"); cost != nullptr) {
    record.cost.input = DoubleMember(*cost, "input");
    record.cost.cached_input = DoubleMember(*cost, "cached_input");
    record.cost.cache_write = DoubleMember(*cost, "cache_write");
    record.cost.output = DoubleMember(*cost, "output");
    record.cost.reasoning = DoubleMember(*cost, "reasoning");
    record.cost.total = DoubleMember(*cost, "total");
    if (const Json* unpriced = cost->Find("unpriced_model");
        unpriced != nullptr && unpriced->is_string()) {
      record.cost.priced = false;
      record.cost.unpriced_model = unpriced->as_string();
    }
  }
  if (const Json* hit = parsed->Find("cache_hit"); hit != nullptr && hit->is_bool()) {
    record.cache_hit = hit->as_bool();
    record.saved_usd = DoubleMember(*parsed, "saved");
  }
  return record;
}

// The aggregate a record adds to: model and tags, in a buffer reused by the thread.
const std::string& GroupKey(const RecordRef& record) {
  thread_local std::string key;
  key.assign(record.model);
  for (const auto& [name, value] : record.tags) {
    key.push_back('\x1f');
    key.append(name);
    key.push_back('\x1e');
    key.append(value);
  }
  return key;
}

void Add(SpendTotals& totals, const RecordRef& record) {
  ++totals.calls;
  totals.cache_hits += record.cache_hit;
  totals.saved_usd += record.saved_usd;
  if (!record.cost.priced) ++totals.unpriced_calls;
  totals.input_tokens += record.usage.input_tokens;
  totals.output_tokens += record.usage.output_tokens;
  totals.cost += record.cost;
}

void Add(SpendTotals& totals, const SpendTotals& more) {
  totals.calls += more.calls;
  totals.cache_hits += more.cache_hits;
  totals.saved_usd += more.saved_usd;
  totals.unpriced_calls += more.unpriced_calls;
  totals.input_tokens += more.input_tokens;
  totals.output_tokens += more.output_tokens;
  totals.cost += more.cost;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::Status(absl::ErrnoToStatusCode(errno),
                      absl::StrCat(internal::ToAbsl(what), " ", path, ": ", std::strerror(errno)));
}

}  // namespace

bool TagsInclude(const CallTags& tags, const CallTags& wanted) {
  for (const auto& [key, value] : wanted) {
    auto it = tags.find(key);
    if (it == tags.end() || it->second != value) return false;
  }
  return true;
}

int64_t Ledger::WindowKey(BudgetWindow window, int64_t unix_ms) {
  const int64_t day = FloorDiv(unix_ms, kMsPerDay);
  switch (window) {
    case BudgetWindow::kAllTime:
      return 0;
    case BudgetWindow::kDay:
      return day;
    case BudgetWindow::kMonth: {
      const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{day}}};
      return static_cast<int64_t>(static_cast<int>(date.year())) * 12 +
             static_cast<int64_t>(static_cast<unsigned>(date.month())) - 1;
    }
  }
  return 0;
}

Ledger::Impl::~Impl() {
  if (fd >= 0) close(fd);  // Releases the flock.
}

void Ledger::Impl::Apply(const RecordRef& record) {
  const int64_t day = FloorDiv(record.unix_ms, kMsPerDay);
  auto& groups = days[day];
  const std::string& key = GroupKey(record);
  auto it = groups.find(key);
  if (it == groups.end()) {
    it = groups.try_emplace(key).first;
    it->second.model = std::string(record.model);
    it->second.tags = record.tags;
  }
  Group& group = it->second;
  Add(group.totals, record);
  ++records;
  for (BudgetWatch& watch : watches) {
    if (!TagsInclude(record.tags, watch.budget.tags)) continue;
    const int64_t key = Ledger::WindowKey(watch.budget.window, record.unix_ms);
    if (key < watch.window_key) continue;  // An old record (loaded from the file out of order).
    if (key > watch.window_key) {
      watch.window_key = key;
      watch.settled = 0;
      watch.soft_fired = false;
    }
    watch.settled += record.cost.total;
  }
}

absl::Status Ledger::Impl::Append(const RecordRef& record) {
  if (fd < 0) return absl::OkStatus();
  const std::string line = RecordLine(record);
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = write(fd, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = Errno("ledger: cannot append to", path);
      // A part of a line would make every later record look damaged: take it back.
      if (written > 0) (void)ftruncate(fd, file_size);
      return status;
    }
    written += static_cast<size_t>(n);
  }
  file_size += static_cast<off_t>(line.size());
  return absl::OkStatus();
}

// Reads every record of the file at `fd`; `writable`: truncates a torn last line.
absl::Status Ledger::Impl::ReadAll(bool writable) {
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("ledger: cannot read", path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  size_t start = 0;
  int64_t line_number = 0;
  while (start < text.size()) {
    ++line_number;
    const size_t end = text.find('\n', start);
    const bool last = end == std::string::npos || end + 1 == text.size();
    std::string_view line(text.data() + start,
                          (end == std::string::npos ? text.size() : end) - start);
    std::optional<SpendRecord> record = end == std::string::npos ? std::nullopt : ParseLine(line);
    if (!record) {
      if (!last) {
        return absl::DataLossError(absl::StrCat("ledger ", path, ": record at line ", line_number,
                                                " (byte ", start, ") fails its check"));
      }
      // A write cut short by a crash: the call it describes was still in flight.
      ++torn;
      if (writable && ftruncate(fd, static_cast<off_t>(start)) != 0) {
        return Errno("ledger: cannot truncate the torn record of", path);
      }
      break;
    }
    Apply(RecordRef::Of(*record));
    start = end + 1;
  }
  file_size = static_cast<off_t>(std::min(start, text.size()));
  return absl::OkStatus();
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

absl::StatusOr<std::shared_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->now = options.now_unix_ms ? std::move(options.now_unix_ms) : SystemNowMs;
  impl->path = options.path;
  if (!options.redis_url.empty()) {
    if (!options.path.empty()) {
      return absl::InvalidArgumentError("ledger: give a path or a redis_url, not both");
    }
    absl::StatusOr<std::unique_ptr<internal::RedisClient>> redis =
        internal::RedisClient::Connect(options.redis_url, options.redis_timeout);
    if (!redis.ok()) return redis.status();
    impl->redis = *std::move(redis);
    impl->redis_prefix = options.redis_prefix;
    impl->redis_fail_open = options.redis_fail_open;
  }
  if (!options.path.empty()) {
    impl->fd = open(options.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (impl->fd < 0) return Errno("ledger: cannot open", options.path);
    if (flock(impl->fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "ledger ", options.path,
            " is held by another process (or another Ledger of this one); share spend across "
            "processes through Redis (docs/cost.md) or read it with Ledger::ReadOnly"));
      }
      return Errno("ledger: cannot lock", options.path);
    }
    absl::Status read = impl->ReadAll(/*writable=*/true);
    if (!read.ok()) return read;
  }
  return std::shared_ptr<Ledger>(new Ledger(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<Ledger>> Ledger::ReadOnly(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->now = SystemNowMs;
  impl->path = path;
  impl->fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl->fd < 0) return Errno("ledger: cannot open", path);
  absl::Status read = impl->ReadAll(/*writable=*/false);
  close(impl->fd);
  impl->fd = -1;
  if (!read.ok()) return read;
  return std::shared_ptr<Ledger>(new Ledger(std::move(impl)));
}

absl::Status Ledger::Record(const SpendRecord& record) {
  if (impl_->redis != nullptr) {
    const RecordRef ref = RecordRef::Of(record);
    absl::StatusOr<std::vector<Impl::Fired>> settled =
        impl_->RedisSettle({}, impl_->now(), "", &ref);
    if (!settled.ok()) return settled.status();
    std::lock_guard<std::mutex> lock(impl_->mu);
    ++impl_->records;
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  const RecordRef ref = RecordRef::Of(record);
  absl::Status appended = impl_->Append(ref);
  if (!appended.ok()) return appended;
  impl_->Apply(ref);
  return absl::OkStatus();
}

int64_t Ledger::NowUnixMs() const { return impl_->now(); }

namespace {

SpendTotals SpentIn(const LedgerDays& days, BudgetWindow window, int64_t key,
                    const CallTags& tags) {
  SpendTotals totals;
  for (const auto& [day, groups] : days) {
    if (Ledger::WindowKey(window, day * kMsPerDay) != key) continue;
    for (const auto& [name, group] : groups) {
      if (TagsInclude(group.tags, tags)) Add(totals, group.totals);
    }
  }
  return totals;
}

std::vector<SpendRow> ReportIn(const LedgerDays& days, BudgetWindow window, int64_t key,
                               const std::vector<std::string>& group_by, const CallTags& filter) {
  std::map<std::vector<std::string>, SpendTotals> rows;
  for (const auto& [day, groups] : days) {
    if (Ledger::WindowKey(window, day * kMsPerDay) != key) continue;
    for (const auto& [name, group] : groups) {
      if (!TagsInclude(group.tags, filter)) continue;
      std::vector<std::string> row_key;
      row_key.reserve(group_by.size());
      for (const std::string& by : group_by) {
        if (by == "model") {
          row_key.push_back(group.model);
        } else {
          auto it = group.tags.find(by);
          row_key.push_back(it == group.tags.end() ? std::string() : it->second);
        }
      }
      Add(rows[std::move(row_key)], group.totals);
    }
  }
  std::vector<SpendRow> out;
  out.reserve(rows.size());
  for (auto& [row_key, totals] : rows) out.push_back({row_key, totals});
  std::stable_sort(out.begin(), out.end(), [](const SpendRow& a, const SpendRow& b) {
    return a.totals.cost.total > b.totals.cost.total;
  });
  return out;
}

}  // namespace

absl::StatusOr<SpendTotals> Ledger::Spent(const CallTags& tags, BudgetWindow window) const {
  const int64_t now = impl_->now();
  const int64_t key = WindowKey(window, now);
  if (impl_->redis != nullptr) {
    absl::StatusOr<LedgerDays> days = impl_->RedisDays(window, now);
    if (!days.ok()) return days.status();
    return SpentIn(*days, window, key, tags);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return SpentIn(impl_->days, window, key, tags);
}

absl::StatusOr<std::vector<SpendRow>> Ledger::Report(const std::vector<std::string>& group_by,
                                                     BudgetWindow window,
                                                     const CallTags& filter) const {
  const int64_t now = impl_->now();
  const int64_t key = WindowKey(window, now);
  if (impl_->redis != nullptr) {
    absl::StatusOr<LedgerDays> days = impl_->RedisDays(window, now);
    if (!days.ok()) return days.status();
    return ReportIn(*days, window, key, group_by, filter);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return ReportIn(impl_->days, window, key, group_by, filter);
}

int64_t Ledger::backend_failures() const { return impl_->backend_failures.load(); }

int64_t Ledger::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->records;
}

int64_t Ledger::torn_records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->torn;
}

}  // namespace llmkit
