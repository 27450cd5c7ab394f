// The latent semantic model: the SVD of the documents' TF-IDF rows W, exact through W W^T's
// eigenvectors for up to 512 documents, else randomized (Halko, Martinsson and Tropp 2011,
// algorithm 4.4: 512 random-sign samples, three power iterations, each product
// re-orthonormalized), with LAPACK's dsyevd and BLAS's dgemm for the dense products.

#include "rag/latent_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "llmkit/status.h"
#include "unicode/utf8.h"

extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace llmkit::internal {
namespace {

constexpr int kSamples = 512;
constexpr int kPowerIterations = 3;

// Rows of documents over the fitted terms: (term, weight) pairs, L2-normalized.
struct SparseRows {
  std::vector<size_t> start{0};
  std::vector<uint32_t> term;
  std::vector<double> weight;
  size_t rows() const { return start.size() - 1; }
};

// A row-major matrix.
struct Dense {
  int rows = 0, cols = 0;
  std::vector<double> v;
  Dense(int r, int c) : rows(r), cols(c), v(static_cast<size_t>(r) * c, 0.0) {}
  double* row(int i) { return v.data() + static_cast<size_t>(i) * cols; }
  const double* row(int i) const { return v.data() + static_cast<size_t>(i) * cols; }
};

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The same sample on every machine: FNV-1a of the id.
uint64_t StableHash(std::string_view id) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : id) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

// Runs fn(begin, end) over [0, n) in two halves, one on another thread: the fit's sparse
// products split by output rows, so the halves write apart.
template <typename Fn>
void OnTwoThreads(size_t n, const Fn& fn) {
  if (n < 64) {
    fn(size_t{0}, n);
    return;
  }
  std::thread other(fn, n / 2, n);
  fn(size_t{0}, n / 2);
  other.join();
}

// Byte b as eight +-1 values, bit i (least significant first) giving value i.
struct SignTable {
  double values[256][8];
  constexpr SignTable() : values() {
    for (int b = 0; b < 256; ++b) {
      for (int i = 0; i < 8; ++i) values[b][i] = (b >> i) & 1 ? 1.0 : -1.0;
    }
  }
  const double* operator[](int b) const { return values[b]; }
};
constexpr SignTable kSignTable;

// W x Omega for a random +-1 matrix Omega (terms x samples, one bit each, fixed seed: the same
// model for the same corpus): rows() x samples.
Dense TimesRandomSigns(const SparseRows& w, int terms, int samples) {
  const int words = (samples + 63) / 64;
  std::vector<uint64_t> bits(static_cast<size_t>(terms) * words);
  uint64_t state = 0x6C6C6D6B6974ULL;
  for (uint64_t& b : bits) b = SplitMix64(&state);
  Dense out(static_cast<int>(w.rows()), samples);
  OnTwoThreads(w.rows(), [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      double* o = out.row(static_cast<int>(i));
      for (size_t e = w.start[i]; e < w.start[i + 1]; ++e) {
        const auto* signs =
            reinterpret_cast<const uint8_t*>(bits.data() + static_cast<size_t>(w.term[e]) * words);
        const double x = w.weight[e];
        // A byte of signs at a time through the table (eight +-1 each): vectorized adds.
        for (int j = 0; j + 8 <= samples; j += 8) {
          const double* add = kSignTable[signs[j >> 3]];
          for (int b = 0; b < 8; ++b) o[j + b] += x * add[b];
        }
        for (int j = samples & ~7; j < samples; ++j) {
          o[j] += (signs[j >> 3] >> (j & 7)) & 1 ? x : -x;
        }
      }
    }
  });
  return out;
}

// W's columns: each term's (document, weight) postings.
using Postings = std::vector<std::vector<std::pair<uint32_t, double>>>;
Postings ColumnsOf(const SparseRows& w, int terms) {
  Postings postings(static_cast<size_t>(terms));
  for (size_t i = 0; i < w.rows(); ++i) {
    for (size_t e = w.start[i]; e < w.start[i + 1]; ++e) {
      postings[w.term[e]].emplace_back(static_cast<uint32_t>(i), w.weight[e]);
    }
  }
  return postings;
}

