// A VectorStore in a Chroma server, over its HTTP API v2 (Chroma 1.x): one collection of a
// tenant's database, with Chroma's HNSW index (space cosine, ip or l2 from the metric).
//
//   llmkit::ChromaStoreOptions options;
//   options.url = "http://127.0.0.1:8000";
//   options.collection = "docs";
//   options.dim = 384;
//   LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<llmkit::ChromaStore> store,
//                           llmkit::ChromaStore::Connect(options));
//   LLMKIT_RETURN_IF_ERROR(store->Upsert(documents));
//   LLMKIT_ASSIGN_OR_RETURN(auto hits, store->Search(query, {.k = 5, .where = where}));
//
// How llmkit's contract maps onto Chroma (docs/stores.md has the details):
// - Metadata: Chroma holds scalar values only (string, integer, float, boolean). Scalars are
//   stored as Chroma metadata (filterable); a metadata object holding anything else (lists,
//   objects, null) is also stored whole, as JSON text under the reserved key "llmkit:json",
//   and read back from there. Keys starting with "llmkit:" are refused.
// - Upsert replaces text, metadata and vector, as every store does (Chroma's own upsert merges
//   metadata: the store sends null for the keys the new metadata drops).
// - Add refuses stored ids with kAlreadyExists (Chroma ignores them silently): the ids are
//   looked up first. Delete and DeleteWhere return how many existed (looked up first).
// - Writes larger than the server's max_batch_size (its pre-flight checks) go in several
//   requests; Chroma has no transactions, so a failure after the first request leaves the
//   earlier ones written (the error says how many documents were written).
// - Filters: every operator of the where language; $not is pushed down to the comparisons
//   ($eq <-> $ne, $in <-> $nin, De Morgan for $and/$or). Chroma orders numbers only, so $gt/
//   $gte/$lt/$lte on a string, and $not over such an ordered comparison, are kUnimplemented.
// - Scores as every store's: cosine similarity (1 - Chroma's cosine distance), inner product
//   (1 - Chroma's ip distance), squared L2 (Chroma's l2 distance).
// - SearchOptions::exact, ef_search and nprobe are kUnimplemented (Chroma searches its HNSW
//   index with the collection's own ef_search).
//
// Errors (besides store.h's): kUnavailable (cannot connect; 5xx after retries),
// kUnauthenticated / kPermissionDenied (401 / 403), kNotFound (no such collection and `create`
// false), kFailedPrecondition (the collection's space or dimension does not match the options),
// kInvalidArgument (bad input, or what the server refuses, with its message).
//
// Threads: every method may be called from many threads (the HTTP transport is shared).

#ifndef LLMKIT_CHROMA_H_
#define LLMKIT_CHROMA_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/http.h"
#include "llmkit/store.h"

namespace llmkit {

struct ChromaStoreOptions {
  std::string url = "http://127.0.0.1:8000";  // The server's base URL.
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::string collection = "llmkit";  // 3-512 characters of [a-zA-Z0-9._-] (Chroma's rule).
  int dim = 0;  // 0: the collection's dimension (required when the collection is empty).
  Metric metric = Metric::kCosine;
  bool create = true;  // Create the database and collection when missing.
  // Sent as "Authorization: Bearer <token>" when set; never in errors.
  std::string token;
  std::chrono::milliseconds request_timeout{60'000};  // Per request, within the deadline.
  int max_retries = 2;                       // Retries of connection failures, 429 and 5xx.
  std::shared_ptr<HttpTransport> transport;  // Null: a curl transport.
};

class ChromaStore : public VectorStore {
 public:
  // Connects, reads the server's limits, checks (or creates) the collection.
  static absl::StatusOr<std::unique_ptr<ChromaStore>> Connect(const ChromaStoreOptions& options,
                                                              const CallContext& call = {});
  ~ChromaStore() override;

  std::string_view kind() const override { return "chroma"; }
  int dim() const override;
  Metric metric() const override;
  // The collection's id on the server, and the server's largest write batch.
  const std::string& collection_id() const;
  int max_batch_size() const;

  absl::Status Add(absl::Span<const Document> documents, const CallContext& call = {}) override;
  absl::Status Upsert(absl::Span<const Document> documents, const CallContext& call = {}) override;
  absl::StatusOr<size_t> Delete(absl::Span<const std::string> ids,
                                const CallContext& call = {}) override;
  absl::StatusOr<size_t> DeleteWhere(const Json& where, const CallContext& call = {}) override;
  absl::StatusOr<std::vector<Document>> Get(absl::Span<const std::string> ids,
                                            const GetOptions& options = {},
                                            const CallContext& call = {}) const override;
  absl::StatusOr<size_t> Count(const CallContext& call = {}) const override;
  absl::StatusOr<std::vector<std::string>> ListIds(const CallContext& call = {}) const override;
  absl::StatusOr<std::function<bool(std::string_view id)>> MatchingIds(
      const Json& where, const CallContext& call = {}) const override;
  absl::StatusOr<std::vector<SearchHit>> Search(absl::Span<const float> query,
                                                const SearchOptions& options = {},
                                                const CallContext& call = {}) const override;
  // One request for all the queries.
  absl::StatusOr<std::vector<std::vector<SearchHit>>> SearchBatch(
      absl::Span<const float> queries, const SearchOptions& options = {},
      const CallContext& call = {}) const override;

  class Impl;

 private:
  explicit ChromaStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit

#endif  // LLMKIT_CHROMA_H_
