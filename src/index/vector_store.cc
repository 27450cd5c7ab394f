// VectorStore, TopK and the exact scans (single query by SIMD kernel, batches by BLAS).

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "index/ann.h"

namespace llmkit::internal {

VectorStore::VectorStore(size_t dim, bool float16, bool l2)
    : dim_(dim),
      float16_(float16),
      l2_(l2),
      score_rows_(GetScoreRows(float16 ? Element::kFloat16 : Element::kFloat32, l2)) {}

const void* VectorStore::data() const {
  if (mapped_data_ != nullptr) return mapped_data_;
  return float16_ ? static_cast<const void*>(f16_.data()) : static_cast<const void*>(f32_.data());
}

void VectorStore::Materialize() {
  if (mapped_ == nullptr) return;
  const size_t n = rows_ * dim_;
  if (float16_) {
    f16_.resize(n);
    if (n != 0) std::memcpy(f16_.data(), mapped_data_, n * 2);
  } else {
    f32_.resize(n);
    if (n != 0) std::memcpy(f32_.data(), mapped_data_, n * 4);
  }
  mapped_.reset();
  mapped_data_ = nullptr;
}

void VectorStore::Reserve(size_t rows) {
  Materialize();
  if (float16_) {
    f16_.reserve(rows * dim_);
  } else {
    f32_.reserve(rows * dim_);
  }
}

void VectorStore::Append(const float* rows, size_t n) {
  Materialize();
  if (float16_) {
    size_t old = f16_.size();
    f16_.resize(old + n * dim_);
    for (size_t i = 0; i < n * dim_; ++i) f16_[old + i] = FloatToHalf(rows[i]);
  } else {
    f32_.insert(f32_.end(), rows, rows + n * dim_);
  }
  rows_ += n;
}

void VectorStore::Compact(const std::vector<uint8_t>& keep) {
  Materialize();
  size_t out = 0;
  for (size_t row = 0; row < rows_; ++row) {
    if (!keep[row]) continue;
    if (out != row) {
      if (float16_) {
        std::memmove(&f16_[out * dim_], &f16_[row * dim_], dim_ * 2);
      } else {
        std::memmove(&f32_[out * dim_], &f32_[row * dim_], dim_ * 4);
      }
    }
    ++out;
  }
  rows_ = out;
  if (float16_) {
    f16_.resize(out * dim_);
    f16_.shrink_to_fit();
  } else {
    f32_.resize(out * dim_);
    f32_.shrink_to_fit();
  }
}

void VectorStore::Row(size_t row, float* out) const {
  if (float16_) {
    HalfsToFloats(static_cast<const uint16_t*>(data()) + row * dim_, dim_, out);
  } else {
    std::memcpy(out, static_cast<const float*>(data()) + row * dim_, dim_ * 4);
  }
}

std::string_view VectorStore::RawBytes() const {
  return {static_cast<const char*>(data()), bytes()};
}

bool VectorStore::AssignRaw(std::string_view bytes, size_t rows) {
  size_t element = float16_ ? 2 : 4;
  if (dim_ != 0 && rows > bytes.size() / dim_ / element) return false;
  if (bytes.size() != rows * dim_ * element) return false;
  mapped_.reset();
  mapped_data_ = nullptr;
  if (float16_) {
    f16_.resize(rows * dim_);
    std::memcpy(f16_.data(), bytes.data(), bytes.size());
  } else {
    f32_.resize(rows * dim_);
    std::memcpy(f32_.data(), bytes.data(), bytes.size());
  }
  rows_ = rows;
  return true;
}

bool VectorStore::AssignMapped(std::shared_ptr<const SharedBytes> owner, std::string_view bytes,
                               size_t rows) {
  size_t element = float16_ ? 2 : 4;
  if (dim_ != 0 && rows > bytes.size() / dim_ / element) return false;
  if (bytes.size() != rows * dim_ * element) return false;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % element != 0) return false;
  f16_.clear();
  f32_.clear();
  mapped_ = std::move(owner);
  mapped_data_ = bytes.data();
  rows_ = rows;
  return true;
}