// W W^T right (rows() x right.cols), 64 columns at a time so that W^T's product (terms x 64)
// stays small: terms x 512 doubles would be the fit's largest matrix by far.
Dense GramTimes(const SparseRows& w, const Postings& columns, const Dense& right) {
  constexpr int kBlock = 64;
  Dense out(static_cast<int>(w.rows()), right.cols);
  std::vector<double> z(columns.size() * kBlock);
  for (int first = 0; first < right.cols; first += kBlock) {
    const int width = std::min(kBlock, right.cols - first);
    std::fill(z.begin(), z.end(), 0.0);
    OnTwoThreads(columns.size(), [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) {
        double* o = z.data() + t * kBlock;
        for (const auto& [i, x] : columns[t]) {
          const double* r = right.row(static_cast<int>(i)) + first;
          for (int j = 0; j < width; ++j) o[j] += x * r[j];
        }
      }
    });
    OnTwoThreads(w.rows(), [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        double* o = out.row(static_cast<int>(i)) + first;
        for (size_t e = w.start[i]; e < w.start[i + 1]; ++e) {
          const double* r = z.data() + static_cast<size_t>(w.term[e]) * kBlock;
          const double x = w.weight[e];
          for (int j = 0; j < width; ++j) o[j] += x * r[j];
        }
      }
    });
  }
  return out;
}

// The terms' vectors, idf[t] x (W^T factor)[t] as float rows (terms x factor.cols).
std::vector<float> TermVectors(const Postings& columns, const Dense& factor,
                               const std::vector<double>& idf) {
  const int k = factor.cols;
  std::vector<float> out(columns.size() * static_cast<size_t>(k));
  OnTwoThreads(columns.size(), [&](size_t begin, size_t end) {
    std::vector<double> sum(static_cast<size_t>(k));
    for (size_t t = begin; t < end; ++t) {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (const auto& [i, x] : columns[t]) {
        const double* r = factor.row(static_cast<int>(i));
        for (int j = 0; j < k; ++j) sum[j] += x * r[j];
      }
      for (int j = 0; j < k; ++j) out[t * k + j] = static_cast<float>(idf[t] * sum[j]);
    }
  });
  return out;
}

// M^T M of a row-major matrix (cols x cols, symmetric): the Gram matrix of its columns.
std::vector<double> Gram(const Dense& m) {
  // Row-major rows x cols is column-major cols x rows (A); A A^T is the Gram matrix.
  std::vector<double> g(static_cast<size_t>(m.cols) * m.cols);
  const double one = 1, zero = 0;
  dgemm_("N", "T", &m.cols, &m.cols, &m.rows, &one, m.v.data(), &m.cols, m.v.data(), &m.cols, &zero,
         g.data(), &m.cols);
  return g;
}

// Eigenvalues (ascending) and eigenvectors (columns, in place of `a`) of a symmetric n x n.
absl::Status SymmetricEigen(int n, std::vector<double>* a, std::vector<double>* values) {
  values->assign(static_cast<size_t>(n), 0.0);
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  double work_size = 0;
  dsyevd_("V", "U", &n, a->data(), &n, values->data(), &work_size, &lwork, &iwork_size, &liwork,
          &info);
  if (info != 0) return absl::InternalError(absl::StrCat("dsyevd workspace query: ", info));
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  dsyevd_("V", "U", &n, a->data(), &n, values->data(), work.data(), &lwork, iwork.data(), &liwork,
          &info);
  if (info != 0) return absl::InternalError(absl::StrCat("dsyevd: ", info));
  return absl::OkStatus();
}

// The columns of `vectors` (column-major n x n, ascending `values`) of the `keep` largest
// values, each scaled by value^power: column-major n x keep.
std::vector<double> TopColumns(int n, const std::vector<double>& vectors,
                               const std::vector<double>& values, int keep, double power) {
  std::vector<double> out(static_cast<size_t>(n) * keep);
  for (int j = 0; j < keep; ++j) {
    const int from = n - 1 - j;
    const double scale = std::pow(values[static_cast<size_t>(from)], power);
    for (int i = 0; i < n; ++i) {
      out[static_cast<size_t>(j) * n + i] = vectors[static_cast<size_t>(from) * n + i] * scale;
    }
  }
  return out;
}

