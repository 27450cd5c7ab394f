// VectorStore's default batch search (one Search per query), and the vector rule every store
// applies.

#include "llmkit/store.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/stored_vector.h"
#include "llmkit/status.h"

namespace llmkit {

namespace internal {

absl::StatusOr<std::vector<float>> PrepareStoredVector(absl::Span<const float> v, int dim,
                                                       Metric metric, std::string_view what) {
  if (v.size() != static_cast<size_t>(dim)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), ": ", v.size(), " components, the store's dimension is ", dim));
  }
  double norm = 0;
  for (size_t j = 0; j < v.size(); ++j) {
    if (!std::isfinite(v[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(what), ": component ", j, " is not finite"));
    }
    norm += double(v[j]) * v[j];
  }
  std::vector<float> out(v.begin(), v.end());
  if (metric == Metric::kCosine) {
    if (norm == 0) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": zero vector under cosine"));
    }
    const float scale = static_cast<float>(1 / std::sqrt(norm));
    for (float& x : out) x *= scale;
  }
  return out;
}

}  // namespace internal

absl::StatusOr<std::vector<std::vector<SearchHit>>> VectorStore::SearchBatch(
    absl::Span<const float> queries, const SearchOptions& options, const CallContext& call) const {
  const size_t d = static_cast<size_t>(dim());
  if (d == 0 || queries.size() % d != 0) {
    return absl::InvalidArgumentError(absl::StrCat("queries hold ", queries.size(),
                                                   " floats, not a multiple of the dimension ", d));
  }
  std::vector<std::vector<SearchHit>> out;
  out.reserve(queries.size() / d);
  for (size_t start = 0; start < queries.size(); start += d) {
    LLMKIT_ASSIGN_OR_RETURN(std::vector<SearchHit> hits,
                            Search(queries.subspan(start, d), options, call));
    out.push_back(std::move(hits));
  }
  return out;
}

}  // namespace llmkit
