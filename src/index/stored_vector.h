// What every store shares: the vector rule applied before storing or searching (the store's
// dimension, finite components, not the zero vector under cosine; L2-normalized under cosine,
// what the local store keeps, so that every store returns the same vectors and scores), and
// the wait before a remote store retries a transient failure.

#ifndef LLMKIT_INDEX_STORED_VECTOR_H_
#define LLMKIT_INDEX_STORED_VECTOR_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/call.h"
#include "llmkit/store.h"

namespace llmkit::internal {

// Errors: kInvalidArgument naming `what` (wrong size, a non-finite component, zero under
// cosine).
absl::StatusOr<std::vector<float>> PrepareStoredVector(absl::Span<const float> v, int dim,
                                                       Metric metric, std::string_view what);

// Waits before retry number `retry` (0 for the first) of a store call that failed with
// `failure`: resilience's RetryDelay (exponential backoff with jitter, 100 ms up to 2 s, and the
// server's hint when the status carries one), waking early on the call's cancellation. False
// when the wait would pass the call's deadline or the call was cancelled meanwhile: the caller
// gives up with `failure`.
bool WaitBeforeRetry(const absl::Status& failure, int retry, const CallContext& call);

}  // namespace llmkit::internal

#endif  // LLMKIT_INDEX_STORED_VECTOR_H_