// How many of the ascending `values` are above a relative floor (the numerical rank).
int Rank(const std::vector<double>& values, int limit) {
  const double top = values.empty() ? 0 : values.back();
  int rank = 0;
  for (auto it = values.rbegin(); it != values.rend() && rank < limit; ++it, ++rank) {
    if (!(*it > top * 1e-10) || top <= 0) break;
  }
  return rank;
}

// m (rows x cols, row-major) times column-major cols x keep: rows x keep, row-major.
Dense TimesColumns(const Dense& m, const std::vector<double>& columns, int keep) {
  Dense out(m.rows, keep);
  // Row-major out^T (keep x rows, column-major) = columns^T (keep x cols) m^T (cols x rows).
  const double one = 1, zero = 0;
  dgemm_("T", "N", &keep, &m.rows, &m.cols, &one, columns.data(), &m.cols, m.v.data(), &m.cols,
         &zero, out.v.data(), &keep);
  return out;
}

// An orthonormal basis of m's columns (Cholesky-QR through the Gram matrix's eigenvectors;
// `passes` 2 for full accuracy); columns past the numerical rank are dropped.
absl::StatusOr<Dense> Orthonormalize(Dense m, int passes) {
  for (int pass = 0; pass < passes; ++pass) {
    std::vector<double> gram = Gram(m);
    std::vector<double> values;
    LLMKIT_RETURN_IF_ERROR(SymmetricEigen(m.cols, &gram, &values));
    const int rank = Rank(values, m.cols);
    if (rank == 0) return Dense(m.rows, 0);
    m = TimesColumns(m, TopColumns(m.cols, gram, values, rank, -0.5), rank);
  }
  return m;
}

// W W^T (rows x rows; symmetric, so row- and column-major alike), from the terms' postings.
std::vector<double> RowGram(const SparseRows& w, const Postings& columns) {
  const size_t n = w.rows();
  std::vector<double> gram(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    double* row = gram.data() + i * n;
    for (size_t e = w.start[i]; e < w.start[i + 1]; ++e) {
      const double x = w.weight[e];
      for (const auto& [j, y] : columns[w.term[e]]) row[j] += x * y;
    }
  }
  return gram;
}

// a^T b of two row-major matrices with the same rows: a.cols x b.cols, column-major.
std::vector<double> TransposedProduct(const Dense& a, const Dense& b) {
  std::vector<double> out(static_cast<size_t>(a.cols) * b.cols);
  const double one = 1, zero = 0;
  dgemm_("N", "T", &a.cols, &b.cols, &a.rows, &one, a.v.data(), &a.cols, b.v.data(), &b.cols, &zero,
         out.data(), &a.cols);
  return out;
}

}  // namespace

LatentModel::LatentModel(std::unique_ptr<LatentTerms> terms, std::unique_ptr<Collection> documents,
                         size_t fitted)
    : terms_(std::move(terms)), documents_(std::move(documents)), fitted_(fitted) {}

