// MetricStore: histograms and counters, Prometheus text and OTLP/JSON (see metrics.h).

#include "observe/metrics.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace llmkit::internal {
namespace {

void AppendValue(const AttributeValue& value, std::string* out) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out->push_back('s');
    out->append(*s);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    absl::StrAppend(out, "i", *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    absl::StrAppend(out, "d", *d);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out->append(*b ? "btrue" : "bfalse");
  } else {
    out->push_back('a');
    for (const std::string& item : std::get<std::vector<std::string>>(value)) {
      absl::StrAppend(out, item.size(), ":", item);
    }
  }
}

// A canonical key of an attribute set (plus `extra`, when its key is not empty): the
// attributes sorted by key, each "key\x1f<type><value>\x1e" (the same set in any order gives
// the same key). Called on every recorded value, so it builds one string and nothing else.
// The attributes in key order, as one string, into `*out` (a buffer reused across calls: the
// lookup of an existing point allocates nothing).
void CanonicalKey(const Attributes& attributes, const Attribute& extra, std::string* out) {
  absl::InlinedVector<const Attribute*, 16> sorted;
  for (const Attribute& a : attributes) sorted.push_back(&a);
  if (!extra.first.empty()) sorted.push_back(&extra);
  std::sort(sorted.begin(), sorted.end(),
            [](const Attribute* a, const Attribute* b) { return a->first < b->first; });
  out->clear();
  for (const Attribute* a : sorted) {
    out->append(a->first);
    out->push_back('\x1f');
    AppendValue(a->second, out);
    out->push_back('\x1e');
  }
}

std::string PrometheusName(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

// The unit as a Prometheus suffix: "s" becomes _seconds; annotations ("{token}") add none.
std::string UnitSuffix(std::string_view unit) {
  if (unit == "s") return "_seconds";
  if (unit == "ms") return "_milliseconds";
  if (unit == "By") return "_bytes";
  return "";
}

std::string LabelValue(const AttributeValue& value) {
  std::string text;
  if (const auto* s = std::get_if<std::string>(&value)) {
    text = *s;
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    text = absl::StrCat(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    text = absl::StrCat(*d);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    text = *b ? "true" : "false";
  } else {
    text = OtlpValue(value).Dump();
  }
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Labels(const Attributes& attributes, std::string_view extra = {}) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : attributes) {
    parts.push_back(absl::StrCat(PrometheusName(key), "=\"", LabelValue(value), "\""));
  }
  std::sort(parts.begin(), parts.end());
  if (!extra.empty()) parts.emplace_back(extra);
  if (parts.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < parts.size(); ++i) absl::StrAppend(&out, i ? "," : "", parts[i]);
  return out + "}";
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", v);
  return buffer;
}

}  // namespace

