// Collection: validation, writes (add, upsert, delete, compaction) and searches.

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/collection_impl.h"

namespace llmkit {

using internal::ScoredSlot;

namespace {

// Below this many matching documents a filtered approximate search scans them exactly: the
// scan costs less than a graph walk that would mostly visit non-matching nodes.
constexpr size_t kExactScanBelow = 4096;

}  // namespace

absl::Status internal::ValidateCollectionOptions(const CollectionOptions& o) {
  if (o.dim <= 0) return absl::InvalidArgumentError("CollectionOptions.dim must be positive");
  if (o.float16 && o.index != IndexKind::kFlat) {
    return absl::InvalidArgumentError("float16 storage is supported by the flat index only");
  }
  if (o.hnsw_m < 2 || o.hnsw_m > 512 || o.hnsw_ef_construction < 1 || o.hnsw_ef_search < 1) {
    return absl::InvalidArgumentError("HNSW options: hnsw_m in [2, 512], ef sizes >= 1");
  }
  if (o.ivf_nlist < 1 || o.ivf_nprobe < 1 || o.ivf_train_size < 0) {
    return absl::InvalidArgumentError("IVF options: ivf_nlist and ivf_nprobe >= 1");
  }
  if (o.index == IndexKind::kIvf && o.ivf_train_size != 0 && o.ivf_train_size < o.ivf_nlist) {
    return absl::InvalidArgumentError("IVF options: ivf_train_size must be >= ivf_nlist");
  }
  if (!(o.compact_deleted_fraction > 0 && o.compact_deleted_fraction <= 1)) {
    return absl::InvalidArgumentError("compact_deleted_fraction must be in (0, 1]");
  }
  return absl::OkStatus();
}

namespace {

// Checks every component of `v` is finite (and, under cosine, that it is not the zero vector).
// Returns its squared norm.
absl::StatusOr<double> CheckVector(const float* v, size_t dim, Metric metric,
                                   std::string_view what) {
  double norm = 0;
  for (size_t j = 0; j < dim; ++j) {
    if (!std::isfinite(v[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(internal::ToAbsl(what), ": component ", j, " is not finite"));
    }
    norm += static_cast<double>(v[j]) * v[j];
  }
  if (metric == Metric::kCosine && norm == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(internal::ToAbsl(what), ": zero vector under cosine"));
  }
  return norm;
}

// CheckVector, then normalizes `v` in place under cosine.
absl::Status PrepareVector(float* v, size_t dim, Metric metric, std::string_view what) {
  LLMKIT_ASSIGN_OR_RETURN(double norm, CheckVector(v, dim, metric, what));
  if (metric == Metric::kCosine) {
    float scale = static_cast<float>(1 / std::sqrt(norm));
    for (size_t j = 0; j < dim; ++j) v[j] *= scale;
  }
  return absl::OkStatus();
}

}  // namespace

Collection::Impl::Impl(const CollectionOptions& o)
    : options(o), store(static_cast<size_t>(o.dim), o.float16, o.metric == Metric::kL2) {}

absl::Status Collection::Impl::NewAnn() {
  absl::StatusOr<std::unique_ptr<internal::AnnIndex>> index;
  switch (options.index) {
    case IndexKind::kFlat:
      ann = nullptr;
      return absl::OkStatus();
    case IndexKind::kHnsw:
      index = internal::NewHnswIndex(&store, options);
      break;
    case IndexKind::kIvf:
      index = internal::NewIvfIndex(&store, options);
      break;
  }
  if (!index.ok()) return index.status();
  ann = *std::move(index);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Collection>> Collection::Create(const CollectionOptions& options) {
  LLMKIT_RETURN_IF_ERROR(internal::ValidateCollectionOptions(options));
  auto impl = std::make_unique<Impl>(options);
  {
    std::unique_lock lock(impl->mu);
    LLMKIT_RETURN_IF_ERROR(impl->NewAnn());
  }
  return std::make_unique<Collection>(std::move(impl));
}

absl::Status Collection::Impl::Verified() const {
  for (const std::unique_ptr<internal::BackgroundCheck>& check : verification) {
    LLMKIT_RETURN_IF_ERROR(check->Wait());
  }
  return absl::OkStatus();
}

Collection::Collection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collection::~Collection() = default;

absl::Status Collection::Impl::Write(absl::Span<const std::string> new_ids,
                                     absl::Span<const float> vectors,
                                     absl::Span<const std::string> new_texts,
                                     absl::Span<const Json> metadatas, bool upsert) {
  LLMKIT_RETURN_IF_ERROR(Verified());  // Writing over damaged data would hide the damage.
  const size_t n = new_ids.size(), dim = store.dim();
  if (vectors.size() != n * dim) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", n, " vectors of dimension ", dim,
                                                   " (", n * dim, " floats), got ", vectors.size(),
                                                   " floats"));
  }
  if (!new_texts.empty() && new_texts.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", new_texts.size(), " texts for ", n, " ids"));
  }
  if (!metadatas.empty() && metadatas.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", metadatas.size(), " metadatas for ", n, " ids"));
  }
  absl::flat_hash_set<std::string_view> batch;
  for (size_t i = 0; i < n; ++i) {
    if (new_ids[i].empty())
      return absl::InvalidArgumentError(absl::StrCat("ids[", i, "] is empty"));
    if (!batch.insert(new_ids[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ids[", i, "] repeats id \"", new_ids[i], "\" within the batch"));
    }
    if (!metadatas.empty() && !metadatas[i].is_object() && !metadatas[i].is_null()) {
      return absl::InvalidArgumentError(absl::StrCat("metadatas[", i, "] is not an object"));
    }
    // What is stored must load again: JSON text has no NaN or infinity.
    if (!metadatas.empty()) {
      if (std::optional<std::string> at = FindNonFinite(metadatas[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("metadatas[", i, "] (id \"", new_ids[i], "\"): the number at ", *at,
                         " is not finite (NaN and infinities cannot be stored)"));
      }
    }
  }
  // The caller's rows are stored as given, except under cosine, where a normalized copy is.
  std::vector<float> normalized;
  if (options.metric == Metric::kCosine) normalized.assign(vectors.begin(), vectors.end());
  for (size_t i = 0; i < n; ++i) {
    std::string what = absl::StrCat("vectors[", i, "]");
    LLMKIT_RETURN_IF_ERROR(normalized.empty()
                               ? CheckVector(&vectors[i * dim], dim, options.metric, what).status()
                               : PrepareVector(&normalized[i * dim], dim, options.metric, what));
  }
  const float* rows = normalized.empty() ? vectors.data() : normalized.data();
  std::unique_lock lock(mu);
  if (!upsert) {
    for (size_t i = 0; i < n; ++i) {
      if (slot_of.contains(new_ids[i])) {
        return absl::AlreadyExistsError(
            absl::StrCat("id \"", new_ids[i], "\" is already in the collection (use Upsert)"));
      }
    }
  }
  if (store.rows() + n > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError("a collection holds at most 2^31 - 1 slots");
  }
  const size_t first = store.rows();
  for (size_t i = 0; i < n; ++i) {
    auto it = slot_of.find(new_ids[i]);
    if (it != slot_of.end()) Tombstone(it->second);
    uint32_t slot = static_cast<uint32_t>(first + i);
    ids.PushCopy(new_ids[i]);
    texts.PushCopy(new_texts.empty() ? std::string_view() : std::string_view(new_texts[i]));
    metadata.Push(metadatas.empty() ? Json() : metadatas[i]);
    live.push_back(1);
    slot_of[internal::ToAbsl(ids[slot])] = slot;
    ++live_count;
  }
  store.Append(rows, n);
  if (ann != nullptr) LLMKIT_RETURN_IF_ERROR(ann->Added(first, n));
  return MaybeCompact();
}

