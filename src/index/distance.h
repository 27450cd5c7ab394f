// Vector kernels for the index: dot products and squared L2 distances over float32 or float16
// rows, with AVX2/FMA versions chosen at run time (scalar otherwise), and the BLAS call the
// batch search uses. (float16 conversion: common/float16.h.)

#ifndef LLMKIT_SRC_INDEX_DISTANCE_H_
#define LLMKIT_SRC_INDEX_DISTANCE_H_

#include <cstddef>
#include <cstdint>

#include "common/float16.h"

namespace llmkit::internal {

// Scores `rows` consecutive rows of `base` (row stride `dim`) against `query` into out[0..rows).
// Internal scores are "higher is closer": the dot product, or the negated squared L2 distance.
using ScoreRowsFn = void (*)(const float* query, const void* base, size_t rows, size_t dim,
                             float* out);

enum class Element { kFloat32, kFloat16 };

// The fastest kernel this CPU runs for the element type and metric (l2: negated squared L2).
ScoreRowsFn GetScoreRows(Element element, bool l2);

// C = A^T * B with A (k x m) and B (k x n) column-major — i.e. out[j * m + i] =
// dot(a_row_i, b_row_j) when a and b are row-major m x k and n x k. Calls the system BLAS.
void RowDotsBlas(const float* a, size_t m, const float* b, size_t n, size_t k, float* out);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_INDEX_DISTANCE_H_