const std::vector<double>& TokenBuckets() {
  static const auto* bounds = new std::vector<double>{
      1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
  return *bounds;
}

const std::vector<double>& SecondsBuckets() {
  static const auto* bounds = new std::vector<double>{0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                      1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
  return *bounds;
}

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Json OtlpValue(const AttributeValue& value) {
  Json out = Json::MakeObject();
  if (const auto* s = std::get_if<std::string>(&value)) {
    out.Set("stringValue", *s);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    out.Set("intValue", absl::StrCat(*i));  // int64 as a string (OTLP/JSON).
  } else if (const auto* d = std::get_if<double>(&value)) {
    out.Set("doubleValue", *d);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out.Set("boolValue", *b);
  } else {
    Json values = Json::MakeArray();
    for (const std::string& s : std::get<std::vector<std::string>>(value)) {
      Json item = Json::MakeObject();
      item.Set("stringValue", s);
      values.push_back(std::move(item));
    }
    Json array = Json::MakeObject();
    array.Set("values", std::move(values));
    out.Set("arrayValue", std::move(array));
  }
  return out;
}

Json OtlpAttributes(const Attributes& attributes) {
  return OtlpAttributes(attributes.data(), attributes.size());
}

Json OtlpAttributes(const Attribute* attributes, size_t count) {
  Json out = Json::MakeArray();
  for (size_t i = 0; i < count; ++i) {
    Json kv = Json::MakeObject();
    kv.Set("key", attributes[i].first);
    kv.Set("value", OtlpValue(attributes[i].second));
    out.push_back(std::move(kv));
  }
  return out;
}

namespace {

std::atomic<uint64_t> next_store_id{1};

// The points a thread recorded to last, with the attributes as they were passed: a traced call
// records its three histograms with the same attributes in the same order, call after call, so
// comparing them is cheaper than building, hashing and comparing the canonical key.
struct PointMemo {
  uint64_t store = 0;
  const void* family = nullptr;
  Attributes attributes;
  Attribute extra;
  void* point = nullptr;
};
constexpr size_t kMemos = 4;
thread_local PointMemo memos[kMemos];
thread_local size_t next_memo = 0;

}  // namespace

MetricStore::MetricStore() : start_ns_(UnixNanos()), id_(next_store_id.fetch_add(1)) {}

MetricStore::Point& MetricStore::PointFor(Family& family, const Attributes& attributes,
                                          const Attribute& extra) {
  for (const PointMemo& memo : memos) {
    if (memo.store == id_ && memo.family == &family && memo.extra == extra &&
        memo.attributes == attributes) {
      return *static_cast<Point*>(memo.point);
    }
  }
  thread_local std::string key;
  CanonicalKey(attributes, extra, &key);
  auto it = family.points.find(key);
  if (it == family.points.end()) {
    it = family.points.try_emplace(key).first;
    Point& point = it->second;
    point.attributes = attributes;
    if (!extra.first.empty()) point.attributes.push_back(extra);
    point.buckets.assign(family.bounds.size() + 1, 0);
  }
  PointMemo& memo = memos[next_memo++ % kMemos];
  memo.store = id_;
  memo.family = &family;
  memo.attributes = attributes;
  memo.extra = extra;
  memo.point = &it->second;
  return it->second;
}

MetricStore::Family& MetricStore::FamilyFor(std::string_view name, std::string_view unit,
                                            std::string_view description, bool histogram,
                                            const std::vector<double>& bounds) {
  if (auto found = families_.find(name); found != families_.end()) return found->second;
  auto [it, inserted] = families_.try_emplace(std::string(name));
  {
    it->second.unit = unit;
    it->second.description = description;
    it->second.histogram = histogram;
    it->second.bounds = bounds;
  }
  return it->second;
}

void MetricStore::Record(const Family& family, Point& point, double value) {
  // Bucket i counts values in (bounds[i-1], bounds[i]].
  const size_t bucket =
      std::lower_bound(family.bounds.begin(), family.bounds.end(), value) - family.bounds.begin();
  ++point.buckets[bucket];
  point.min = point.count == 0 ? value : std::min(point.min, value);
  point.max = point.count == 0 ? value : std::max(point.max, value);
  ++point.count;
  point.sum += value;
}

void MetricStore::Observe(std::string_view name, std::string_view unit,
                          std::string_view description, const std::vector<double>& bounds,
                          double value, const Attributes& attributes, const Attribute& extra) {
  std::lock_guard lock(mu_);
  Family& family = FamilyFor(name, unit, description, /*histogram=*/true, bounds);
  Record(family, PointFor(family, attributes, extra), value);
}

namespace {
// The points of a thread's last ObserveAll: a traced call records the same histograms with the
// same attributes call after call, so one comparison of the attributes finds them all.
struct AllMemo {
  uint64_t store = 0;
  Attributes attributes;
  size_t count = 0;
  const HistogramSpec* specs[MetricStore::kMaxObservations] = {};
  const Attribute* extras[MetricStore::kMaxObservations] = {};
  void* families[MetricStore::kMaxObservations] = {};
  void* points[MetricStore::kMaxObservations] = {};
};
thread_local AllMemo all_memo;
}  // namespace

void MetricStore::ObserveAll(const Observation* observations, size_t count,
                             const Attributes& attributes) {
  count = std::min(count, kMaxObservations);
  std::lock_guard lock(mu_);
  AllMemo& memo = all_memo;
  bool hit = memo.store == id_ && memo.count == count;
  for (size_t i = 0; hit && i < count; ++i) {
    hit = memo.specs[i] == observations[i].spec && memo.extras[i] == observations[i].extra;
  }
  if (hit && memo.attributes == attributes) {
    for (size_t i = 0; i < count; ++i) {
      Record(*static_cast<Family*>(memo.families[i]), *static_cast<Point*>(memo.points[i]),
             observations[i].value);
    }
    return;
  }
  static const Attribute kNone;
  memo.store = id_;
  memo.attributes = attributes;
  memo.count = count;
  for (size_t i = 0; i < count; ++i) {
    const Observation& o = observations[i];
    Family& family = FamilyFor(o.spec->name, o.spec->unit, o.spec->description,
                               /*histogram=*/true, o.spec->bounds);
    Point& point = PointFor(family, attributes, o.extra != nullptr ? *o.extra : kNone);
    memo.specs[i] = o.spec;
    memo.extras[i] = o.extra;
    memo.families[i] = &family;
    memo.points[i] = &point;
    Record(family, point, o.value);
  }
}

void MetricStore::Add(std::string_view name, std::string_view unit, std::string_view description,
                      int64_t value, const Attributes& attributes) {
  std::lock_guard lock(mu_);
  Family& family = FamilyFor(name, unit, description, /*histogram=*/false, {});
  PointFor(family, attributes, {}).total += value;
}

std::string MetricStore::Prometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const std::string base = PrometheusName(name) + UnitSuffix(family.unit);
    const std::string metric = family.histogram ? base : base + "_total";
    absl::StrAppend(&out, "# HELP ", metric, " ", family.description, "\n");
    absl::StrAppend(&out, "# TYPE ", metric, family.histogram ? " histogram\n" : " counter\n");
    for (const auto& [key, point] : family.points) {
      if (!family.histogram) {
        absl::StrAppend(&out, metric, Labels(point.attributes), " ", point.total, "\n");
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= family.bounds.size(); ++i) {
        cumulative += point.buckets[i];
        const std::string le = i < family.bounds.size() ? Number(family.bounds[i]) : "+Inf";
        absl::StrAppend(&out, base, "_bucket", Labels(point.attributes, "le=\"" + le + "\""), " ",
                        cumulative, "\n");
      }
      absl::StrAppend(&out, base, "_sum", Labels(point.attributes), " ", Number(point.sum), "\n");
      absl::StrAppend(&out, base, "_count", Labels(point.attributes), " ", point.count, "\n");
    }
  }
  return out;
}