void Collection::Impl::Tombstone(uint32_t slot) {
  live[slot] = 0;
  slot_of.erase(internal::ToAbsl(ids[slot]));
  texts.Clear(slot);
  metadata.Clear(slot);
  --live_count;
}

absl::Status Collection::Impl::MaybeCompact() {
  size_t dead = store.rows() - live_count;
  if (dead == 0 || static_cast<double>(dead) <= options.compact_deleted_fraction * store.rows()) {
    return absl::OkStatus();
  }
  return CompactLocked();
}

absl::Status Collection::Impl::CompactLocked() {
  if (live_count == store.rows()) return absl::OkStatus();
  store.Compact(live);
  ids.Compact(live);
  texts.Compact(live);
  metadata.Compact(live);
  const size_t out = ids.size();
  for (size_t slot = 0; slot < out; ++slot) {
    slot_of.insert_or_assign(internal::ToAbsl(ids[slot]), static_cast<uint32_t>(slot));
  }
  live.assign(out, 1);
  LLMKIT_RETURN_IF_ERROR(NewAnn());
  if (ann != nullptr) return ann->Added(0, out);
  return absl::OkStatus();
}

namespace {

// Add/Upsert of Document structs: the parallel arrays Impl::Write takes.
absl::Status WriteDocuments(Collection::Impl& impl, absl::Span<const Document> documents,
                            bool upsert) {
  std::vector<std::string> ids, texts;
  std::vector<Json> metadatas;
  std::vector<float> vectors;
  for (size_t i = 0; i < documents.size(); ++i) {
    const Document& d = documents[i];
    if (d.vector.size() != static_cast<size_t>(impl.options.dim)) {
      return absl::InvalidArgumentError(absl::StrCat("documents[", i, "].vector has ",
                                                     d.vector.size(), " components, expected ",
                                                     impl.options.dim));
    }
    ids.push_back(d.id);
    texts.push_back(d.text);
    metadatas.push_back(d.metadata);
    vectors.insert(vectors.end(), d.vector.begin(), d.vector.end());
  }
  return impl.Write(ids, vectors, texts, metadatas, upsert);
}

}  // namespace

