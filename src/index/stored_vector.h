// The vector rule every store applies before storing or searching: the store's dimension,
// finite components, not the zero vector under cosine; L2-normalized under cosine (what the
// local store keeps, so that every store returns the same vectors and scores).

#ifndef LLMKIT_INDEX_STORED_VECTOR_H_
#define LLMKIT_INDEX_STORED_VECTOR_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/store.h"

namespace llmkit::internal {

// Errors: kInvalidArgument naming `what` (wrong size, a non-finite component, zero under
// cosine).
absl::StatusOr<std::vector<float>> PrepareStoredVector(absl::Span<const float> v, int dim,
                                                       Metric metric, std::string_view what);

}  // namespace llmkit::internal

#endif  // LLMKIT_INDEX_STORED_VECTOR_H_