absl::StatusOr<std::unique_ptr<LatentModel>> LatentModel::Fit(absl::Span<const std::string> ids,
                                                              absl::Span<const TermCounts> terms) {
  if (ids.size() != terms.size()) return absl::InvalidArgumentError("ids and terms differ");
  // The documents the SVD reads: all, or a sample by id hash.
  std::vector<size_t> sample(ids.size());
  std::iota(sample.begin(), sample.end(), 0);
  if (sample.size() > kMaxFitDocuments) {
    std::vector<std::pair<uint64_t, size_t>> keyed;
    keyed.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) keyed.emplace_back(StableHash(ids[i]), i);
    std::nth_element(keyed.begin(), keyed.begin() + kMaxFitDocuments, keyed.end());
    sample.clear();
    for (size_t i = 0; i < kMaxFitDocuments; ++i) sample.push_back(keyed[i].second);
  }
  // Rows in id order: the same model whatever order the documents come in.
  std::sort(sample.begin(), sample.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  // Document frequencies over the sample; the vocabulary is every term, the most frequent
  // kMaxTerms past that many.
  absl::flat_hash_map<std::string_view, uint32_t> df;
  for (size_t d : sample) {
    for (const auto& [t, count] : terms[d]) ++df[t];
  }
  std::vector<std::pair<uint32_t, std::string_view>> kept;
  for (const auto& [term, n] : df) {
    kept.emplace_back(n, term);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (kept.size() > kMaxTerms) kept.resize(kMaxTerms);
  const int vocabulary = static_cast<int>(kept.size());
  const int n = static_cast<int>(sample.size());
  if (n < 3 || vocabulary < 3) return std::unique_ptr<LatentModel>();
  absl::flat_hash_map<std::string_view, uint32_t> column;
  std::vector<double> idf(kept.size());
  for (size_t c = 0; c < kept.size(); ++c) {
    column[kept[c].second] = static_cast<uint32_t>(c);
    idf[c] = std::log((n + 1.0) / (kept[c].first + 1.0)) + 1.0;
  }
  // Log-TF x IDF rows over the vocabulary, unit length.
  const auto row_of = [&](const TermCounts& counts, SparseRows* rows) {
    std::vector<std::pair<uint32_t, double>> entries;
    for (const auto& [t, count] : counts) {
      if (auto it = column.find(t); it != column.end()) entries.emplace_back(it->second, count);
    }
    std::sort(entries.begin(), entries.end());
    double norm = 0;
    for (auto& [c, w] : entries) {
      w = (1 + std::log(w)) * idf[c];
      norm += w * w;
    }
    norm = std::sqrt(norm);
    for (const auto& [c, w] : entries) {
      rows->term.push_back(c);
      rows->weight.push_back(w / norm);
    }
    rows->start.push_back(rows->term.size());
  };
  SparseRows w;
  for (size_t d : sample) row_of(terms[d], &w);

  // V = W^T F with F = U s^-1 over the documents (n x k): from the eigenvectors U and values
  // s^2 of W W^T, exactly when there are few documents, else of Q^T W W^T Q for an
  // orthonormal Q spanning W's dominant range (randomized SVD).
  const Postings columns_of_w = ColumnsOf(w, vocabulary);
  std::vector<double> m;  // Column-major, symmetric.
  int order = n;
  std::optional<Dense> q;
  if (n <= kSamples) {
    m = RowGram(w, columns_of_w);
  } else {
    // Range finder: Q spans (W W^T)^3 W Omega, Omega random signs, each product orthonormalized.
    const int samples = std::min(kSamples, vocabulary);
    LLMKIT_ASSIGN_OR_RETURN(q, Orthonormalize(TimesRandomSigns(w, vocabulary, samples), 1));
    for (int i = 0; i < kPowerIterations && q->cols > 0; ++i) {
      LLMKIT_ASSIGN_OR_RETURN(
          q, Orthonormalize(GramTimes(w, columns_of_w, *q), i + 1 == kPowerIterations ? 2 : 1));
    }
    if (q->cols == 0) return std::unique_ptr<LatentModel>();
    m = TransposedProduct(*q, GramTimes(w, columns_of_w, *q));
    order = q->cols;
  }
  std::vector<double> values;
  LLMKIT_RETURN_IF_ERROR(SymmetricEigen(order, &m, &values));
  const int k = Rank(values, kDimensions);
  if (k < 2) return std::unique_ptr<LatentModel>();
  std::vector<double> columns = TopColumns(order, m, values, k, -0.5);  // order x k
  Dense factor(n, k);
  if (q.has_value()) {
    factor = TimesColumns(*q, columns, k);
  } else {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < k; ++j) factor.row(i)[j] = columns[static_cast<size_t>(j) * n + i];
    }
  }

  // The terms' vectors: IDF x V (V = W^T F), so that a text's projection is the sum of its
  // terms' vectors weighed by 1 + ln tf (its length does not matter: projections are
  // normalized).
  std::vector<std::string> names(kept.size());
  for (size_t c = 0; c < kept.size(); ++c) names[c] = std::string(kept[c].second);
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<LatentTerms> term_vectors,
                          LatentTerms::Make(names, TermVectors(columns_of_w, factor, idf), k));
  LLMKIT_ASSIGN_OR_RETURN(
      std::unique_ptr<Collection> documents,
      Collection::Create({.dim = k, .metric = Metric::kInnerProduct, .float16 = true}));
  std::unique_ptr<LatentModel> model(
      new LatentModel(std::move(term_vectors), std::move(documents), ids.size()));
  LLMKIT_RETURN_IF_ERROR(model->Upsert(ids, terms));
  model->changed_ = 0;
  return model;
}

