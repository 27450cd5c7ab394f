// The one table of index kind and metric names (index.h): saved files, Python and the command
// line all read it.

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "llmkit/index.h"

namespace llmkit {
namespace {

// Canonical name first; aliases after it map to the same value.
constexpr std::array<std::pair<std::string_view, IndexKind>, 4> kIndexKinds = {{
    {"flat", IndexKind::kFlat},
    {"hnsw", IndexKind::kHnsw},
    {"ivf", IndexKind::kIvf},
    {"exact", IndexKind::kFlat},
}};
constexpr std::array<std::pair<std::string_view, Metric>, 6> kMetrics = {{
    {"cosine", Metric::kCosine},
    {"ip", Metric::kInnerProduct},
    {"l2", Metric::kL2},
    {"inner_product", Metric::kInnerProduct},
    {"dot", Metric::kInnerProduct},
    {"euclidean", Metric::kL2},
}};

template <typename Table, typename Value>
std::string_view NameIn(const Table& table, Value value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return table[0].first;
}

template <typename Table>
auto FromNameIn(const Table& table, std::string_view name)
    -> std::optional<typename Table::value_type::second_type> {
  for (const auto& [n, value] : table) {
    if (n == name) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view IndexKindName(IndexKind kind) { return NameIn(kIndexKinds, kind); }
std::optional<IndexKind> IndexKindFromName(std::string_view name) {
  return FromNameIn(kIndexKinds, name);
}
std::string_view MetricName(Metric metric) { return NameIn(kMetrics, metric); }
std::optional<Metric> MetricFromName(std::string_view name) { return FromNameIn(kMetrics, name); }

}  // namespace llmkit
