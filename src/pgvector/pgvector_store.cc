// PgVectorStore: the table (checked or created), writes in batched transactions, searches with
// pgvector's iterative index scan and an exact fallback, all through the connection pool with
// retries of transient failures.

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/stored_vector.h"
#include "llmkit/pgvector.h"
#include "llmkit/status.h"
#include "pgvector/connection.h"
#include "pgvector/sql.h"

namespace llmkit {
namespace {

using pg::Connection;
using pg::Params;

// Ids per Get/Delete statement.
constexpr size_t kIdsPerStatement = 1000;

absl::Status Invalid(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("PgVectorStoreOptions::", internal::ToAbsl(field),
                                                 " must be ", internal::ToAbsl(rule)));
}

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

}  // namespace

class PgVectorStore::Impl {
 public:
  explicit Impl(const PgVectorStoreOptions& o)
      : options(o), pool(o.dsn, o.pool_size, o.connect_timeout) {}

  // Runs `body` on a pooled connection, again on a fresh one after a transient failure.
  template <typename Body>
  auto Run(const CallContext& call, Body&& body) -> decltype(body(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      absl::Status failure;
      {
        absl::StatusOr<pg::Pool::Lease> lease = pool.Acquire(call);
        if (!lease.ok()) {
          failure = lease.status();
        } else {
          auto result = body(**lease);
          if (result.ok() || !pg::IsTransient(StatusOf(result)) || attempt >= options.max_retries) {
            return result;
          }
          failure = StatusOf(result);
        }
      }
      if (!pg::IsTransient(failure) || attempt >= options.max_retries) return failure;
      if (!internal::WaitBeforeRetry(failure, attempt, call)) return failure;
    }
  }

  // BEGIN; body; COMMIT — ROLLBACK when the body fails on a live connection.
  template <typename Body>
  absl::Status Transaction(Connection& c, const CallContext& call, Body&& body) {
    LLMKIT_RETURN_IF_ERROR(c.Exec("BEGIN", call).status());
    absl::Status status = body();
    if (status.ok()) status = c.Exec("COMMIT", call).status();
    if (!status.ok() && !c.broken()) c.Exec("ROLLBACK", call).status().IgnoreError();
    return status;
  }

  absl::Status Setup(const CallContext& call);
  absl::Status Write(absl::Span<const Document> documents, bool upsert, const CallContext& call);
  absl::StatusOr<std::vector<SearchHit>> Query(Connection& c, const std::string& vector,
                                               const std::string& where_sql, const Params& params,
                                               const SearchOptions& options, bool exact,
                                               const CallContext& call) const;

  PgVectorStoreOptions options;
  mutable pg::Pool pool;
  std::string server;
  std::string version;
  bool iterative = false;                            // pgvector >= 0.8.
  std::string table, id, text, metadata, embedding;  // Quoted identifiers.
  std::string vector_type;                           // "vector" or "halfvec".
  std::string op;                                    // <=>, <#>, <->
};

