#include "index/distance.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "common/cpu_features.h"

extern "C" int sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                      const int* k, const float* alpha, const float* a, const int* lda,
                      const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

namespace llmkit::internal {
namespace {

// ---- Scalar versions (any x86-64; the compiler vectorizes them for SSE2) ----

float DotScalar(const float* q, const float* x, size_t dim) {
  float sum = 0;
  for (size_t j = 0; j < dim; ++j) sum += q[j] * x[j];
  return sum;
}

float NegL2Scalar(const float* q, const float* x, size_t dim) {
  float sum = 0;
  for (size_t j = 0; j < dim; ++j) {
    float d = q[j] - x[j];
    sum += d * d;
  }
  return -sum;
}

void DotRowsScalar(const float* q, const void* base, size_t rows, size_t dim, float* out) {
  const float* x = static_cast<const float*>(base);
  for (size_t i = 0; i < rows; ++i) out[i] = DotScalar(q, x + i * dim, dim);
}

void NegL2RowsScalar(const float* q, const void* base, size_t rows, size_t dim, float* out) {
  const float* x = static_cast<const float*>(base);
  for (size_t i = 0; i < rows; ++i) out[i] = NegL2Scalar(q, x + i * dim, dim);
}

void HalfRowsScalar(const float* q, const void* base, size_t rows, size_t dim, float* out,
                    bool l2) {
  const uint16_t* x = static_cast<const uint16_t*>(base);
  for (size_t i = 0; i < rows; ++i) {
    float sum = 0;
    for (size_t j = 0; j < dim; ++j) {
      float v = HalfToFloat(x[i * dim + j]);
      sum += l2 ? (q[j] - v) * (q[j] - v) : q[j] * v;
    }
    out[i] = l2 ? -sum : sum;
  }
}
void DotHalfRowsScalar(const float* q, const void* b, size_t r, size_t d, float* o) {
  HalfRowsScalar(q, b, r, d, o, false);
}
void NegL2HalfRowsScalar(const float* q, const void* b, size_t r, size_t d, float* o) {
  HalfRowsScalar(q, b, r, d, o, true);
}

// ---- AVX2 + FMA versions ----

#define LLMKIT_AVX2 __attribute__((target("avx2,fma,f16c")))

LLMKIT_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// Loads 8 elements as floats, from float32 or float16 storage.
template <bool kHalf>
LLMKIT_AVX2 inline __m256 Load8(const void* base, size_t index) {
  if constexpr (kHalf) {
    return _mm256_cvtph_ps(_mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + index)));
  } else {
    return _mm256_loadu_ps(static_cast<const float*>(base) + index);
  }
}

template <bool kHalf>
inline float LoadOne(const void* base, size_t index) {
  if constexpr (kHalf) return HalfToFloat(static_cast<const uint16_t*>(base)[index]);
  return static_cast<const float*>(base)[index];
}

template <bool kHalf, bool kL2>
LLMKIT_AVX2 inline __m256 Accumulate(__m256 acc, __m256 q, __m256 x) {
  if constexpr (kL2) {
    __m256 d = _mm256_sub_ps(q, x);
    return _mm256_fmadd_ps(d, d, acc);
  } else {
    return _mm256_fmadd_ps(q, x, acc);
  }
}

// One row, front to back, four accumulators (32 elements per step): one sequential stream the
// hardware prefetcher follows at full bandwidth, with the query resident in L1.
template <bool kHalf, bool kL2>
LLMKIT_AVX2 float ScoreRowAvx2(const float* q, const void* base, size_t row, size_t dim) {
  size_t offset = row * dim;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    a0 = Accumulate<kHalf, kL2>(a0, _mm256_loadu_ps(q + j), Load8<kHalf>(base, offset + j));
    a1 = Accumulate<kHalf, kL2>(a1, _mm256_loadu_ps(q + j + 8), Load8<kHalf>(base, offset + j + 8));
    a2 = Accumulate<kHalf, kL2>(a2, _mm256_loadu_ps(q + j + 16),
                                Load8<kHalf>(base, offset + j + 16));
    a3 = Accumulate<kHalf, kL2>(a3, _mm256_loadu_ps(q + j + 24),
                                Load8<kHalf>(base, offset + j + 24));
  }
  for (; j + 8 <= dim; j += 8) {
    a0 = Accumulate<kHalf, kL2>(a0, _mm256_loadu_ps(q + j), Load8<kHalf>(base, offset + j));
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; j < dim; ++j) {
    float x = LoadOne<kHalf>(base, offset + j);
    sum += kL2 ? (q[j] - x) * (q[j] - x) : q[j] * x;
  }
  return kL2 ? -sum : sum;
}

template <bool kHalf, bool kL2>
LLMKIT_AVX2 void ScoreRowsAvx2(const float* q, const void* base, size_t rows, size_t dim,
                               float* out) {
  for (size_t i = 0; i < rows; ++i) out[i] = ScoreRowAvx2<kHalf, kL2>(q, base, i, dim);
}

bool HasAvx2() { return Cpu().avx2_fma_f16c; }

}  // namespace

ScoreRowsFn GetScoreRows(Element element, bool l2) {
  bool half = element == Element::kFloat16;
  if (HasAvx2()) {
    if (half) return l2 ? &ScoreRowsAvx2<true, true> : &ScoreRowsAvx2<true, false>;
    return l2 ? &ScoreRowsAvx2<false, true> : &ScoreRowsAvx2<false, false>;
  }
  if (half) return l2 ? &NegL2HalfRowsScalar : &DotHalfRowsScalar;
  return l2 ? &NegL2RowsScalar : &DotRowsScalar;
}

void RowDotsBlas(const float* a, size_t m, const float* b, size_t n, size_t k, float* out) {
  const char trans = 'T', notrans = 'N';
  const float one = 1, zero = 0;
  int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  sgemm_(&trans, &notrans, &mi, &ni, &ki, &one, a, &ki, b, &ki, &zero, out, &mi);
}

}  // namespace llmkit::internal