absl::Status Collection::Add(absl::Span<const Document> documents, const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection add"));
  return WriteDocuments(*impl_, documents, /*upsert=*/false);
}

absl::Status Collection::Upsert(absl::Span<const Document> documents, const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection upsert"));
  return WriteDocuments(*impl_, documents, /*upsert=*/true);
}

absl::Status Collection::Add(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                             absl::Span<const std::string> texts,
                             absl::Span<const Json> metadatas) {
  return impl_->Write(ids, vectors, texts, metadatas, /*upsert=*/false);
}

absl::Status Collection::Upsert(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                                absl::Span<const std::string> texts,
                                absl::Span<const Json> metadatas) {
  return impl_->Write(ids, vectors, texts, metadatas, /*upsert=*/true);
}

absl::StatusOr<size_t> Collection::Delete(absl::Span<const std::string> ids,
                                          const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection delete"));
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  std::unique_lock lock(impl_->mu);
  size_t deleted = 0;
  for (const std::string& id : ids) {
    auto it = impl_->slot_of.find(internal::ToAbsl(id));
    if (it == impl_->slot_of.end()) continue;
    impl_->Tombstone(it->second);
    ++deleted;
  }
  // A failed compaction leaves the tombstones in place; searches still exclude them.
  impl_->MaybeCompact().IgnoreError();
  return deleted;
}

absl::StatusOr<size_t> Collection::DeleteWhere(const Json& where, const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection delete"));
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(where));
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  std::unique_lock lock(impl_->mu);
  size_t deleted = 0;
  for (size_t slot = 0; slot < impl_->live.size(); ++slot) {
    if (impl_->live[slot] && filter.Matches(impl_->metadata.Parsed(slot))) {
      impl_->Tombstone(static_cast<uint32_t>(slot));
      ++deleted;
    }
  }
  impl_->MaybeCompact().IgnoreError();
  return deleted;
}

absl::Status Collection::SetSearchEffort(int effort) {
  if (effort < 1) return absl::InvalidArgumentError("search effort must be at least 1");
  std::unique_lock lock(impl_->mu);
  if (impl_->ann == nullptr) {
    return absl::FailedPreconditionError("a flat collection has no search effort to set");
  }
  impl_->ann->SetEffort(effort);
  return absl::OkStatus();
}

absl::Status Collection::Compact() {
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  std::unique_lock lock(impl_->mu);
  return impl_->CompactLocked();
}

absl::StatusOr<Document> Collection::Get(std::string_view id) const {
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  std::shared_lock lock(impl_->mu);
  auto it = impl_->slot_of.find(internal::ToAbsl(id));
  if (it == impl_->slot_of.end()) {
    return absl::NotFoundError(absl::StrCat("no document with id \"", internal::ToAbsl(id), "\""));
  }
  Document doc;
  doc.id = impl_->ids[it->second];
  doc.text = impl_->texts[it->second];
  doc.metadata = impl_->metadata.Get(it->second);
  doc.vector.resize(impl_->store.dim());
  impl_->store.Row(it->second, doc.vector.data());
  return doc;
}

absl::StatusOr<std::vector<Document>> Collection::Get(absl::Span<const std::string> ids,
                                                      const GetOptions& options,
                                                      const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection get"));
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  std::vector<Document> out;
  out.reserve(ids.size());
  std::shared_lock lock(impl_->mu);
  for (const std::string& id : ids) {
    auto it = impl_->slot_of.find(internal::ToAbsl(id));
    if (it == impl_->slot_of.end()) continue;
    Document& doc = out.emplace_back();
    doc.id = id;
    if (options.include_text) doc.text = impl_->texts[it->second];
    if (options.include_metadata) doc.metadata = impl_->metadata.Get(it->second);
    if (options.include_vectors) {
      doc.vector.resize(impl_->store.dim());
      impl_->store.Row(it->second, doc.vector.data());
    }
  }
  return out;
}

