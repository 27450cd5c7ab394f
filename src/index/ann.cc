// The approximate indexes over FAISS: HNSW (faiss::HNSW reading the collection's store through
// a SIMD distance computer) and IVF-Flat (faiss::IndexIVFFlat), plus their persisted forms.

#include "index/ann.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/Heap.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit::internal {
namespace {

using idx_t = faiss::Index::idx_t;

absl::Status FaissError(const std::exception& e) {
  return absl::InternalError(absl::StrCat("FAISS: ", e.what()));
}

// FAISS distances are "smaller is closer": negated dot products, or squared L2.
class SimdDistance : public faiss::DistanceComputer {
 public:
  // negate_dot: return -dot for inner products (what HNSW search wants); FAISS's own build path
  // wraps the storage's computer in a NegativeDistanceComputer, so the storage returns +dot.
  SimdDistance(const VectorStore* store, bool negate_dot) : store_(store), negate_(negate_dot) {}
  void set_query(const float* x) override { query_ = x; }
  float operator()(idx_t i) override { return ToDistance(store_->Score(query_, i)); }
  float symmetric_dis(idx_t i, idx_t j) override {
    row_.resize(store_->dim());
    store_->Row(i, row_.data());
    return ToDistance(store_->Score(row_.data(), j));
  }

 private:
  float ToDistance(float score) const { return store_->l2() || negate_ ? -score : score; }
  const VectorStore* store_;
  bool negate_;
  const float* query_ = nullptr;
  std::vector<float> row_;
};

// The storage FAISS's IndexHNSW sees: the collection's rows, no copy.
class StoreView : public faiss::Index {
 public:
  explicit StoreView(const VectorStore* store)
      : faiss::Index(static_cast<idx_t>(store->dim()),
                     store->l2() ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT),
        store_(store) {}
  void add(idx_t n, const float*) override { ntotal += n; }
  void search(idx_t, const float*, idx_t, float*, idx_t*,
              const faiss::SearchParameters*) const override {
    FAISS_THROW_MSG("StoreView is searched through the HNSW graph only");
  }
  void reset() override { ntotal = 0; }
  void reconstruct(idx_t key, float* out) const override { store_->Row(key, out); }
  faiss::DistanceComputer* get_distance_computer() const override {
    return new SimdDistance(store_, /*negate_dot=*/false);
  }

 private:
  const VectorStore* store_;
};

class ByteMaskSelector : public faiss::IDSelector {
 public:
  explicit ByteMaskSelector(const uint8_t* mask) : mask_(mask) {}
  bool is_member(idx_t id) const override { return mask_[id] != 0; }

 private:
  const uint8_t* mask_;
};

constexpr uint32_t kHnswMagic = 0x31484b4c;  // "LKH1"
constexpr uint32_t kIvfMagic = 0x31494b4c;   // "LKI1"

class HnswIndex : public AnnIndex {
 public:
  HnswIndex(const VectorStore* store, const CollectionOptions& options)
      : store_(store), view_(store), index_(&view_, options.hnsw_m) {
    index_.own_fields = false;
    index_.hnsw.efConstruction = options.hnsw_ef_construction;
    // The collection's default beam width for Search (a per-call effort replaces it).
    index_.hnsw.efSearch = options.hnsw_ef_search;
  }

  absl::Status Added(size_t first, size_t n) override {
    if (n == 0) return absl::OkStatus();
    try {
      index_.add(static_cast<idx_t>(n), store_->float32_data() + first * store_->dim());
    } catch (const std::exception& e) {
      return FaissError(e);
    }
    return absl::OkStatus();
  }

  bool ready() const override { return index_.ntotal > 0; }

  void SetEffort(int effort) override { index_.hnsw.efSearch = effort; }

