// The store interface: what search, retrieval and the RAG pipeline need from a place that holds
// documents (string id, text, JSON metadata, float32 vector), and the value types every store
// shares. The local Collection (index.h), PgVectorStore (pgvector.h) and any store a host writes
// implement it; Retriever and RagPipeline use only this interface.
//
//   std::unique_ptr<llmkit::VectorStore> store = ...;  // Local, PostgreSQL, ...
//   LLMKIT_RETURN_IF_ERROR(store->Upsert(documents, call));
//   LLMKIT_ASSIGN_OR_RETURN(auto hits, store->Search(query, {.k = 5, .where = where}, call));
//
// Rules every store follows:
// - Filters are the Chroma-style `where` language below, with the same results everywhere: a
//   remote store translates it to its own query language, never filters after a cut (a
//   filtered search returns k hits whenever k documents match).
// - Scores follow the metric: cosine similarity, inner product, or squared L2 distance.
// - Every call honours the CallContext's deadline and cancellation (kDeadlineExceeded,
//   kCancelled). A store that cannot do something it is asked (an option, an operation)
//   returns kUnimplemented naming the store and the feature; nothing is silently ignored.
// - Errors never contain credentials.
//
// Threads: stores are safe to call from many threads at once (each documents how it does it).

#ifndef LLMKIT_STORE_H_
#define LLMKIT_STORE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/call.h"
#include "llmkit/json.h"

namespace llmkit {

// How similar two vectors are. Scores in SearchHit follow the metric: cosine similarity (vectors
// are L2-normalized when stored and queries when searched), inner product, or squared L2
// distance (the only one where smaller is closer).
enum class Metric { kCosine, kInnerProduct, kL2 };

// The names of metrics in saved files, Python, connection options and the command line (one
// table): "cosine", "ip" (aliases "inner_product", "dot"), "l2" (alias "euclidean").
// MetricFromName returns nullopt for any other name.
std::string_view MetricName(Metric metric);
std::optional<Metric> MetricFromName(std::string_view name);

// One document. `metadata` is a JSON object (or null).
struct Document {
  std::string id;
  std::string text;
  Json metadata;
  std::vector<float> vector;
};

struct SearchOptions {
  int k = 10;
  // Chroma-style filter over metadata; null matches everything. Operators: {"field": value}
  // (equality), {"field": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": value}},
  // {"field": {"$in"|"$nin": [values]}}, {"$and": [...]}, {"$or": [...]}, {"$not": filter}.
  // Several fields in one object are and-ed. A missing field fails every comparison except
  // $ne and $nin. Numbers compare as numbers (int and double alike), strings by bytes.
  Json where;
  bool exact = false;            // Score every matching vector even on an approximate index.
  int ef_search = 0;             // HNSW beam width for this call (0: the store's default).
  int nprobe = 0;                // IVF lists scanned for this call (0: the store's default).
  bool include_text = true;      // Copy text into the hits.
  bool include_metadata = true;  // Copy metadata into the hits.
};

struct SearchHit {
  std::string id;
  float score = 0;  // See Metric.
  std::string text;
  Json metadata;
};

// What VectorStore::Get copies into the documents it returns (the id always).
struct GetOptions {
  bool include_text = true;
  bool include_metadata = true;
  bool include_vectors = false;
};

// A filter compiled from its JSON form, reusable across searches.
class Filter {
 public:
  // Errors: kInvalidArgument naming the offending path (e.g. "where.$and[1].year: unknown
  // operator $gtx"), or saying the $and/$or/$not nesting is deeper than 1024 levels.
  static absl::StatusOr<Filter> Parse(const Json& where);
  Filter();  // Matches everything.
  ~Filter();
  Filter(const Filter&);
  Filter& operator=(const Filter&);
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  bool Matches(const Json& metadata) const;
  bool matches_all() const;

  // The parsed tree (src/index/filter_node.h), for stores that translate filters; null when
  // the filter matches everything.
  struct Node;
  const Node* root() const { return root_.get(); }

 private:
  std::shared_ptr<const Node> root_;
};

// The store interface. Errors common to every method: kCancelled / kDeadlineExceeded from the
// call context, kUnavailable when a remote store cannot be reached (after its own retries),
// kUnimplemented for what the store cannot do. The rest is per method.
class VectorStore {
 public:
  virtual ~VectorStore() = default;

  // What the store is, for errors and logs: "local", "pgvector", "chroma", ...
  virtual std::string_view kind() const = 0;
  virtual int dim() const = 0;
  virtual Metric metric() const = 0;

  // Adds documents; all or none. Errors: kInvalidArgument (wrong vector size, NaN/infinite
  // component, zero vector under cosine, metadata not an object, empty or repeated id in the
  // batch), kAlreadyExists (an id already stored; use Upsert).
  virtual absl::Status Add(absl::Span<const Document> documents, const CallContext& call = {}) = 0;
  // Adds or replaces (text, metadata and vector), all or none. Errors as Add, without
  // kAlreadyExists.
  virtual absl::Status Upsert(absl::Span<const Document> documents,
                              const CallContext& call = {}) = 0;
  // Deletes the documents with these ids; returns how many existed. Unknown ids are skipped.
  virtual absl::StatusOr<size_t> Delete(absl::Span<const std::string> ids,
                                        const CallContext& call = {}) = 0;
  // Deletes every document matching `where`; returns how many. Errors: kInvalidArgument.
  virtual absl::StatusOr<size_t> DeleteWhere(const Json& where, const CallContext& call = {}) = 0;

  // The stored documents among `ids`, in the order asked; unknown ids are left out.
  virtual absl::StatusOr<std::vector<Document>> Get(absl::Span<const std::string> ids,
                                                    const GetOptions& options = {},
                                                    const CallContext& call = {}) const = 0;
  // How many documents the store holds.
  virtual absl::StatusOr<size_t> Count(const CallContext& call = {}) const = 0;
  // The ids of every stored document (the local store: oldest first; remote stores: by id).
  virtual absl::StatusOr<std::vector<std::string>> ListIds(const CallContext& call = {}) const = 0;
  // A predicate telling whether the stored document `id` matches `where` (false when absent),
  // for a lexical index kept beside the store. The predicate is valid until the next write and
  // is called from the caller's thread only. Errors: kInvalidArgument (bad filter).
  virtual absl::StatusOr<std::function<bool(std::string_view id)>> MatchingIds(
      const Json& where, const CallContext& call = {}) const = 0;

  // The k most similar documents matching options.where, best first (fewer only when fewer
  // match). Errors: kInvalidArgument (query size != dim, k < 1, NaN in the query, bad filter).
  virtual absl::StatusOr<std::vector<SearchHit>> Search(absl::Span<const float> query,
                                                        const SearchOptions& options = {},
                                                        const CallContext& call = {}) const = 0;
  // `queries` is row-major m x dim; one result list per query. The default runs Search per
  // query; stores with a batch path override it.
  virtual absl::StatusOr<std::vector<std::vector<SearchHit>>> SearchBatch(
      absl::Span<const float> queries, const SearchOptions& options = {},
      const CallContext& call = {}) const;
};

}  // namespace llmkit

#endif  // LLMKIT_STORE_H_
