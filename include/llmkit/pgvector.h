// A VectorStore in PostgreSQL with the pgvector extension: one table with an id, the text,
// `jsonb` metadata and a `vector(d)` (or `halfvec(d)`) column, searched through pgvector's HNSW
// index (cosine, inner product or L2 operator class), over libpq.
//
//   llmkit::PgVectorStoreOptions options;
//   options.dsn = "postgresql://app@db.internal/rag?sslmode=verify-full";  // Or PG* variables.
//   options.table = "documents";
//   options.dim = 384;
//   LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<llmkit::PgVectorStore> store,
//                           llmkit::PgVectorStore::Connect(options));
//   LLMKIT_RETURN_IF_ERROR(store->Upsert(documents));
//   LLMKIT_ASSIGN_OR_RETURN(auto hits, store->Search(query, {.k = 5, .where = where}));
//
// The table (created with `create`, the default, when it is missing; docs/stores.md shows the
// SQL so that other programs read the same rows):
//   id text PRIMARY KEY, text text NOT NULL, metadata jsonb NOT NULL, embedding vector(d) NOT NULL
// and an HNSW index on embedding with the metric's operator class. An existing table works when
// `columns` names its columns (id must be unique); its dimension is read from the column.
//
// Behaviour:
// - Every value travels as a bound parameter; filters become SQL over the jsonb column with
//   bound keys and values. Table and column names are quoted identifiers.
// - A filtered search returns k rows whenever k rows match: pgvector 0.8's iterative index scan
//   (hnsw.iterative_scan = relaxed_order; rows re-sorted by distance here), and an exact scan
//   when the index comes back short (or SearchOptions::exact).
// - Writes: multi-row statements of `batch_size` rows, all batches of one call in one
//   transaction (all or none).
// - Connections: a pool of up to `pool_size`, opened on demand. A call waits for a free
//   connection until its deadline. A call stopped by its deadline or cancellation closes its
//   connection (PostgreSQL ends the statement when it notices; see docs/stores.md).
// - Transient failures (connection lost, serialization failure, deadlock, server shutting
//   down) are retried `max_retries` times with RetryPolicy's backoff, within the deadline.
// - Credentials: the DSN follows libpq (URI or key=value; PG* environment variables fill what
//   it leaves out, ~/.pgpass included; sslmode and the other TLS settings as libpq has them).
//   Errors name the server as host:port/database and never contain the password.
//
// Errors (besides store.h's): kUnavailable (cannot connect), kUnauthenticated (password or
// certificate refused), kPermissionDenied, kFailedPrecondition (the table's columns or dimension
// do not match the options, pgvector missing and `create` false), kInvalidArgument (bad options,
// a NUL byte or invalid UTF-8 that PostgreSQL text cannot hold), kAlreadyExists (Add of a stored
// id), kInternal (other server errors, with SQLSTATE and message).
//
// Threads: every method may be called from many threads; each call uses one pooled connection.

#ifndef LLMKIT_PGVECTOR_H_
#define LLMKIT_PGVECTOR_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/store.h"

namespace llmkit {

// The table's column names (quoted as given: case and spaces are kept).
struct PgVectorColumns {
  std::string id = "id";
  std::string text = "text";
  std::string metadata = "metadata";
  std::string embedding = "embedding";
};

struct PgVectorStoreOptions {
  // libpq connection string or URI ("postgresql://user@host:port/db?sslmode=require",
  // "host=... dbname=..."); empty: the PG* environment variables alone.
  std::string dsn;
  std::string schema;  // Empty: the connection's search_path.
  std::string table = "llmkit_documents";
  PgVectorColumns columns;
  int dim = 0;  // Vector dimension; 0 with an existing table: read from its column.
  Metric metric = Metric::kCosine;
  bool halfvec = false;  // A halfvec(d) column (float16 storage) for a created table.
  // Create the extension, the table and its HNSW index when missing.
  bool create = true;
  int hnsw_m = 16;                // pgvector's defaults.
  int hnsw_ef_construction = 64;  //
  int ef_search = 40;             // hnsw.ef_search when SearchOptions::ef_search is 0.
  int pool_size = 4;              // Most connections open at once.
  int batch_size = 500;           // Rows per INSERT statement.
  int max_retries = 2;            // Retries of a transient failure.
  std::chrono::milliseconds connect_timeout{10'000};  // Per connection, within the deadline.
};

class PgVectorStore : public VectorStore {
 public:
  // Connects, checks (or creates) the extension, table and index. Errors: see above.
  static absl::StatusOr<std::unique_ptr<PgVectorStore>> Connect(const PgVectorStoreOptions& options,
                                                                const CallContext& call = {});
  ~PgVectorStore() override;

  std::string_view kind() const override { return "pgvector"; }
  int dim() const override;
  Metric metric() const override;
  // "host:port/database" of the server (never the password).
  const std::string& server() const;
  // The pgvector version the server runs ("0.8.0").
  const std::string& pgvector_version() const;

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

  class Impl;

 private:
  explicit PgVectorStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit

#endif  // LLMKIT_PGVECTOR_H_
