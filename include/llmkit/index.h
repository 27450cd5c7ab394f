// The embedding index, llmkit's local store: a Collection of documents (string id, text, JSON
// metadata, float32 vector) searchable by vector similarity with Chroma-style metadata filters,
// over an exact (flat), HNSW or IVF index, with deletion, upserts and crash-safe persistence.
//
//   LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<llmkit::Collection> col,
//                           llmkit::Collection::Create({.dim = 384}));
//   LLMKIT_RETURN_IF_ERROR(col->Add({{.id = "a", .text = "...", .vector = embedding}}));
//   LLMKIT_ASSIGN_OR_RETURN(auto hits, col->Search(query, {.k = 5, .where = where}));
//   LLMKIT_RETURN_IF_ERROR(col->Save("index/"));
//
// Exact search runs llmkit's own SIMD kernels (AVX2/FMA when the CPU has them, BLAS for query
// batches); HNSW and IVF are FAISS structures (faiss::HNSW with llmkit's SIMD distance
// computer, faiss::IndexIVFFlat). A filtered search returns k hits whenever k live documents
// match, for every index kind: approximate indexes search with the filter as an id selector and
// fall back to an exact scan of the matching documents when the filter is selective or the
// approximate search comes back short.

#ifndef LLMKIT_INDEX_H_
#define LLMKIT_INDEX_H_

#include <cstddef>
#include <cstdint>
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
#include "llmkit/store.h"

namespace llmkit {

// The structure answering vector queries.
//   kFlat  exact: every live vector is scored (the reference; fastest below ~1M vectors).
//   kHnsw  FAISS's HNSW graph; approximate, recall set by hnsw_ef_search.
//   kIvf   FAISS's IndexIVFFlat; trained on the collection's vectors once it holds
//          ivf_train_size of them (exact search until then); recall set by ivf_nprobe.
enum class IndexKind { kFlat, kHnsw, kIvf };

struct CollectionOptions {
  int dim = 0;  // Vector dimension; required (> 0).
  Metric metric = Metric::kCosine;
  IndexKind index = IndexKind::kFlat;
  // Store vectors as IEEE float16 (half the memory; exact search reads half the bytes). Scores
  // are computed in float32 from the rounded vectors. kFlat only.
  bool float16 = false;
  int hnsw_m = 32;                // Graph degree (FAISS M; level 0 has 2M links).
  int hnsw_ef_construction = 40;  // Beam width while inserting.
  int hnsw_ef_search = 64;        // Beam width while searching (raised to k when smaller).
  int ivf_nlist = 256;            // Number of IVF lists (k-means centroids).
  int ivf_nprobe = 16;            // Lists scanned per query.
  // IVF trains when the collection first holds this many vectors (0: 39 * ivf_nlist, FAISS's
  // minimum for a good k-means).
  int ivf_train_size = 0;
  // Deleted or replaced documents stay as tombstones (excluded from every result) until they
  // make up this fraction of the slots; then the next write compacts (HNSW/IVF rebuild).
  double compact_deleted_fraction = 0.25;
};

// Sizes reported by Collection::Stats.
struct CollectionStats {
  size_t documents = 0;       // Live documents.
  size_t tombstones = 0;      // Deleted or replaced slots not yet compacted.
  size_t vector_bytes = 0;    // Vector storage (float32 or float16).
  size_t index_bytes = 0;     // HNSW links or IVF lists and centroids.
  size_t document_bytes = 0;  // Ids, texts and metadata (approximate).
  bool ivf_trained = false;
};

// The names of index kinds and metrics in saved files, Python and the command line: one table
// for all of them. *Name gives the canonical name; *FromName also takes the aliases and returns
// nullopt for any other name (callers name the accepted set in their errors).
//   IndexKind: "flat" (alias "exact"), "hnsw", "ivf".
//   Metric: "cosine", "ip" (aliases "inner_product", "dot"), "l2" (alias "euclidean").
std::string_view IndexKindName(IndexKind kind);
std::optional<IndexKind> IndexKindFromName(std::string_view name);

// The local VectorStore (kind "local"). Multiple threads can call const methods (Search, Get,
// Save, Stats, ...) concurrently with each other and with one writer (Add, Upsert, Delete,
// Compact): writers are serialized by an internal lock and searches see either the state before
// a write or the state after it. The call context is checked before each operation (the
// operations themselves are in memory and short).
class Collection : public VectorStore {
 public:
  // Errors: kInvalidArgument (dim <= 0, float16 with HNSW/IVF, non-positive HNSW/IVF sizes).
  static absl::StatusOr<std::unique_ptr<Collection>> Create(const CollectionOptions& options);

  // Opens a collection written by Save without reading it whole: the files are memory-mapped
  // and documents and vectors are read in place (the first write copies them into memory), so
  // opening costs milliseconds. Load checks the MANIFEST and the files' structure; checksums
  // and metadata are verified on another thread meanwhile (see Verify). Errors: kNotFound (no
  // MANIFEST), kDataLoss naming the file that is missing, truncated or malformed,
  // kInvalidArgument (unknown format version). Files are replaced, never rewritten in place, by
  // Save; a file truncated in place by another program while mapped is outside this contract.
  static absl::StatusOr<std::unique_ptr<Collection>> Load(const std::string& dir);

  // The result of a loaded collection's verification (waiting for it): OK, or kDataLoss
  // naming the file that fails its checksum or holds metadata that is not an object. Every
  // read that returns documents (Search, Get, ListIds, ...) and every write waits for it and
  // fails with its error, so damaged files never yield results; reads that cannot report an
  // error (Contains, Ids, VectorOf, ...) then return nothing. OK for a collection not loaded.
  absl::Status Verify() const;
  // Names the files this collection was last loaded from or saved to (the SHA-256 of their
  // MANIFEST); empty before either. Files kept beside a collection (a RAG pipeline's BM25
  // snapshot) record it to tell whether they belong to the same save.
  std::string SavedState() const;