absl::StatusOr<std::unique_ptr<LatentModel>> LatentModel::Open(const std::string& terms_path,
                                                               const std::string& documents_dir) {
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<LatentTerms> terms, LatentTerms::Open(terms_path));
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Collection> documents, Collection::Load(documents_dir));
  if (terms->dim() != documents->dim()) {
    return absl::DataLossError(
        absl::StrCat(terms_path, " and ", documents_dir, " have different dimensions"));
  }
  const size_t fitted = documents->Size();
  return std::unique_ptr<LatentModel>(
      new LatentModel(std::move(terms), std::move(documents), fitted));
}

std::string_view LatentText(std::string_view text) {
  return text.substr(0, CharacterStart(text, LatentModel::kMaxText));
}

TermCounts CountTerms(absl::Span<const std::string> terms) {
  TermCounts counts;
  for (const std::string& t : terms) ++counts[t];
  return counts;
}

absl::StatusOr<std::vector<float>> LatentModel::Project(const TermCounts& tf) const {
  const int dim = terms_->dim();
  std::vector<double> sum(static_cast<size_t>(dim), 0.0);
  bool known = false;
  // In term order: the float sums, and so the scores, are the same in every process (a hash
  // map's order is not).
  std::vector<std::pair<std::string_view, uint32_t>> sorted(tf.begin(), tf.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [term, count] : sorted) {
    LLMKIT_ASSIGN_OR_RETURN(bool found, terms_->AddTo(term, 1 + std::log(count), sum.data()));
    known = known || found;
  }
  double norm = 0;
  for (double x : sum) norm += x * x;
  if (!known || !(norm > 0)) return std::vector<float>{};
  norm = std::sqrt(norm);
  std::vector<float> out(static_cast<size_t>(dim));
  for (int j = 0; j < dim; ++j) out[j] = static_cast<float>(sum[j] / norm);
  return out;
}

absl::Status LatentModel::Upsert(absl::Span<const std::string> ids,
                                 absl::Span<const TermCounts> terms) {
  if (ids.size() != terms.size()) return absl::InvalidArgumentError("ids and terms differ");
  std::vector<std::string> kept, gone;
  std::vector<float> vectors;
  // In id order: the documents' slots, and so how ties rank, do not depend on the caller's.
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i : order) {
    LLMKIT_ASSIGN_OR_RETURN(std::vector<float> v, Project(terms[i]));
    if (v.empty()) {
      gone.push_back(ids[i]);  // Nothing known of it: an older version must not stay.
      continue;
    }
    kept.push_back(ids[i]);
    vectors.insert(vectors.end(), v.begin(), v.end());
  }
  if (!kept.empty()) LLMKIT_RETURN_IF_ERROR(documents_->Upsert(kept, vectors));
  if (!gone.empty()) LLMKIT_RETURN_IF_ERROR(documents_->Delete(gone).status());
  changed_ += ids.size();
  return absl::OkStatus();
}

void LatentModel::Delete(absl::Span<const std::string> ids) {
  absl::StatusOr<size_t> deleted = documents_->Delete(ids);
  if (deleted.ok()) changed_ += *deleted;
}

absl::StatusOr<std::vector<SearchHit>> LatentModel::Search(absl::Span<const std::string> terms,
                                                           int k) const {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<float> query, Project(CountTerms(terms)));
  if (query.empty() || documents_->Size() == 0) return std::vector<SearchHit>{};
  return documents_->Search(query, {.k = k, .include_text = false, .include_metadata = false});
}

absl::Status LatentModel::Save(const std::string& terms_path,
                               const std::string& documents_dir) const {
  LLMKIT_RETURN_IF_ERROR(terms_->Save(terms_path));
  return documents_->Save(documents_dir);
}

}  // namespace llmkit::internal
