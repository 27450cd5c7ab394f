// VectorStore's default batch search: one Search per query.

#include "llmkit/store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "llmkit/status.h"

namespace llmkit {

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