  // The walk of faiss::HNSW::search (greedy descent through the upper levels, then a beam of
  // `effort` nodes on level 0) over FAISS's graph, written here so that a node's unvisited
  // neighbours are prefetched together before any is scored: the vectors are read from memory
  // in parallel instead of one miss at a time (most of a search's time on vectors that do not
  // fit in cache). A filter narrows the results, not the walk, as FAISS's selector does (so it
  // can return fewer than k).
  absl::StatusOr<std::vector<ScoredSlot>> Search(const float* query, size_t k,
                                                 const uint8_t* allowed,
                                                 int effort) const override {
    const faiss::HNSW& h = index_.hnsw;
    std::vector<ScoredSlot> out;
    if (k == 0 || index_.ntotal == 0 || h.entry_point < 0) return out;
    const size_t ef = std::max<size_t>(effort > 0 ? effort : h.efSearch, k);
    const size_t row_bytes = store_->dim() * (store_->float16() ? 2 : 4);
    const char* base = static_cast<const char*>(store_->data());
    // Scores: larger is closer (dot products, or negated squared L2 distances).
    auto score = [&](idx_t id) { return store_->Score(query, static_cast<size_t>(id)); };

    idx_t current = h.entry_point;
    float current_score = score(current);
    for (int level = h.max_level; level > 0; --level) {
      for (bool moved = true; moved;) {
        moved = false;
        size_t begin, end;
        h.neighbor_range(current, level, &begin, &end);
        for (size_t j = begin; j < end && h.neighbors[j] >= 0; ++j) {
          float s = score(h.neighbors[j]);
          if (s > current_score) {
            current_score = s;
            current = h.neighbors[j];
            moved = true;
          }
        }
      }
    }

    // Visit marks by generation: no clearing between searches.
    thread_local std::vector<uint32_t> marks;
    thread_local uint32_t generation = 0;
    if (marks.size() < static_cast<size_t>(index_.ntotal) || ++generation == 0) {
      marks.assign(static_cast<size_t>(index_.ntotal), 0);
      generation = 1;
    }
    using Entry = std::pair<float, idx_t>;
    auto worse = [](const Entry& a, const Entry& b) { return a.first > b.first; };  // Min-heap.
    // Max-heap of nodes to expand; min-heaps of the best ef and the best k. Reused by the
    // thread's next search (no allocation per query once warm).
    thread_local std::vector<Entry> candidates, beam, found;
    candidates.clear();
    beam.clear();
    found.clear();
    auto offer = [&](float s, idx_t id) {
      if (allowed != nullptr && !allowed[id]) return;
      if (found.size() < k) {
        found.emplace_back(s, id);
        std::push_heap(found.begin(), found.end(), worse);
      } else if (s > found.front().first) {
        std::pop_heap(found.begin(), found.end(), worse);
        found.back() = {s, id};
        std::push_heap(found.begin(), found.end(), worse);
      }
    };
    marks[current] = generation;
    candidates.emplace_back(current_score, current);
    beam.emplace_back(current_score, current);
    offer(current_score, current);
    thread_local std::vector<idx_t> fresh;
    while (!candidates.empty()) {
      std::pop_heap(candidates.begin(), candidates.end());
      const auto [s0, node] = candidates.back();
      candidates.pop_back();
      if (beam.size() >= ef && s0 < beam.front().first) break;
      size_t begin, end;
      h.neighbor_range(node, 0, &begin, &end);
      fresh.clear();
      for (size_t j = begin; j < end && h.neighbors[j] >= 0; ++j) {
        idx_t id = h.neighbors[j];
        if (marks[id] == generation) continue;
        marks[id] = generation;
        __builtin_prefetch(base + static_cast<size_t>(id) * row_bytes);
        fresh.push_back(id);
      }
      for (size_t i = 0; i < fresh.size(); ++i) {
        // The rest of the vector two ahead (its first line is on its way already).
        if (i + 2 < fresh.size()) {
          const char* ahead = base + static_cast<size_t>(fresh[i + 2]) * row_bytes;
          for (size_t line = 64; line < row_bytes; line += 64) __builtin_prefetch(ahead + line);
        }
        const float s = score(fresh[i]);
        if (beam.size() < ef || s > beam.front().first) {
          candidates.emplace_back(s, fresh[i]);
          std::push_heap(candidates.begin(), candidates.end());
          beam.emplace_back(s, fresh[i]);
          std::push_heap(beam.begin(), beam.end(), worse);
          if (beam.size() > ef) {
            std::pop_heap(beam.begin(), beam.end(), worse);
            beam.pop_back();
          }
        }
        offer(s, fresh[i]);
      }
    }
    std::sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    out.reserve(found.size());
    for (const auto& [s, id] : found) out.push_back({s, static_cast<uint32_t>(id)});
    return out;
  }