  ~Collection() override;
  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  // Adds documents; all or none. Errors: kInvalidArgument (wrong vector size, NaN/infinite
  // component, zero vector under cosine, metadata not an object, empty or repeated id in the
  // batch), kAlreadyExists (an id already in the collection; use Upsert).
  absl::Status Add(absl::Span<const Document> documents, const CallContext& call = {}) override;
  // The same from parallel arrays: `vectors` is row-major n x dim; `texts` and `metadatas` are
  // empty or hold n entries.
  absl::Status Add(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                   absl::Span<const std::string> texts = {}, absl::Span<const Json> metadatas = {});
  // Adds or replaces (text, metadata and vector). Errors as Add, without kAlreadyExists.
  absl::Status Upsert(absl::Span<const Document> documents, const CallContext& call = {}) override;
  absl::Status Upsert(absl::Span<const std::string> ids, absl::Span<const float> vectors,
                      absl::Span<const std::string> texts = {},
                      absl::Span<const Json> metadatas = {});
  // Deletes the documents with these ids and returns how many existed. Unknown ids are skipped.
  absl::StatusOr<size_t> Delete(absl::Span<const std::string> ids,
                                const CallContext& call = {}) override;
  // Deletes every document matching `where`; returns how many. Errors: kInvalidArgument.
  absl::StatusOr<size_t> DeleteWhere(const Json& where, const CallContext& call = {}) override;
  // Rebuilds storage and index without tombstones.
  absl::Status Compact();
  // Changes the default HNSW beam width (hnsw_ef_search) or IVF probe count (ivf_nprobe) of
  // this collection in memory (a write: waits for searches). With FAISS 1.7.3 a per-call
  // SearchOptions::ef_search takes effect only up to this value, while a larger value here makes
  // every search slower; tune it here. Errors: kInvalidArgument (< 1), kFailedPrecondition (flat).
  absl::Status SetSearchEffort(int effort);

  // The document with this id. Errors: kNotFound.
  absl::StatusOr<Document> Get(std::string_view id) const;
  // VectorStore reads (see store.h).
  absl::StatusOr<std::vector<Document>> Get(absl::Span<const std::string> ids,
                                            const GetOptions& options = {},
                                            const CallContext& call = {}) const override;
  absl::StatusOr<size_t> Count(const CallContext& call = {}) const override;
  absl::StatusOr<std::vector<std::string>> ListIds(const CallContext& call = {}) const override;
  absl::StatusOr<std::function<bool(std::string_view id)>> MatchingIds(
      const Json& where, const CallContext& call = {}) const override;
  std::string_view kind() const override { return "local"; }
  int dim() const override;
  Metric metric() const override;
  bool Contains(std::string_view id) const;
  // Reads of one document for retrieval (a hybrid retriever's lexical side, MMR, passages),
  // without copying what is not asked for. Each takes the read lock once.
  // Whether the live document `id` matches `filter` (false when absent).
  bool Matches(std::string_view id, const Filter& filter) const;
  // The vector of the live document `id` as float32 (empty when absent).
  std::vector<float> VectorOf(std::string_view id) const;
  // Copies the text and metadata of the live document `id`; false when absent.
  bool ReadTextAndMetadata(std::string_view id, std::string* text, Json* metadata) const;
  // The ids of the live documents, in storage order (oldest first, upserted ones moved last).
  std::vector<std::string> Ids() const;
  size_t Size() const;  // Live documents.
  const CollectionOptions& options() const;
  CollectionStats Stats() const;

  // The k most similar live documents matching options.where, best first (fewer only when
  // fewer match). Errors: kInvalidArgument (query size != dim, k < 1, NaN in the query, bad
  // filter), kInternal (a FAISS exception, with its message).
  absl::StatusOr<std::vector<SearchHit>> Search(absl::Span<const float> query,
                                                const SearchOptions& options = {},
                                                const CallContext& call = {}) const override;
  // `queries` is row-major m x dim; one result list per query. Large batches run through BLAS.
  absl::StatusOr<std::vector<std::vector<SearchHit>>> SearchBatch(
      absl::Span<const float> queries, const SearchOptions& options = {},
      const CallContext& call = {}) const override;

  // Writes the collection under `dir` (created if needed): data files named by a new
  // generation, each written to a temporary file, fsynced and renamed, then MANIFEST (format
  // version, options, sizes and SHA-256 of every file) replaced the same way, then the previous
  // generation's files removed. A crash at any point leaves the previous save loadable.
  // One writer at a time: Save holds an exclusive lock on `dir` (flock on dir/LOCK, released
  // by the kernel if the process dies), waiting for another writer until the call's deadline
  // (30 s without one); readers never wait.
  // Errors: kPermissionDenied, kDataLoss (write failed), kFailedPrecondition (another process,
  // named by pid, still writes `dir` at the deadline).
  absl::Status Save(const std::string& dir, const CallContext& call = {}) const;

  class Impl;
  // For the loader (persistence.cc): a collection over a loaded implementation.
  explicit Collection(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

namespace internal {
// Parses a MANIFEST and its files as Load does, from memory (the loader's fuzz target uses
// it). `files` maps file names to contents. With verify_checksums false, corrupt contents are
// still rejected with kDataLoss, never a crash.
absl::StatusOr<std::unique_ptr<Collection>> LoadCollectionFromFiles(
    std::string_view manifest, const std::vector<std::pair<std::string, std::string>>& files,
    bool verify_checksums);
}  // namespace internal

}  // namespace llmkit

#endif  // LLMKIT_INDEX_H_
