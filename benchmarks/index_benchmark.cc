// The retrieval hot path, 100k x 384 float32, k = 10, one thread unless BLAS adds its own:
//   BM_IndexMemoryFloor        streaming read of the same 153.6 MB: the floor for one exact query
//   BM_IndexExactSearch        Collection (flat) single query        vs BM_FaissFlatIP
//   BM_IndexExactSearchF16     the same over float16 storage (half the bytes)
//   BM_IndexExactSearchF16LargeK  5,000 float16 rows, k 10 and 1,000 (the latent model's search)
//   BM_IndexExactBatch64       64 queries per call (BLAS)            vs BM_FaissFlatIPBatch64
//   BM_IndexHnswSearch         Collection (HNSW) single query        vs BM_IndexHnswRaw (the FAISS
//                              graph walk with llmkit's distance computer, no Collection around
//                              it): the wrapper's overhead
//   BM_IndexIvfSearch          Collection (IVF)                      vs BM_FaissIvfRaw
//   BM_Bm25Search              top-10 over BEIR SciFact when LLMKIT_SHARED_DIR has it
// Counters: bytes_per_vector (memory per stored vector, with the index), GB/s of vector reads.
// Run with OMP_WAIT_POLICY=PASSIVE (FAISS opens OpenMP regions).

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <immintrin.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "index/ann.h"
#include "llmkit/bm25.h"
#include "llmkit/index.h"