absl::Status PgVectorStore::Impl::Setup(const CallContext& call) {
  const PgVectorStoreOptions& o = options;
  if (o.dim < 0) return Invalid("dim", ">= 0");
  if (o.pool_size < 1 || o.pool_size > 1000) return Invalid("pool_size", "in [1, 1000]");
  if (o.batch_size < 1 || o.batch_size > 10'000) return Invalid("batch_size", "in [1, 10000]");
  if (o.max_retries < 0 || o.max_retries > 10) return Invalid("max_retries", "in [0, 10]");
  if (o.hnsw_m < 2 || o.hnsw_m > 100) return Invalid("hnsw_m", "in [2, 100] (pgvector's range)");
  if (o.hnsw_ef_construction < 2 * o.hnsw_m || o.hnsw_ef_construction > 1000) {
    return Invalid("hnsw_ef_construction", "in [2 * hnsw_m, 1000] (pgvector's range)");
  }
  if (o.ef_search < 1 || o.ef_search > 1000) {
    return Invalid("ef_search", "in [1, 1000] (pgvector's range)");
  }
  if (o.connect_timeout.count() <= 0) return Invalid("connect_timeout", "> 0");
  LLMKIT_ASSIGN_OR_RETURN(std::string quoted_table, pg::QuoteIdentifier(o.table, "table"));
  if (!o.schema.empty()) {
    LLMKIT_ASSIGN_OR_RETURN(std::string quoted_schema, pg::QuoteIdentifier(o.schema, "schema"));
    table = absl::StrCat(quoted_schema, ".", quoted_table);
  } else {
    table = quoted_table;
  }
  LLMKIT_ASSIGN_OR_RETURN(id, pg::QuoteIdentifier(o.columns.id, "columns.id"));
  LLMKIT_ASSIGN_OR_RETURN(text, pg::QuoteIdentifier(o.columns.text, "columns.text"));
  LLMKIT_ASSIGN_OR_RETURN(metadata, pg::QuoteIdentifier(o.columns.metadata, "columns.metadata"));
  LLMKIT_ASSIGN_OR_RETURN(embedding, pg::QuoteIdentifier(o.columns.embedding, "columns.embedding"));
  op = o.metric == Metric::kCosine ? "<=>" : o.metric == Metric::kInnerProduct ? "<#>" : "<->";

  return Run(call, [&](Connection& c) -> absl::Status {
    server = c.server().label;
    if (o.create) {
      LLMKIT_RETURN_IF_ERROR(c.Exec("CREATE EXTENSION IF NOT EXISTS vector", call).status());
    }
    LLMKIT_ASSIGN_OR_RETURN(
        pg::Result ext,
        c.Exec("SELECT extversion FROM pg_extension WHERE extname = 'vector'", call));
    if (ext.rows() == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "PostgreSQL at ", server, ": the pgvector extension is not installed (create is false)"));
    }
    version = std::string(ext.value(0, 0));
    int major = 0, minor = 0;
    std::sscanf(version.c_str(), "%d.%d", &major, &minor);
    iterative = major > 0 || minor >= 8;

    LLMKIT_ASSIGN_OR_RETURN(pg::Result exists,
                            c.Exec("SELECT to_regclass($1)::oid", {table}, call));
    if (exists.null(0, 0)) {
      if (!o.create) {
        return absl::NotFoundError(
            absl::StrCat("PostgreSQL at ", server, ": no table ", table, " (create is false)"));
      }
      if (o.dim <= 0) {
        return absl::InvalidArgumentError(
            "PgVectorStoreOptions::dim must be > 0 to create the table");
      }
      const std::string type = o.halfvec ? "halfvec" : "vector";
      const std::string ops = absl::StrCat(type, o.metric == Metric::kCosine         ? "_cosine_ops"
                                                 : o.metric == Metric::kInnerProduct ? "_ip_ops"
                                                                                     : "_l2_ops");
      LLMKIT_ASSIGN_OR_RETURN(std::string index_name,
                              pg::QuoteIdentifier(absl::StrCat(o.table, "_hnsw"), "table"));
      LLMKIT_RETURN_IF_ERROR(
          c.Exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", table, " (", id, " text PRIMARY KEY, ",
                              text, " text NOT NULL DEFAULT '', ", metadata,
                              " jsonb NOT NULL DEFAULT '{}', ", embedding, " ", type, "(", o.dim,
                              ") NOT NULL); CREATE INDEX IF NOT EXISTS ", index_name, " ON ", table,
                              " USING hnsw (", embedding, " ", ops, ") WITH (m = ", o.hnsw_m,
                              ", ef_construction = ", o.hnsw_ef_construction, ")"),
                 call)
              .status());
    }
    // The columns the options name, and the vector column's type and dimension.
    LLMKIT_ASSIGN_OR_RETURN(
        pg::Result columns,
        c.Exec("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
               "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
               {table}, call));
    absl::flat_hash_map<std::string, std::string> types;
    for (int r = 0; r < columns.rows(); ++r) {
      types[std::string(columns.value(r, 0))] = std::string(columns.value(r, 1));
    }
    for (const std::string* name :
         {&o.columns.id, &o.columns.text, &o.columns.metadata, &o.columns.embedding}) {
      if (!types.contains(*name)) {
        return absl::FailedPreconditionError(
            absl::StrCat("PostgreSQL at ", server, ": table ", table, " has no column \"", *name,
                         "\" (see PgVectorStoreOptions::columns)"));
      }
    }
    const std::string& vector_column = types[o.columns.embedding];
    int column_dim = 0;
    size_t paren = vector_column.find('(');
    vector_type = vector_column.substr(0, paren);
    if ((vector_type != "vector" && vector_type != "halfvec") || paren == std::string::npos ||
        !absl::SimpleAtoi(vector_column.substr(paren + 1, vector_column.size() - paren - 2),
                          &column_dim)) {
      return absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL at ", server, ": column \"", o.columns.embedding, "\" of ",
                       table, " is ", vector_column, ", not vector(d) or halfvec(d)"));
    }
    if (o.dim > 0 && o.dim != column_dim) {
      return absl::FailedPreconditionError(
          absl::StrCat("PostgreSQL at ", server, ": table ", table, " holds ", vector_column,
                       " but PgVectorStoreOptions::dim is ", o.dim));
    }
    options.dim = column_dim;
    return absl::OkStatus();
  });
}