  size_t bytes() const override {
    const faiss::HNSW& h = index_.hnsw;
    return h.neighbors.size() * sizeof(int) + h.offsets.size() * sizeof(size_t) +
           h.levels.size() * sizeof(int);
  }

  std::string Serialize() const override {
    const faiss::HNSW& h = index_.hnsw;
    std::string out;
    PutU32(&out, kHnswMagic);
    PutU64(&out, static_cast<uint64_t>(index_.ntotal));
    PutArray(&out, h.assign_probas);
    PutArray(&out, h.cum_nneighbor_per_level);
    PutArray(&out, h.levels);
    PutArray(&out, h.offsets);
    PutArray(&out, h.neighbors);
    PutU32(&out, static_cast<uint32_t>(h.entry_point));
    PutU32(&out, static_cast<uint32_t>(h.max_level));
    return out;
  }

  // Validates every field against the store before installing it, so a corrupt file can never
  // make the graph walk read out of bounds.
  absl::Status Restore(std::string_view bytes) {
    Reader r(bytes);
    uint32_t magic;
    uint64_t ntotal;
    faiss::HNSW h;
    int32_t entry, max_level;
    if (!r.U32(&magic) || magic != kHnswMagic || !r.U64(&ntotal) || !r.Array(&h.assign_probas) ||
        !r.Array(&h.cum_nneighbor_per_level) || !r.Array(&h.levels) || !r.Array(&h.offsets) ||
        !r.Array(&h.neighbors) || !r.I32(&entry) || !r.I32(&max_level) || !r.done()) {
      return absl::DataLossError("malformed HNSW graph");
    }
    const size_t n = store_->rows();
    auto bad = [](std::string_view what) {
      return absl::DataLossError(absl::StrCat("inconsistent HNSW graph: ", ToAbsl(what)));
    };
    if (ntotal != n || h.levels.size() != n || h.offsets.size() != n + 1) return bad("sizes");
    const auto& cum = h.cum_nneighbor_per_level;
    if (cum.empty() || cum[0] != 0 || h.assign_probas.size() + 1 != cum.size())
      return bad("levels");
    for (size_t i = 1; i < cum.size(); ++i) {
      if (cum[i] < cum[i - 1] || cum[i] > (1 << 20)) return bad("levels");
    }
    if (h.offsets[0] != 0) return bad("offsets");
    int top = -1;
    for (size_t i = 0; i < n; ++i) {
      int level = h.levels[i];
      if (level < 1 || static_cast<size_t>(level) >= cum.size()) return bad("node level");
      if (h.offsets[i + 1] - h.offsets[i] != static_cast<size_t>(cum[level]) ||
          h.offsets[i + 1] < h.offsets[i]) {
        return bad("offsets");
      }
      top = std::max(top, level - 1);
    }
    if (h.neighbors.size() != h.offsets[n]) return bad("links");
    for (int link : h.neighbors) {
      if (link < -1 || link >= static_cast<int64_t>(n)) return bad("link target");
    }
    if (n == 0 ? entry != -1 : (entry < 0 || static_cast<size_t>(entry) >= n)) {
      return bad("entry point");
    }
    if (max_level != (n == 0 ? -1 : top) || (n != 0 && h.levels[entry] - 1 != max_level)) {
      return bad("max level");
    }
    faiss::HNSW& dest = index_.hnsw;
    dest.assign_probas = std::move(h.assign_probas);
    dest.cum_nneighbor_per_level = std::move(h.cum_nneighbor_per_level);
    dest.levels = std::move(h.levels);
    dest.offsets = std::move(h.offsets);
    dest.neighbors = std::move(h.neighbors);
    dest.entry_point = entry;
    dest.max_level = max_level;
    view_.ntotal = static_cast<idx_t>(n);
    index_.ntotal = static_cast<idx_t>(n);
    return absl::OkStatus();
  }