Json MetricStore::OtlpMetrics(int64_t now_ns) const {
  std::lock_guard lock(mu_);
  Json metrics = Json::MakeArray();
  for (const auto& [name, family] : families_) {
    Json points = Json::MakeArray();
    for (const auto& [key, point] : family.points) {
      Json p = Json::MakeObject();
      p.Set("attributes", OtlpAttributes(point.attributes));
      p.Set("startTimeUnixNano", absl::StrCat(start_ns_));
      p.Set("timeUnixNano", absl::StrCat(now_ns));
      if (family.histogram) {
        p.Set("count", absl::StrCat(point.count));
        p.Set("sum", point.sum);
        Json buckets = Json::MakeArray();
        for (uint64_t b : point.buckets) buckets.push_back(absl::StrCat(b));
        p.Set("bucketCounts", std::move(buckets));
        Json bounds = Json::MakeArray();
        for (double b : family.bounds) bounds.push_back(b);
        p.Set("explicitBounds", std::move(bounds));
        p.Set("min", point.min);
        p.Set("max", point.max);
      } else {
        p.Set("asInt", absl::StrCat(point.total));
      }
      points.push_back(std::move(p));
    }
    Json data = Json::MakeObject();
    data.Set("dataPoints", std::move(points));
    data.Set("aggregationTemporality", 2);  // Cumulative.
    if (!family.histogram) data.Set("isMonotonic", true);
    Json metric = Json::MakeObject();
    metric.Set("name", name);
    metric.Set("unit", family.unit);
    metric.Set("description", family.description);
    metric.Set(family.histogram ? "histogram" : "sum", std::move(data));
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

}  // namespace llmkit::internal