absl::Status PgVectorStore::Impl::Write(absl::Span<const Document> documents, bool upsert,
                                        const CallContext& call) {
  // Everything is checked before anything is sent: all or none.
  std::vector<std::string> vectors, metadatas;
  vectors.reserve(documents.size());
  metadatas.reserve(documents.size());
  absl::flat_hash_set<std::string_view> seen;
  for (size_t i = 0; i < documents.size(); ++i) {
    const Document& d = documents[i];
    std::string what = absl::StrCat("documents[", i, "]");
    if (d.id.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty id"));
    if (HasNul(d.id) || HasNul(d.text)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": a NUL byte, which PostgreSQL text cannot hold"));
    }
    if (!seen.insert(d.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": id \"", d.id, "\" repeats in the batch"));
    }
    if (!d.metadata.is_null() && !d.metadata.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": metadata must be an object"));
    }
    LLMKIT_ASSIGN_OR_RETURN(std::vector<float> v,
                            internal::PrepareStoredVector(d.vector, options.dim, options.metric,
                                                          absl::StrCat(what, ".vector")));
    vectors.push_back(pg::VectorText(v));
    metadatas.push_back(d.metadata.is_null() ? "{}" : d.metadata.Dump());
  }
  if (documents.empty()) return call.Check("PostgreSQL write");
  const size_t batch = static_cast<size_t>(options.batch_size);
  return Run(call, [&](Connection& c) -> absl::Status {
    return Transaction(c, call, [&]() -> absl::Status {
      for (size_t start = 0; start < documents.size(); start += batch) {
        size_t end = std::min(documents.size(), start + batch);
        std::string sql = absl::StrCat("INSERT INTO ", table, " (", id, ", ", text, ", ", metadata,
                                       ", ", embedding, ") VALUES ");
        Params params;
        params.reserve(4 * (end - start));
        for (size_t i = start; i < end; ++i) {
          size_t n = params.size();
          absl::StrAppend(&sql, i > start ? ", " : "", "($", n + 1, ", $", n + 2, ", $", n + 3,
                          "::jsonb, $", n + 4, "::", vector_type, ")");
          params.push_back(documents[i].id);
          params.push_back(documents[i].text);
          params.push_back(metadatas[i]);
          params.push_back(vectors[i]);
        }
        if (upsert) {
          absl::StrAppend(&sql, " ON CONFLICT (", id, ") DO UPDATE SET ", text, " = EXCLUDED.",
                          text, ", ", metadata, " = EXCLUDED.", metadata, ", ", embedding,
                          " = EXCLUDED.", embedding);
        }
        LLMKIT_RETURN_IF_ERROR(c.Exec(sql, params, call).status());
      }
      return absl::OkStatus();
    });
  });
}