 private:
  const VectorStore* store_;
  StoreView view_;
  faiss::IndexHNSW index_;
};

class IvfIndex : public AnnIndex {
 public:
  IvfIndex(const VectorStore* store, const CollectionOptions& options)
      : store_(store),
        quantizer_(static_cast<idx_t>(store->dim()),
                   store->l2() ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT),
        index_(&quantizer_, store->dim(), options.ivf_nlist,
               store->l2() ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT),
        train_size_(options.ivf_train_size > 0 ? static_cast<size_t>(options.ivf_train_size)
                                               : 39 * static_cast<size_t>(options.ivf_nlist)) {
    index_.own_fields = false;
    index_.nprobe = options.ivf_nprobe;
  }

  absl::Status Added(size_t first, size_t n) override {
    try {
      if (!index_.is_trained) {
        if (store_->rows() < train_size_) return absl::OkStatus();  // Exact until then.
        index_.train(static_cast<idx_t>(store_->rows()), store_->float32_data());
        first = 0;
        n = store_->rows();
      }
      std::vector<idx_t> ids(n);
      for (size_t i = 0; i < n; ++i) ids[i] = static_cast<idx_t>(first + i);
      index_.add_with_ids(static_cast<idx_t>(n), store_->float32_data() + first * store_->dim(),
                          ids.data());
    } catch (const std::exception& e) {
      return FaissError(e);
    }
    return absl::OkStatus();
  }

  bool ready() const override { return index_.is_trained && index_.ntotal > 0; }

  void SetEffort(int effort) override { index_.nprobe = effort; }

  absl::StatusOr<std::vector<ScoredSlot>> Search(const float* query, size_t k,
                                                 const uint8_t* allowed,
                                                 int effort) const override {
    std::vector<idx_t> labels(k);
    std::vector<float> distances(k);
    ByteMaskSelector selector(allowed);
    faiss::SearchParametersIVF params;
    params.nprobe = effort > 0 ? static_cast<size_t>(effort) : index_.nprobe;
    params.sel = allowed != nullptr ? &selector : nullptr;
    try {
      index_.search(1, query, static_cast<idx_t>(k), distances.data(), labels.data(), &params);
    } catch (const std::exception& e) {
      return FaissError(e);
    }
    std::vector<ScoredSlot> out;
    for (size_t i = 0; i < k; ++i) {
      if (labels[i] < 0) break;
      out.push_back(
          {store_->l2() ? -distances[i] : distances[i], static_cast<uint32_t>(labels[i])});
    }
    return out;
  }

  size_t bytes() const override {
    size_t total = quantizer_.codes.size();
    for (size_t list = 0; list < index_.nlist; ++list) {
      total += index_.invlists->list_size(list) * (index_.code_size + sizeof(idx_t));
    }
    return total;
  }

  // Centroids plus each row's list; the lists themselves are rebuilt from the store on load.
  std::string Serialize() const override {
    std::string out;
    PutU32(&out, kIvfMagic);
    PutU8(&out, index_.is_trained ? 1 : 0);
    std::vector<float> centroids(quantizer_.ntotal * store_->dim());
    if (!centroids.empty()) quantizer_.reconstruct_n(0, quantizer_.ntotal, centroids.data());
    PutArray(&out, centroids);
    std::vector<int32_t> assignment(store_->rows(), -1);
    for (size_t list = 0; list < index_.nlist; ++list) {
      size_t size = index_.invlists->list_size(list);
      const idx_t* ids = index_.invlists->get_ids(list);
      for (size_t i = 0; i < size; ++i) {
        if (ids[i] >= 0 && static_cast<size_t>(ids[i]) < assignment.size()) {
          assignment[ids[i]] = static_cast<int32_t>(list);
        }
      }
      index_.invlists->release_ids(list, ids);
    }
    PutArray(&out, assignment);
    return out;
  }