namespace {

constexpr size_t kRows = 100000, kDim = 384, kK = 10;

// Low-rank data with noise (the structure real embeddings have; uniform noise defeats HNSW).
const std::vector<float>& Data() {
  static const std::vector<float> data = [] {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    const size_t rank = 24;
    std::vector<float> basis(rank * kDim);
    for (float& b : basis) b = normal(rng);
    std::vector<float> out((kRows + 1000) * kDim);
    std::vector<float> coef(rank);
    for (size_t i = 0; i < kRows + 1000; ++i) {
      for (float& c : coef) c = normal(rng);
      for (size_t j = 0; j < kDim; ++j) {
        float v = 0.05f * normal(rng);
        for (size_t r = 0; r < rank; ++r) v += coef[r] * basis[r * kDim + j];
        out[i * kDim + j] = v;
      }
      float norm = 0;
      for (size_t j = 0; j < kDim; ++j) norm += out[i * kDim + j] * out[i * kDim + j];
      norm = 1 / std::sqrt(norm);
      for (size_t j = 0; j < kDim; ++j) out[i * kDim + j] *= norm;
    }
    return out;
  }();
  return data;
}

const float* Query(size_t i) { return &Data()[(kRows + i % 1000) * kDim]; }

std::vector<std::string> Ids() {
  std::vector<std::string> ids;
  for (size_t i = 0; i < kRows; ++i) ids.push_back(std::to_string(i));
  return ids;
}

llmkit::Collection& Flat(bool float16) {
  static std::unique_ptr<llmkit::Collection> f32, f16;
  auto& col = float16 ? f16 : f32;
  if (col == nullptr) {
    col = llmkit::Collection::Create(
              {.dim = int(kDim), .metric = llmkit::Metric::kInnerProduct, .float16 = float16})
              .value();
    if (!col->Add(Ids(), absl::MakeConstSpan(Data().data(), kRows * kDim)).ok()) std::abort();
  }
  return *col;
}

__attribute__((target("avx2"))) float StreamSum(const float* data, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(data + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(data + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(data + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(data + i + 24));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return out[0] + out[7];
}

void SetBytes(benchmark::State& state, size_t bytes_per_query) {
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes_per_query),
                                              benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

void BM_IndexMemoryFloor(benchmark::State& state) {
  const std::vector<float>& data = Data();
  for (auto _ : state) benchmark::DoNotOptimize(StreamSum(data.data(), kRows * kDim));
  SetBytes(state, kRows * kDim * 4);
}
BENCHMARK(BM_IndexMemoryFloor)->Unit(benchmark::kMillisecond);

void BM_IndexExactSearch(benchmark::State& state) {
  llmkit::Collection& col = Flat(false);
  size_t q = 0;
  for (auto _ : state) {
    auto hits = col.Search(absl::MakeConstSpan(Query(q++), kDim), {.k = int(kK)});
    benchmark::DoNotOptimize(hits);
  }
  SetBytes(state, kRows * kDim * 4);
  state.counters["bytes_per_vector"] = double(col.Stats().vector_bytes) / kRows;
}
BENCHMARK(BM_IndexExactSearch)->Unit(benchmark::kMillisecond);

void BM_IndexExactSearchF16(benchmark::State& state) {
  llmkit::Collection& col = Flat(true);
  size_t q = 0;
  for (auto _ : state) {
    auto hits = col.Search(absl::MakeConstSpan(Query(q++), kDim), {.k = int(kK)});
    benchmark::DoNotOptimize(hits);
  }
  SetBytes(state, kRows * kDim * 2);
  state.counters["bytes_per_vector"] = double(col.Stats().vector_bytes) / kRows;
  // Recall@10 of float16 against float32 on 100 queries.
  double found = 0;
  for (size_t i = 0; i < 100; ++i) {
    auto a = Flat(false).Search(absl::MakeConstSpan(Query(i), kDim), {.k = int(kK)}).value();
    auto b = col.Search(absl::MakeConstSpan(Query(i), kDim), {.k = int(kK)}).value();
    for (const auto& x : b) {
      for (const auto& y : a) found += x.id == y.id;
    }
  }
  state.counters["recall_vs_f32"] = found / (100 * kK);
}
BENCHMARK(BM_IndexExactSearchF16)->Unit(benchmark::kMillisecond);

// A large k over a small float16 collection, as the RAG pipeline's latent model asks of its
// documents (the top 1,000 of SciFact's 5,183): the selection and the hits, not the scan,
// are most of it. Arg: k.
void BM_IndexExactSearchF16LargeK(benchmark::State& state) {
  constexpr size_t kSmall = 5000;
  static const std::unique_ptr<llmkit::Collection> col = [] {
    auto c = llmkit::Collection::Create(
                 {.dim = int(kDim), .metric = llmkit::Metric::kInnerProduct, .float16 = true})
                 .value();
    std::vector<std::string> ids = Ids();
    ids.resize(kSmall);
    if (!c->Add(ids, absl::MakeConstSpan(Data().data(), kSmall * kDim)).ok()) std::abort();
    return c;
  }();
  size_t q = 0;
  for (auto _ : state) {
    auto hits =
        col->Search(absl::MakeConstSpan(Query(q++), kDim),
                    {.k = int(state.range(0)), .include_text = false, .include_metadata = false});
    benchmark::DoNotOptimize(hits);
  }
}
BENCHMARK(BM_IndexExactSearchF16LargeK)
    ->Arg(10)
    ->Arg(300)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);

faiss::IndexFlatIP& FaissFlat() {
  static faiss::IndexFlatIP* index = [] {
    auto* index = new faiss::IndexFlatIP(kDim);
    index->add(kRows, Data().data());
    return index;
  }();
  return *index;
}

void BM_FaissFlatIP(benchmark::State& state) {
  faiss::IndexFlatIP& index = FaissFlat();
  std::vector<float> d(kK);
  std::vector<faiss::Index::idx_t> l(kK);
  size_t q = 0;
  for (auto _ : state) index.search(1, Query(q++), kK, d.data(), l.data());
  SetBytes(state, kRows * kDim * 4);
}
BENCHMARK(BM_FaissFlatIP)->Unit(benchmark::kMillisecond);

void BM_IndexExactBatch64(benchmark::State& state) {
  llmkit::Collection& col = Flat(false);
  for (auto _ : state) {
    auto hits = col.SearchBatch(absl::MakeConstSpan(Query(0), 64 * kDim), {.k = int(kK)});
    benchmark::DoNotOptimize(hits);
  }
}
BENCHMARK(BM_IndexExactBatch64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FaissFlatIPBatch64(benchmark::State& state) {
  faiss::IndexFlatIP& index = FaissFlat();
  std::vector<float> d(64 * kK);
  std::vector<faiss::Index::idx_t> l(64 * kK);
  for (auto _ : state) index.search(64, Query(0), kK, d.data(), l.data());
}
BENCHMARK(BM_FaissFlatIPBatch64)->Unit(benchmark::kMillisecond)->UseRealTime();

// HNSW: M 32, efConstruction 40, efSearch 64; recall@10 against exact search is reported.
llmkit::Collection& Hnsw() {
  static std::unique_ptr<llmkit::Collection> col = [] {
    auto col = llmkit::Collection::Create({.dim = int(kDim),
                                           .metric = llmkit::Metric::kInnerProduct,
                                           .index = llmkit::IndexKind::kHnsw,
                                           .hnsw_ef_search = 64})
                   .value();
    if (!col->Add(Ids(), absl::MakeConstSpan(Data().data(), kRows * kDim)).ok()) std::abort();
    return col;
  }();
  return *col;
}

double RecallAt10(llmkit::Collection& col) {
  double found = 0;
  for (size_t i = 0; i < 200; ++i) {
    auto exact = col.Search(absl::MakeConstSpan(Query(i), kDim), {.k = int(kK), .exact = true});
    auto approx = col.Search(absl::MakeConstSpan(Query(i), kDim), {.k = int(kK)});
    for (const auto& x : *approx) {
      for (const auto& y : *exact) found += x.id == y.id;
    }
  }
  return found / (200 * kK);
}

void BM_IndexHnswSearch(benchmark::State& state) {
  llmkit::Collection& col = Hnsw();
  size_t q = 0;
  for (auto _ : state) {
    auto hits = col.Search(absl::MakeConstSpan(Query(q++), kDim), {.k = int(kK)});
    benchmark::DoNotOptimize(hits);
  }
  state.counters["recall@10"] = RecallAt10(col);
  llmkit::CollectionStats s = col.Stats();
  state.counters["bytes_per_vector"] = double(s.vector_bytes + s.index_bytes) / kRows;
}
BENCHMARK(BM_IndexHnswSearch)->Unit(benchmark::kMicrosecond);

// The same graph and distance computer without the Collection: a second HNSW structure built
// over an identical store (same seed, same insertion order).
void BM_IndexHnswRaw(benchmark::State& state) {
  static llmkit::internal::VectorStore store(kDim, false, false);
  static std::unique_ptr<llmkit::internal::AnnIndex> index = [] {
    store.Append(Data().data(), kRows);
    auto index = llmkit::internal::NewHnswIndex(
                     &store, {.dim = int(kDim), .index = llmkit::IndexKind::kHnsw})
                     .value();
    if (!index->Added(0, kRows).ok()) std::abort();
    return index;
  }();
  size_t q = 0;
  for (auto _ : state) benchmark::DoNotOptimize(index->Search(Query(q++), kK, nullptr));
}
BENCHMARK(BM_IndexHnswRaw)->Unit(benchmark::kMicrosecond);

void BM_IndexIvfSearch(benchmark::State& state) {
  static std::unique_ptr<llmkit::Collection> col = [] {
    auto col = llmkit::Collection::Create({.dim = int(kDim),
                                           .metric = llmkit::Metric::kInnerProduct,
                                           .index = llmkit::IndexKind::kIvf,
                                           .ivf_nlist = 256,
                                           .ivf_nprobe = 16})
                   .value();
    if (!col->Add(Ids(), absl::MakeConstSpan(Data().data(), kRows * kDim)).ok()) std::abort();
    return col;
  }();
  size_t q = 0;
  for (auto _ : state) {
    auto hits = col->Search(absl::MakeConstSpan(Query(q++), kDim), {.k = int(kK)});
    benchmark::DoNotOptimize(hits);
  }
  state.counters["recall@10"] = RecallAt10(*col);
  llmkit::CollectionStats s = col->Stats();
  state.counters["bytes_per_vector"] = double(s.vector_bytes + s.index_bytes) / kRows;
}
BENCHMARK(BM_IndexIvfSearch)->Unit(benchmark::kMicrosecond);

void BM_FaissIvfRaw(benchmark::State& state) {
  static faiss::IndexFlatIP quantizer(kDim);
  static faiss::IndexIVFFlat* index = [] {
    auto* index = new faiss::IndexIVFFlat(&quantizer, kDim, 256, faiss::METRIC_INNER_PRODUCT);
    index->train(kRows, Data().data());
    index->add(kRows, Data().data());
    index->nprobe = 16;
    return index;
  }();
  std::vector<float> d(kK);
  std::vector<faiss::Index::idx_t> l(kK);
  size_t q = 0;
  for (auto _ : state) index->search(1, Query(q++), kK, d.data(), l.data());
}
BENCHMARK(BM_FaissIvfRaw)->Unit(benchmark::kMicrosecond);

void BM_Bm25Search(benchmark::State& state) {
  const char* shared = std::getenv("LLMKIT_SHARED_DIR");
  std::string dir = std::string(shared ? shared : "../shared") + "/data/scifact/";
  std::ifstream corpus(dir + "corpus.jsonl"), queries(dir + "queries.jsonl");
  if (!corpus || !queries) {
    state.SkipWithError("SciFact not found (set LLMKIT_SHARED_DIR)");
    return;
  }
  std::vector<std::string> ids, texts, query_texts;
  std::string line;
  while (std::getline(corpus, line)) {
    llmkit::Json doc = llmkit::Json::Parse(line).value();
    ids.push_back(doc.Find("_id")->as_string());
    texts.push_back(doc.Find("title")->as_string() + " " + doc.Find("text")->as_string());
  }
  while (std::getline(queries, line)) {
    query_texts.push_back(llmkit::Json::Parse(line).value().Find("text")->as_string());
  }
  std::unique_ptr<llmkit::Bm25Index> bm25 = llmkit::Bm25Index::Create().value();
  if (!bm25->Add(ids, texts).ok()) std::abort();
  size_t q = 0;
  for (auto _ : state) {
    auto hits = bm25->Search(query_texts[q++ % query_texts.size()], {.k = 10});
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bm25Search)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