absl::StatusOr<std::vector<SearchHit>> PgVectorStore::Impl::Query(
    Connection& c, const std::string& vector, const std::string& where_sql, const Params& params,
    const SearchOptions& o, bool exact, const CallContext& call) const {
  // The query vector is a literal: its text is ours (std::to_chars of finite floats: digits,
  // '.', 'e', '-', ',' and brackets), so nothing a caller sends reaches the SQL this way, and a
  // search without a filter is one simple-protocol message (a parameterized statement costs
  // pglite-server five).
  const std::string distance = absl::StrCat(embedding, " ", op, " '", vector, "'::", vector_type);
  // ORDER BY 4 sorts by the distance column, so the server parses the vector once and still
  // answers from the index; "+ 0" keeps the planner off the index: every matching row is scored.
  std::string sql =
      absl::StrCat("SELECT ", id, ", ", o.include_text ? text : "NULL", ", ",
                   o.include_metadata ? absl::StrCat(metadata, "::text") : "NULL", ", ", distance,
                   " FROM ", table, " WHERE ", where_sql, " ORDER BY ",
                   exact ? absl::StrCat("(", distance, ") + 0") : "4", " LIMIT ", o.k);
  LLMKIT_ASSIGN_OR_RETURN(pg::Result rows,
                          params.empty() ? c.Exec(sql, call) : c.Exec(sql, params, call));
  struct Row {
    double distance;
    SearchHit hit;
  };
  std::vector<Row> found;
  found.reserve(static_cast<size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    Row row;
    row.hit.id = std::string(rows.value(r, 0));
    if (o.include_text) row.hit.text = std::string(rows.value(r, 1));
    if (o.include_metadata) {
      absl::StatusOr<Json> meta = Json::Parse(rows.value(r, 2));
      if (!meta.ok()) return absl::DataLossError("PostgreSQL returned metadata that is not JSON");
      row.hit.metadata = *std::move(meta);
    }
    if (!absl::SimpleAtod(internal::ToAbsl(rows.value(r, 3)), &row.distance)) {
      return absl::DataLossError("PostgreSQL returned a distance that is not a number");
    }
    found.push_back(std::move(row));
  }
  // relaxed_order may return rows slightly out of order: sort by distance, then id.
  std::stable_sort(found.begin(), found.end(), [](const Row& a, const Row& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.hit.id < b.hit.id;
  });
  std::vector<SearchHit> hits;
  hits.reserve(found.size());
  for (Row& row : found) {
    double d = row.distance;
    row.hit.score = static_cast<float>(options.metric == Metric::kCosine         ? 1 - d
                                       : options.metric == Metric::kInnerProduct ? -d
                                                                                 : d * d);
    hits.push_back(std::move(row.hit));
  }
  return hits;
}

PgVectorStore::PgVectorStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgVectorStore::~PgVectorStore() = default;

absl::StatusOr<std::unique_ptr<PgVectorStore>> PgVectorStore::Connect(
    const PgVectorStoreOptions& options, const CallContext& call) {
  auto impl = std::make_unique<Impl>(options);
  LLMKIT_RETURN_IF_ERROR(impl->Setup(call));
  return std::unique_ptr<PgVectorStore>(new PgVectorStore(std::move(impl)));
}

int PgVectorStore::dim() const { return impl_->options.dim; }
Metric PgVectorStore::metric() const { return impl_->options.metric; }
const std::string& PgVectorStore::server() const { return impl_->server; }
const std::string& PgVectorStore::pgvector_version() const { return impl_->version; }

absl::Status PgVectorStore::Add(absl::Span<const Document> documents, const CallContext& call) {
  return impl_->Write(documents, /*upsert=*/false, call);
}

absl::Status PgVectorStore::Upsert(absl::Span<const Document> documents, const CallContext& call) {
  return impl_->Write(documents, /*upsert=*/true, call);
}