absl::StatusOr<size_t> Collection::Count(const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection count"));
  return Size();
}

absl::StatusOr<std::vector<std::string>> Collection::ListIds(const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection list"));
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  return Ids();
}

absl::StatusOr<std::function<bool(std::string_view id)>> Collection::MatchingIds(
    const Json& where, const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection filter"));
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(where));
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  const Impl* impl = impl_.get();
  return std::function<bool(std::string_view)>(
      [impl, filter = std::move(filter)](std::string_view id) {
        return impl->MatchesId(id, filter);
      });
}

int Collection::dim() const { return impl_->options.dim; }

Metric Collection::metric() const { return impl_->options.metric; }

bool Collection::Matches(std::string_view id, const Filter& filter) const {
  return impl_->MatchesId(id, filter);
}

std::vector<float> Collection::VectorOf(std::string_view id) const { return impl_->VectorOf(id); }

bool Collection::ReadTextAndMetadata(std::string_view id, std::string* text, Json* metadata) const {
  return impl_->TextAndMetadata(id, text, metadata);
}

std::vector<float> Collection::Impl::VectorOf(std::string_view id) const {
  if (!Verified().ok()) return {};
  std::shared_lock lock(mu);
  auto it = slot_of.find(internal::ToAbsl(id));
  if (it == slot_of.end()) return {};
  std::vector<float> out(store.dim());
  store.Row(it->second, out.data());
  return out;
}

bool Collection::Impl::MatchesId(std::string_view id, const Filter& filter) const {
  if (!Verified().ok()) return false;
  std::shared_lock lock(mu);
  auto it = slot_of.find(internal::ToAbsl(id));
  return it != slot_of.end() && filter.Matches(metadata.Parsed(it->second));
}

bool Collection::Impl::TextAndMetadata(std::string_view id, std::string* text, Json* meta) const {
  if (!Verified().ok()) return false;
  std::shared_lock lock(mu);
  auto it = slot_of.find(internal::ToAbsl(id));
  if (it == slot_of.end()) return false;
  *text = texts[it->second];
  *meta = metadata.Get(it->second);
  return true;
}

bool Collection::Contains(std::string_view id) const {
  if (!impl_->Verified().ok()) return false;
  std::shared_lock lock(impl_->mu);
  return impl_->slot_of.contains(internal::ToAbsl(id));
}

std::vector<std::string> Collection::Ids() const {
  if (!impl_->Verified().ok()) return {};
  std::shared_lock lock(impl_->mu);
  std::vector<std::string> out;
  out.reserve(impl_->live_count);
  for (size_t slot = 0; slot < impl_->ids.size(); ++slot) {
    if (impl_->live[slot]) out.emplace_back(impl_->ids[slot]);
  }
  return out;
}

size_t Collection::Size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->live_count;
}

const CollectionOptions& Collection::options() const { return impl_->options; }

CollectionStats Collection::Stats() const {
  std::shared_lock lock(impl_->mu);
  CollectionStats stats;
  stats.documents = impl_->live_count;
  stats.tombstones = impl_->store.rows() - impl_->live_count;
  stats.vector_bytes = impl_->store.bytes();
  stats.index_bytes = impl_->ann != nullptr ? impl_->ann->bytes() : 0;
  for (size_t slot = 0; slot < impl_->ids.size(); ++slot) {
    stats.document_bytes += impl_->ids[slot].size() + impl_->texts[slot].size() +
                            sizeof(std::string_view) * 2 + sizeof(Json);
  }
  stats.ivf_trained =
      impl_->options.index == IndexKind::kIvf && impl_->ann != nullptr && impl_->ann->ready();
  return stats;
}

absl::StatusOr<std::vector<float>> Collection::Impl::PrepareQuery(
    absl::Span<const float> query) const {
  if (query.size() != store.dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("query has ", query.size(), " components, expected ", store.dim()));
  }
  std::vector<float> prepared(query.begin(), query.end());
  LLMKIT_RETURN_IF_ERROR(PrepareVector(prepared.data(), prepared.size(), options.metric, "query"));
  return prepared;
}

