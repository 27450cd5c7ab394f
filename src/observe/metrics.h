// The tracer's metrics: cumulative histograms and counters by attribute set, written as the
// Prometheus text format and as OTLP/JSON.

#ifndef LLMKIT_SRC_OBSERVE_METRICS_H_
#define LLMKIT_SRC_OBSERVE_METRICS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "llmkit/json.h"
#include "llmkit/observe.h"

namespace llmkit::internal {

// The conventions' explicit bucket boundaries.
const std::vector<double>& TokenBuckets();
const std::vector<double>& SecondsBuckets();

using Attribute = std::pair<std::string, AttributeValue>;

// Sets `*slot` to the string `value`, into the string it already holds when it holds one (its
// storage reused): recycled span and metric attributes are assigned this way call after call.
inline void AssignString(AttributeValue* slot, std::string_view value) {
  if (auto* text = std::get_if<std::string>(slot); text != nullptr) {
    text->assign(value.data(), value.size());
  } else {
    *slot = std::string(value);
  }
}

// A histogram's definition, as a static object (ObserveAll's memo compares their addresses).
struct HistogramSpec {
  std::string_view name;
  std::string_view unit;
  std::string_view description;
  const std::vector<double>& bounds;
};

// One value for ObserveAll; `extra`, when not null, a static attribute added to the set.
struct Observation {
  const HistogramSpec* spec;
  double value;
  const Attribute* extra = nullptr;
};

class MetricStore {
 public:
  MetricStore();
  // Adds `value` to the histogram `name` (created with `unit`, `description` and `bounds` on
  // first use) for this attribute set, plus `extra` when its key is not empty.
  void Observe(std::string_view name, std::string_view unit, std::string_view description,
               const std::vector<double>& bounds, double value, const Attributes& attributes,
               const Attribute& extra = {});
  // Observe for each of `observations` (at most kMaxObservations), under one lock and with one
  // comparison of `attributes` when this thread recorded the same set and specs last time.
  static constexpr size_t kMaxObservations = 4;
  void ObserveAll(const Observation* observations, size_t count, const Attributes& attributes);
  void Add(std::string_view name, std::string_view unit, std::string_view description,
           int64_t value, const Attributes& attributes);

  std::string Prometheus() const;
  // The "metrics" array of an OTLP ScopeMetrics; empty when nothing was recorded.
  Json OtlpMetrics(int64_t now_ns) const;

 private:
  struct Point {
    Attributes attributes;
    std::vector<uint64_t> buckets;  // bounds.size() + 1
    uint64_t count = 0;
    double sum = 0;
    double min = 0;
    double max = 0;
    int64_t total = 0;  // Counters.
  };
  struct Family {
    std::string unit;
    std::string description;
    bool histogram = true;
    std::vector<double> bounds;
    // By canonical attributes; a node map, so that a Point stays where it is (PointFor's
    // per-thread memo holds its address).
    std::unordered_map<std::string, Point> points;
  };
  // The family `name`, created with these settings on first use. Holds mu_.
  Family& FamilyFor(std::string_view name, std::string_view unit, std::string_view description,
                    bool histogram, const std::vector<double>& bounds);
  Point& PointFor(Family& family, const Attributes& attributes, const Attribute& extra);
  // Adds `value` to `point` of `family`. Holds mu_.
  static void Record(const Family& family, Point& point, double value);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  int64_t start_ns_;
  uint64_t id_;  // Unique per store, for PointFor's per-thread memo.
};

// OTLP/JSON AnyValue and KeyValue lists.
Json OtlpValue(const AttributeValue& value);
Json OtlpAttributes(const Attributes& attributes);
Json OtlpAttributes(const Attribute* attributes, size_t count);
int64_t UnixNanos();

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_OBSERVE_METRICS_H_