absl::StatusOr<size_t> PgVectorStore::Delete(absl::Span<const std::string> ids,
                                             const CallContext& call) {
  for (const std::string& id : ids) {
    if (HasNul(id)) return absl::InvalidArgumentError("ids: a NUL byte in an id");
  }
  return impl_->Run(call, [&](Connection& c) -> absl::StatusOr<size_t> {
    size_t deleted = 0;
    absl::Status status = impl_->Transaction(c, call, [&]() -> absl::Status {
      for (size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
        auto part = ids.subspan(start, kIdsPerStatement);
        LLMKIT_ASSIGN_OR_RETURN(
            pg::Result r, c.Exec(absl::StrCat("DELETE FROM ", impl_->table, " WHERE ", impl_->id,
                                              " = ANY($1::text[])"),
                                 {pg::ArrayText(part)}, call));
        deleted += r.affected();
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return deleted;
  });
}

absl::StatusOr<size_t> PgVectorStore::DeleteWhere(const Json& where, const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(where));
  Params params;
  std::string sql = absl::StrCat("DELETE FROM ", impl_->table, " WHERE ",
                                 pg::FilterSql(filter, impl_->metadata, &params));
  return impl_->Run(call, [&](Connection& c) -> absl::StatusOr<size_t> {
    LLMKIT_ASSIGN_OR_RETURN(pg::Result r,
                            params.empty() ? c.Exec(sql, call) : c.Exec(sql, params, call));
    return r.affected();
  });
}

absl::StatusOr<std::vector<Document>> PgVectorStore::Get(absl::Span<const std::string> ids,
                                                         const GetOptions& options,
                                                         const CallContext& call) const {
  for (const std::string& id : ids) {
    if (HasNul(id)) return absl::InvalidArgumentError("ids: a NUL byte in an id");
  }
  std::string columns = impl_->id;
  if (options.include_text) absl::StrAppend(&columns, ", ", impl_->text);
  if (options.include_metadata) absl::StrAppend(&columns, ", ", impl_->metadata, "::text");
  if (options.include_vectors) absl::StrAppend(&columns, ", ", impl_->embedding, "::text");
  const std::string sql = absl::StrCat("SELECT ", columns, " FROM ", impl_->table, " WHERE ",
                                       impl_->id, " = ANY($1::text[])");
  absl::flat_hash_map<std::string, Document> found;
  LLMKIT_RETURN_IF_ERROR(impl_->Run(call, [&](Connection& c) -> absl::Status {
    found.clear();
    for (size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
      LLMKIT_ASSIGN_OR_RETURN(
          pg::Result r, c.Exec(sql, {pg::ArrayText(ids.subspan(start, kIdsPerStatement))}, call));
      for (int row = 0; row < r.rows(); ++row) {
        Document d;
        d.id = std::string(r.value(row, 0));
        int column = 1;
        if (options.include_text) d.text = std::string(r.value(row, column++));
        if (options.include_metadata) {
          absl::StatusOr<Json> meta = Json::Parse(r.value(row, column++));
          if (!meta.ok())
            return absl::DataLossError("PostgreSQL returned metadata that is not JSON");
          d.metadata = *std::move(meta);
        }
        if (options.include_vectors) {
          LLMKIT_ASSIGN_OR_RETURN(d.vector, pg::ParseVectorText(r.value(row, column++), dim()));
        }
        std::string key = d.id;
        found.insert_or_assign(std::move(key), std::move(d));
      }
    }
    return absl::OkStatus();
  }));
  std::vector<Document> out;
  out.reserve(found.size());
  for (const std::string& id : ids) {
    if (auto it = found.find(id); it != found.end()) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<size_t> PgVectorStore::Count(const CallContext& call) const {
  return impl_->Run(call, [&](Connection& c) -> absl::StatusOr<size_t> {
    LLMKIT_ASSIGN_OR_RETURN(pg::Result r,
                            c.Exec(absl::StrCat("SELECT count(*) FROM ", impl_->table), call));
    size_t n = 0;
    if (r.rows() != 1 || !absl::SimpleAtoi(internal::ToAbsl(r.value(0, 0)), &n)) {
      return absl::DataLossError("PostgreSQL returned a count that is not a number");
    }
    return n;
  });
}

absl::StatusOr<std::vector<std::string>> PgVectorStore::ListIds(const CallContext& call) const {
  return impl_->Run(call, [&](Connection& c) -> absl::StatusOr<std::vector<std::string>> {
    LLMKIT_ASSIGN_OR_RETURN(pg::Result r,
                            c.Exec(absl::StrCat("SELECT ", impl_->id, " FROM ", impl_->table,
                                                " ORDER BY ", impl_->id, " COLLATE \"C\""),
                                   call));
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) ids.emplace_back(r.value(row, 0));
    return ids;
  });
}

absl::StatusOr<std::function<bool(std::string_view id)>> PgVectorStore::MatchingIds(
    const Json& where, const CallContext& call) const {
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(where));
  Params params;
  std::string sql = absl::StrCat("SELECT ", impl_->id, " FROM ", impl_->table, " WHERE ",
                                 pg::FilterSql(filter, impl_->metadata, &params));
  auto ids = std::make_shared<absl::flat_hash_set<std::string>>();
  LLMKIT_RETURN_IF_ERROR(impl_->Run(call, [&](Connection& c) -> absl::Status {
    LLMKIT_ASSIGN_OR_RETURN(pg::Result r,
                            params.empty() ? c.Exec(sql, call) : c.Exec(sql, params, call));
    ids->clear();
    for (int row = 0; row < r.rows(); ++row) ids->emplace(r.value(row, 0));
    return absl::OkStatus();
  }));
  return std::function<bool(std::string_view)>(
      [ids](std::string_view id) { return ids->contains(internal::ToAbsl(id)); });
}

absl::StatusOr<std::vector<SearchHit>> PgVectorStore::Search(absl::Span<const float> query,
                                                             const SearchOptions& options,
                                                             const CallContext& call) const {
  if (options.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  if (options.ef_search < 0 || options.ef_search > 1000) {
    return absl::InvalidArgumentError("SearchOptions::ef_search must be in [0, 1000] for pgvector");
  }
  if (options.nprobe != 0) {
    return absl::UnimplementedError(
        "pgvector store: SearchOptions::nprobe (IVF) — the store's index is HNSW; use ef_search");
  }
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(options.where));
  LLMKIT_ASSIGN_OR_RETURN(
      std::vector<float> prepared,
      internal::PrepareStoredVector(query, impl_->options.dim, impl_->options.metric, "query"));
  if (impl_->options.metric == Metric::kCosine) {
    // The server parses the literal's text, and parsing components near 1 costs it less than
    // the small ones of a unit vector (pglite's strtof: -10% per search). Cosine distance does
    // not change with scale, and a power of two changes no bit of it (pgvector's products, sums,
    // norms and the square root all scale exactly), so the unit query goes times about sqrt(dim).
    float scale = 1;
    while (scale * scale * 4 <= static_cast<float>(impl_->options.dim)) scale *= 2;
    for (float& x : prepared) x *= scale;
  }
  const std::string vector = pg::VectorText(prepared);
  // HNSW visits at least k candidates when it can.
  const int ef = std::max(options.ef_search > 0 ? options.ef_search : impl_->options.ef_search,
                          std::min(options.k, 1000));
  return impl_->Run(call, [&](Connection& c) -> absl::StatusOr<std::vector<SearchHit>> {
    if (c.ef_search != ef) {
      std::string set = absl::StrCat(
          "SELECT set_config('hnsw.ef_search', $1, false)",
          impl_->iterative ? ", set_config('hnsw.iterative_scan', 'relaxed_order', false)" : "");
      LLMKIT_RETURN_IF_ERROR(c.Exec(set, {absl::StrCat(ef)}, call).status());
      c.ef_search = ef;
    }
    // The filter's keys and values as literals quoted by libpq for this connection, so that a
    // filtered search is one simple-protocol message like an unfiltered one (a parameterized
    // statement is five, and costs pglite-server a fifth more time); as parameters when a value
    // cannot be a literal.
    Params params;
    bool quoted = true;
    std::string where_sql =
        pg::FilterSql(filter, impl_->metadata, [&](std::string value) -> std::string {
          std::optional<std::string> literal = c.Literal(value);
          quoted = quoted && literal.has_value();
          return literal.value_or("NULL");
        });
    if (!quoted) where_sql = pg::FilterSql(filter, impl_->metadata, &params);
    LLMKIT_ASSIGN_OR_RETURN(
        std::vector<SearchHit> hits,
        impl_->Query(c, vector, where_sql, params, options, options.exact, call));
    if (hits.size() < static_cast<size_t>(options.k) && !options.exact) {
      // The index came back short (a selective filter, or ef_search below the matches): an
      // exact scan of the matching rows returns k whenever k match.
      return impl_->Query(c, vector, where_sql, params, options, /*exact=*/true, call);
    }
    return hits;
  });
}

}  // namespace llmkit