Collection::Impl::Selection Collection::Impl::Select(const Filter& filter) const {
  Selection selection;
  selection.matches = live_count;
  if (!filter.matches_all()) {
    selection.mask.resize(live.size());
    selection.matches = 0;
    for (size_t slot = 0; slot < live.size(); ++slot) {
      selection.mask[slot] = live[slot] && filter.Matches(metadata.Parsed(slot));
      selection.matches += selection.mask[slot];
    }
    selection.allowed = selection.mask.data();
  } else if (live_count != store.rows()) {
    selection.allowed = live.data();
  }
  return selection;
}

absl::StatusOr<std::vector<ScoredSlot>> Collection::Impl::SearchSlots(
    const float* query, size_t k, const Selection& selection, const SearchOptions& search) const {
  const uint8_t* allowed = selection.allowed;
  const size_t matches = selection.matches;
  if (matches == 0) return std::vector<ScoredSlot>();
  const size_t want = std::min(k, matches);
  bool use_exact = search.exact || ann == nullptr || !ann->ready() ||
                   (allowed != nullptr && matches < kExactScanBelow);
  if (!use_exact) {
    LLMKIT_ASSIGN_OR_RETURN(
        std::vector<ScoredSlot> found,
        ann->Search(query, k, allowed,
                    options.index == IndexKind::kHnsw ? search.ef_search : search.nprobe));
    // Filtered graph walks and probed lists can come back short: then scan exactly, so a
    // filtered search returns k hits whenever k documents match.
    if (found.size() >= want) return found;
  }
  return internal::ExactSearch(store, query, k, allowed);
}

SearchHit Collection::Impl::MakeHit(const ScoredSlot& scored,
                                    const SearchOptions& search_options) const {
  SearchHit hit;
  hit.id = ids[scored.slot];
  hit.score = options.metric == Metric::kL2 ? -scored.score : scored.score;
  if (search_options.include_text) hit.text = texts[scored.slot];
  if (search_options.include_metadata) hit.metadata = metadata.Get(scored.slot);
  return hit;
}

absl::StatusOr<std::vector<SearchHit>> Collection::Search(absl::Span<const float> query,
                                                          const SearchOptions& options,
                                                          const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection search"));
  if (options.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(options.where));
  LLMKIT_ASSIGN_OR_RETURN(std::vector<float> prepared, impl_->PrepareQuery(query));
  std::shared_lock lock(impl_->mu);
  LLMKIT_ASSIGN_OR_RETURN(std::vector<ScoredSlot> found,
                          impl_->SearchSlots(prepared.data(), static_cast<size_t>(options.k),
                                             impl_->Select(filter), options));
  std::vector<SearchHit> hits;
  hits.reserve(found.size());
  for (const ScoredSlot& scored : found) hits.push_back(impl_->MakeHit(scored, options));
  // Last, so that a loaded collection's verification runs beside the search.
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  return hits;
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> Collection::SearchBatch(
    absl::Span<const float> queries, const SearchOptions& options, const CallContext& call) const {
  LLMKIT_RETURN_IF_ERROR(call.Check("collection search"));
  if (options.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  const size_t dim = impl_->store.dim();
  if (queries.size() % dim != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queries hold ", queries.size(), " floats, not a multiple of the dimension ", dim));
  }
  const size_t m = queries.size() / dim;
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(options.where));
  std::vector<float> prepared(queries.begin(), queries.end());
  for (size_t q = 0; q < m; ++q) {
    LLMKIT_RETURN_IF_ERROR(PrepareVector(&prepared[q * dim], dim, impl_->options.metric,
                                         absl::StrCat("queries[", q, "]")));
  }
  std::shared_lock lock(impl_->mu);
  const size_t k = static_cast<size_t>(options.k);
  std::vector<std::vector<ScoredSlot>> found;
  bool plain_exact = filter.matches_all() && impl_->live_count == impl_->store.rows() &&
                     (options.exact || impl_->ann == nullptr || !impl_->ann->ready());
  if (plain_exact && m >= 4 && impl_->live_count > 0) {
    found = internal::ExactSearchBatch(impl_->store, prepared.data(), m, k);
  } else {
    const Collection::Impl::Selection selection = impl_->Select(filter);  // Once per batch.
    found.reserve(m);
    for (size_t q = 0; q < m; ++q) {
      LLMKIT_ASSIGN_OR_RETURN(std::vector<ScoredSlot> one,
                              impl_->SearchSlots(&prepared[q * dim], k, selection, options));
      found.push_back(std::move(one));
    }
  }
  std::vector<std::vector<SearchHit>> out(m);
  for (size_t q = 0; q < m; ++q) {
    out[q].reserve(found[q].size());
    for (const ScoredSlot& scored : found[q]) out[q].push_back(impl_->MakeHit(scored, options));
  }
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  return out;
}

}  // namespace llmkit