  absl::Status Restore(std::string_view bytes) {
    Reader r(bytes);
    uint32_t magic;
    uint8_t trained;
    std::vector<float> centroids;
    std::vector<int32_t> assignment;
    if (!r.U32(&magic) || magic != kIvfMagic || !r.U8(&trained) || trained > 1 ||
        !r.Array(&centroids) || !r.Array(&assignment) || !r.done()) {
      return absl::DataLossError("malformed IVF index");
    }
    const size_t dim = store_->dim(), nlist = index_.nlist;
    if (assignment.size() != store_->rows() || centroids.size() != (trained ? nlist * dim : 0)) {
      return absl::DataLossError("inconsistent IVF index: sizes");
    }
    if (!trained) {
      for (int32_t list : assignment) {
        if (list != -1) return absl::DataLossError("inconsistent IVF index: lists");
      }
      return absl::OkStatus();
    }
    std::vector<idx_t> ids, lists;
    for (size_t row = 0; row < assignment.size(); ++row) {
      int32_t list = assignment[row];
      if (list < -1 || list >= static_cast<int32_t>(nlist)) {
        return absl::DataLossError("inconsistent IVF index: list number");
      }
      if (list >= 0) {
        ids.push_back(static_cast<idx_t>(row));
        lists.push_back(list);
      }
    }
    try {
      quantizer_.add(static_cast<idx_t>(nlist), centroids.data());
      index_.is_trained = true;
      std::vector<float> rows(ids.size() * dim);
      for (size_t i = 0; i < ids.size(); ++i) store_->Row(ids[i], &rows[i * dim]);
      index_.add_core(static_cast<idx_t>(ids.size()), rows.data(), ids.data(), lists.data());
    } catch (const std::exception& e) {
      return FaissError(e);
    }
    return absl::OkStatus();
  }

 private:
  const VectorStore* store_;
  faiss::IndexFlat quantizer_;
  faiss::IndexIVFFlat index_;
  size_t train_size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AnnIndex>> NewHnswIndex(const VectorStore* store,
                                                       const CollectionOptions& options) {
  try {
    return std::unique_ptr<AnnIndex>(new HnswIndex(store, options));
  } catch (const std::exception& e) {
    return FaissError(e);
  }
}

absl::StatusOr<std::unique_ptr<AnnIndex>> NewIvfIndex(const VectorStore* store,
                                                      const CollectionOptions& options) {
  try {
    return std::unique_ptr<AnnIndex>(new IvfIndex(store, options));
  } catch (const std::exception& e) {
    return FaissError(e);
  }
}

namespace {
template <typename Index>
absl::StatusOr<std::unique_ptr<AnnIndex>> RestoreIndex(const VectorStore* store,
                                                       const CollectionOptions& options,
                                                       std::string_view bytes) {
  auto index = std::make_unique<Index>(store, options);
  LLMKIT_RETURN_IF_ERROR(index->Restore(bytes));
  return std::unique_ptr<AnnIndex>(std::move(index));
}
}  // namespace

absl::StatusOr<std::unique_ptr<AnnIndex>> LoadAnnIndex(const VectorStore* store,
                                                       const CollectionOptions& options,
                                                       std::string_view bytes) {
  try {
    if (options.index == IndexKind::kHnsw) return RestoreIndex<HnswIndex>(store, options, bytes);
    return RestoreIndex<IvfIndex>(store, options, bytes);
  } catch (const std::exception& e) {
    return FaissError(e);
  }
}

}  // namespace llmkit::internal