float VectorStore::Score(const float* query, size_t row) const {
  float out;
  score_rows_(query, static_cast<const char*>(data()) + row * dim_ * (float16_ ? 2 : 4), 1, dim_,
              &out);
  return out;
}

namespace {
constexpr size_t kBlockRows = 256;  // Scores per kernel call (fits in L1).
}  // namespace

std::vector<ScoredSlot> ExactSearch(const VectorStore& store, const float* query, size_t k,
                                    const uint8_t* allowed) {
  TopK top(k);
  const size_t dim = store.dim(), rows = store.rows();
  const size_t row_bytes = dim * (store.float16() ? 2 : 4);
  const char* base = static_cast<const char*>(store.data());
  ScoreRowsFn score_rows = store.score_rows();
  float scores[kBlockRows];
  for (size_t first = 0; first < rows; first += kBlockRows) {
    size_t n = std::min(kBlockRows, rows - first);
    if (allowed == nullptr) {
      score_rows(query, base + first * row_bytes, n, dim, scores);
      float threshold = top.threshold();
      for (size_t i = 0; i < n; ++i) {
        // Ties at the threshold lose (a higher slot never beats a lower one at equal score).
        if (scores[i] > threshold) {
          top.Push(scores[i], static_cast<uint32_t>(first + i));
          threshold = top.threshold();
        }
      }
      continue;
    }
    // Runs of allowed rows go through the kernel together.
    size_t i = 0;
    while (i < n) {
      if (!allowed[first + i]) {
        ++i;
        continue;
      }
      size_t run = i;
      while (run < n && allowed[first + run]) ++run;
      score_rows(query, base + (first + i) * row_bytes, run - i, dim, scores + i);
      for (size_t j = i; j < run; ++j) top.Push(scores[j], static_cast<uint32_t>(first + j));
      i = run;
    }
  }
  return std::move(top).Sorted();
}

std::vector<std::vector<ScoredSlot>> ExactSearchBatch(const VectorStore& store,
                                                      const float* queries, size_t m, size_t k) {
  const size_t dim = store.dim(), rows = store.rows();
  constexpr size_t kBatchBlock = 4096;
  std::vector<TopK> tops(m, TopK(k));
  std::vector<float> scores(kBatchBlock * m);
  std::vector<float> decoded(store.float16() ? kBatchBlock * dim : 0);
  std::vector<float> row_norms(kBatchBlock);
  std::vector<float> query_norms(m);
  if (store.l2()) {
    for (size_t q = 0; q < m; ++q) {
      float sum = 0;
      for (size_t j = 0; j < dim; ++j) sum += queries[q * dim + j] * queries[q * dim + j];
      query_norms[q] = sum;
    }
  }
  for (size_t first = 0; first < rows; first += kBatchBlock) {
    size_t n = std::min(kBatchBlock, rows - first);
    const float* block;
    if (store.float16()) {
      for (size_t i = 0; i < n; ++i) store.Row(first + i, &decoded[i * dim]);
      block = decoded.data();
    } else {
      block = store.float32_data() + first * dim;
    }
    RowDotsBlas(block, n, queries, m, dim, scores.data());  // scores[q * n + i].
    if (store.l2()) {
      for (size_t i = 0; i < n; ++i) {
        float sum = 0;
        for (size_t j = 0; j < dim; ++j) sum += block[i * dim + j] * block[i * dim + j];
        row_norms[i] = sum;
      }
    }
    for (size_t q = 0; q < m; ++q) {
      TopK& top = tops[q];
      float* s = &scores[q * n];
      if (store.l2()) {
        for (size_t i = 0; i < n; ++i) s[i] = -(row_norms[i] - 2 * s[i] + query_norms[q]);
      }
      float threshold = top.threshold();
      for (size_t i = 0; i < n; ++i) {
        if (s[i] > threshold) {
          top.Push(s[i], static_cast<uint32_t>(first + i));
          threshold = top.threshold();
        }
      }
    }
  }
  std::vector<std::vector<ScoredSlot>> out;
  out.reserve(m);
  for (TopK& top : tops) out.push_back(std::move(top).Sorted());
  return out;
}

}  // namespace llmkit::internal
