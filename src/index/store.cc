// VectorStore's default batch search (one Search per query), and the vector rule every store
// applies.

#include "llmkit/store.h"

#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/stored_vector.h"
#include "llmkit/resilience.h"
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

bool WaitBeforeRetry(const absl::Status& failure, int retry, const CallContext& call) {
  static const RetryPolicy kPolicy = [] {
    RetryPolicy policy;
    policy.initial_backoff = std::chrono::milliseconds(100);
    policy.max_backoff = std::chrono::milliseconds(2000);
    return policy;
  }();
  static const std::shared_ptr<Clock> clock = SystemClock();
  static const std::shared_ptr<Sleeper> sleeper = RealSleeper();
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::chrono::nanoseconds delay = RetryDelay(
      failure, retry, kPolicy, *clock, std::uniform_real_distribution<double>(0, 1)(random));
  if (delay >= call.Remaining()) return false;
  return sleeper->Sleep(delay, call.cancellation.get()) && !call.cancelled();
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
