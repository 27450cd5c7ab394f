// Python bindings of the retrieval parts: Collection (numpy float32 in, no copy when the array
// is C-contiguous float32), Hit, BM25Index, Retriever. Searches and writes release the GIL.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "call_conversion.h"
#include "json_conversion.h"
#include "llmkit/bm25.h"
#include "llmkit/chroma.h"
#include "llmkit/index.h"
#include "llmkit/pgvector.h"
#include "llmkit/retriever.h"
#include "llmkit/store.h"
#include "option_conversion.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::string KindName(IndexKind kind) { return std::string(IndexKindName(kind)); }

// A (n, dim) float32 view of `vectors`; a 1-D array is one row.
absl::Span<const float> Rows(const FloatArray& vectors, size_t dim, size_t* rows) {
  if (vectors.ndim() == 1) {
    *rows = 1;
  } else if (vectors.ndim() == 2) {
    *rows = static_cast<size_t>(vectors.shape(0));
    if (static_cast<size_t>(vectors.shape(1)) != dim) {
      throw StatusError(
          absl::InvalidArgumentError("vectors have " + std::to_string(vectors.shape(1)) +
                                     " columns, the collection's dim is " + std::to_string(dim)));
    }
  } else {
    throw StatusError(absl::InvalidArgumentError("vectors must be a 1-D or 2-D array"));
  }
  return absl::MakeConstSpan(vectors.data(), static_cast<size_t>(vectors.size()));
}

std::vector<Json> Metadatas(const std::optional<py::sequence>& metadatas) {
  std::vector<Json> out;
  if (!metadatas) return out;
  for (py::handle m : *metadatas) out.push_back(m.is_none() ? Json() : PythonToJson(m));
  return out;
}

void Write(Collection& col, const std::vector<std::string>& ids, const FloatArray& vectors,
           const std::optional<std::vector<std::string>>& texts,
           const std::optional<py::sequence>& metadatas, bool upsert) {
  size_t rows;
  absl::Span<const float> data = Rows(vectors, col.options().dim, &rows);
  std::vector<Json> metas = Metadatas(metadatas);
  absl::Status status;
  {
    py::gil_scoped_release release;
    absl::Span<const std::string> text_span;
    if (texts) text_span = *texts;
    status =
        upsert ? col.Upsert(ids, data, text_span, metas) : col.Add(ids, data, text_span, metas);
  }
  ThrowIfError(status);
}

py::object Search(const VectorStore& col, const FloatArray& query, int k, py::object where,
                  bool exact, int ef_search, int nprobe, std::optional<double> timeout,
                  py::object tags) {
  CallContext call = ToCallContext(timeout, std::nullopt, tags);
  SearchOptions options;
  options.k = k;
  options.exact = exact;
  options.ef_search = ef_search;
  options.nprobe = nprobe;
  if (!where.is_none()) options.where = PythonToJson(where);
  size_t rows;
  absl::Span<const float> data = Rows(query, static_cast<size_t>(col.dim()), &rows);
  if (query.ndim() == 1) {
    absl::StatusOr<std::vector<SearchHit>> hits;
    {
      py::gil_scoped_release release;
      hits = col.Search(data, options, call);
    }
    return py::cast(ValueOrThrow(std::move(hits)));
  }
  absl::StatusOr<std::vector<std::vector<SearchHit>>> hits;
  {
    py::gil_scoped_release release;
    hits = col.SearchBatch(data, options, call);
  }
  return py::cast(ValueOrThrow(std::move(hits)));
}

// Any store's add/upsert from the same arguments as Collection's (documents built here).
void WriteStore(VectorStore& store, const std::vector<std::string>& ids, const FloatArray& vectors,
                const std::optional<std::vector<std::string>>& texts,
                const std::optional<py::sequence>& metadatas, bool upsert,
                const CallContext& call) {
  size_t rows;
  const size_t dim = static_cast<size_t>(store.dim());
  absl::Span<const float> data = Rows(vectors, dim, &rows);
  std::vector<Json> metas = Metadatas(metadatas);
  if (rows != ids.size() || (texts && texts->size() != ids.size()) ||
      (!metas.empty() && metas.size() != ids.size())) {
    throw StatusError(
        absl::InvalidArgumentError("ids, vectors, texts and metadatas must have the same length"));
  }
  std::vector<Document> documents(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    documents[i].id = ids[i];
    if (texts) documents[i].text = (*texts)[i];
    if (!metas.empty()) documents[i].metadata = std::move(metas[i]);
    documents[i].vector.assign(data.begin() + i * dim, data.begin() + (i + 1) * dim);
  }
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = upsert ? store.Upsert(documents, call) : store.Add(documents, call);
  }
  ThrowIfError(status);
}

// Runs `body` (returning absl::StatusOr<...> of type S) without the GIL; its value or a raise.
template <typename S, typename F>
auto Released(F&& body) {
  S result;
  {
    py::gil_scoped_release release;
    result = body();
  }
  return ValueOrThrow(std::move(result));
}

void WriteTexts(Bm25Index& bm, const std::vector<std::string>& ids,
                const std::vector<std::string>& texts, bool upsert) {
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = upsert ? bm.Upsert(ids, texts) : bm.Add(ids, texts);
  }
  ThrowIfError(status);
}

}  // namespace

void BindIndex(py::module_& m) {
  py::class_<SearchHit>(m, "SearchHit", "One search result: id, score, text, metadata.")
      .def_readonly("id", &SearchHit::id)
      .def_readonly("score", &SearchHit::score)
      .def_readonly("text", &SearchHit::text)
      .def_property_readonly("metadata",
                             [](const SearchHit& h) { return JsonToPython(h.metadata); })
      .def("__repr__", [](const SearchHit& h) {
        return "SearchHit(id=" + py::repr(py::str(h.id)).cast<std::string>() +
               ", score=" + std::to_string(h.score) + ")";
      });

  py::class_<VectorStore>(m, "VectorStore",
                          "What every store offers (Collection, PgVectorStore, ...). See "
                          "docs/stores.md. Every call takes timeout= (seconds) and tags=.")
      .def_property_readonly("kind", [](const VectorStore& s) { return std::string(s.kind()); })
      .def_property_readonly("dim", &VectorStore::dim)
      .def_property_readonly(
          "metric", [](const VectorStore& s) { return std::string(MetricName(s.metric())); })
      .def(
          "add",
          [](VectorStore& s, const std::vector<std::string>& ids, const FloatArray& vectors,
             std::optional<std::vector<std::string>> texts, std::optional<py::sequence> metas,
             std::optional<double> timeout, py::object tags) {
            WriteStore(s, ids, vectors, texts, metas, /*upsert=*/false,
                       ToCallContext(timeout, std::nullopt, tags));
          },
          py::arg("ids"), py::arg("vectors"), py::arg("texts") = py::none(),
          py::arg("metadatas") = py::none(), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none())
      .def(
          "upsert",
          [](VectorStore& s, const std::vector<std::string>& ids, const FloatArray& vectors,
             std::optional<std::vector<std::string>> texts, std::optional<py::sequence> metas,
             std::optional<double> timeout, py::object tags) {
            WriteStore(s, ids, vectors, texts, metas, /*upsert=*/true,
                       ToCallContext(timeout, std::nullopt, tags));
          },
          py::arg("ids"), py::arg("vectors"), py::arg("texts") = py::none(),
          py::arg("metadatas") = py::none(), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none())
      .def(
          "delete",
          [](VectorStore& s, const std::vector<std::string>& ids, std::optional<double> timeout,
             py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            return Released<absl::StatusOr<size_t>>([&] { return s.Delete(ids, call); });
          },
          py::arg("ids"), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none(), "Deletes these ids; returns how many existed.")
      .def(
          "delete_where",
          [](VectorStore& s, py::object where, std::optional<double> timeout, py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            Json filter = PythonToJson(where);
            return Released<absl::StatusOr<size_t>>([&] { return s.DeleteWhere(filter, call); });
          },
          py::arg("where"), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none())
      .def(
          "get_many",
          [](const VectorStore& s, const std::vector<std::string>& ids, bool include_vectors,
             std::optional<double> timeout, py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            GetOptions options;
            options.include_vectors = include_vectors;
            std::vector<Document> docs = Released<absl::StatusOr<std::vector<Document>>>(
                [&] { return s.Get(ids, options, call); });
            py::list out;
            for (const Document& doc : docs) {
              py::dict d;
              d["id"] = doc.id;
              d["text"] = doc.text;
              d["metadata"] = JsonToPython(doc.metadata);
              if (include_vectors) {
                d["vector"] = py::array_t<float>(static_cast<py::ssize_t>(doc.vector.size()),
                                                 doc.vector.data());
              }
              out.append(d);
            }
            return out;
          },
          py::arg("ids"), py::kw_only(), py::arg("include_vectors") = false,
          py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
          "The stored documents among ids (dicts: id, text, metadata[, vector]), in that order; "
          "unknown ids are left out.")
      .def(
          "count",
          [](const VectorStore& s, std::optional<double> timeout, py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            return Released<absl::StatusOr<size_t>>([&] { return s.Count(call); });
          },
          py::kw_only(), py::arg("timeout") = py::none(), py::arg("tags") = py::none())
      .def(
          "ids",
          [](const VectorStore& s, std::optional<double> timeout, py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            return Released<absl::StatusOr<std::vector<std::string>>>(
                [&] { return s.ListIds(call); });
          },
          py::kw_only(), py::arg("timeout") = py::none(), py::arg("tags") = py::none())
      .def("search", &Search, py::arg("query"), py::arg("k") = 10, py::arg("where") = py::none(),
           py::arg("exact") = false, py::arg("ef_search") = 0, py::arg("nprobe") = 0, py::kw_only(),
           py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
           "1-D query: list[SearchHit]; 2-D (m, dim): one list per row. ef_search / nprobe: "
           "this call's HNSW beam width / IVF probes (0: the store's).");

  py::class_<PgVectorStore, VectorStore>(m, "PgVectorStore",
                                         "A store in PostgreSQL with pgvector. See docs/stores.md.")
      .def(py::init([](const std::string& dsn, const std::string& table, int dim,
                       const std::string& metric, const std::string& schema, bool create,
                       bool halfvec, std::optional<std::map<std::string, std::string>> columns,
                       int hnsw_m, int hnsw_ef_construction, int ef_search, int pool_size,
                       int batch_size, int max_retries, std::optional<double> timeout) {
             PgVectorStoreOptions o;
             o.dsn = dsn;
             o.table = table;
             o.dim = dim;
             o.metric = ParseMetric(metric);
             o.schema = schema;
             o.create = create;
             o.halfvec = halfvec;
             if (columns) {
               for (const auto& [key, value] : *columns) {
                 if (key == "id") {
                   o.columns.id = value;
                 } else if (key == "text") {
                   o.columns.text = value;
                 } else if (key == "metadata") {
                   o.columns.metadata = value;
                 } else if (key == "embedding") {
                   o.columns.embedding = value;
                 } else {
                   throw StatusError(absl::InvalidArgumentError(
                       "columns: unknown key '" + key + "' (id, text, metadata, embedding)"));
                 }
               }
             }
             o.hnsw_m = hnsw_m;
             o.hnsw_ef_construction = hnsw_ef_construction;
             o.ef_search = ef_search;
             o.pool_size = pool_size;
             o.batch_size = batch_size;
             o.max_retries = max_retries;
             CallContext call = ToCallContext(timeout, std::nullopt, py::none());
             return Released<absl::StatusOr<std::unique_ptr<PgVectorStore>>>(
                 [&] { return PgVectorStore::Connect(o, call); });
           }),
           py::arg("dsn") = "", py::kw_only(), py::arg("table") = "llmkit_documents",
           py::arg("dim") = 0, py::arg("metric") = "cosine", py::arg("schema") = "",
           py::arg("create") = true, py::arg("halfvec") = false, py::arg("columns") = py::none(),
           py::arg("hnsw_m") = 16, py::arg("hnsw_ef_construction") = 64, py::arg("ef_search") = 40,
           py::arg("pool_size") = 4, py::arg("batch_size") = 500, py::arg("max_retries") = 2,
           py::arg("timeout") = py::none())
      .def_property_readonly("server", &PgVectorStore::server)
      .def_property_readonly("pgvector_version", &PgVectorStore::pgvector_version)
      .def("__len__", [](const PgVectorStore& s) {
        return Released<absl::StatusOr<size_t>>([&] { return s.Count(); });
      });

  py::class_<ChromaStore, VectorStore>(
      m, "ChromaStore", "A store in a Chroma server (HTTP API v2). See docs/stores.md.")
      .def(py::init([](const std::string& url, const std::string& collection, int dim,
                       const std::string& metric, const std::string& tenant,
                       const std::string& database, bool create, const std::string& token,
                       double request_timeout, int max_retries, std::optional<double> timeout) {
             ChromaStoreOptions o;
             o.url = url;
             o.collection = collection;
             o.dim = dim;
             o.metric = ParseMetric(metric);
             o.tenant = tenant;
             o.database = database;
             o.create = create;
             o.token = token;
             if (!(request_timeout > 0)) {
               throw StatusError(absl::InvalidArgumentError(
                   "request_timeout must be a positive number of seconds"));
             }
             o.request_timeout = std::chrono::milliseconds(
                 static_cast<int64_t>(std::min(request_timeout, 1e9) * 1000));
             o.max_retries = max_retries;
             CallContext call = ToCallContext(timeout, std::nullopt, py::none());
             return Released<absl::StatusOr<std::unique_ptr<ChromaStore>>>(
                 [&] { return ChromaStore::Connect(o, call); });
           }),
           py::arg("url") = "http://127.0.0.1:8000", py::kw_only(),
           py::arg("collection") = "llmkit", py::arg("dim") = 0, py::arg("metric") = "cosine",
           py::arg("tenant") = "default_tenant", py::arg("database") = "default_database",
           py::arg("create") = true, py::arg("token") = "", py::arg("request_timeout") = 60.0,
           py::arg("max_retries") = 2, py::arg("timeout") = py::none())
      .def_property_readonly("collection_id", &ChromaStore::collection_id)
      .def_property_readonly("max_batch_size", &ChromaStore::max_batch_size)
      .def("__len__", [](const ChromaStore& s) {
        return Released<absl::StatusOr<size_t>>([&] { return s.Count(); });
      });

  py::class_<Collection, VectorStore>(
      m, "Collection",
      "Documents (id, text, metadata, float32 vector) searchable by vector "
      "similarity with metadata filters. See docs/retrieval.md.")
      .def(py::init([](int dim, const std::string& metric, const std::string& index, bool float16,
                       int hnsw_m, int hnsw_ef_construction, int hnsw_ef_search, int ivf_nlist,
                       int ivf_nprobe, int ivf_train_size, double compact_deleted_fraction) {
             CollectionOptions o;
             o.dim = dim;
             o.metric = ParseMetric(metric);
             o.index = ParseKind(index);
             o.float16 = float16;
             o.hnsw_m = hnsw_m;
             o.hnsw_ef_construction = hnsw_ef_construction;
             o.hnsw_ef_search = hnsw_ef_search;
             o.ivf_nlist = ivf_nlist;
             o.ivf_nprobe = ivf_nprobe;
             o.ivf_train_size = ivf_train_size;
             o.compact_deleted_fraction = compact_deleted_fraction;
             return ValueOrThrow(Collection::Create(o));
           }),
           py::arg("dim"), py::arg("metric") = "cosine", py::arg("index") = "flat", py::kw_only(),
           py::arg("float16") = false, py::arg("hnsw_m") = 32, py::arg("hnsw_ef_construction") = 40,
           py::arg("hnsw_ef_search") = 64, py::arg("ivf_nlist") = 256, py::arg("ivf_nprobe") = 16,
           py::arg("ivf_train_size") = 0, py::arg("compact_deleted_fraction") = 0.25)
      .def_static(
          "load",
          [](const std::string& dir) {
            absl::StatusOr<std::unique_ptr<Collection>> col;
            {
              py::gil_scoped_release release;
              col = Collection::Load(dir);
            }
            return ValueOrThrow(std::move(col));
          },
          py::arg("dir"),
          "Opens a collection written by save() in place (memory-mapped; copied on the first "
          "write). Raises DataLossError naming a damaged file; checksums are verified in the "
          "background, and reads raise DataLossError if they fail (see verify()).")
      .def(
          "verify",
          [](const Collection& c) {
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = c.Verify();
            }
            ThrowIfError(status);
          },
          "Waits for the background verification of a loaded collection's files; raises "
          "DataLossError naming a damaged one.")
      .def(
          "add",
          [](Collection& c, const std::vector<std::string>& ids, const FloatArray& vectors,
             std::optional<std::vector<std::string>> texts, std::optional<py::sequence> metas) {
            Write(c, ids, vectors, texts, metas, /*upsert=*/false);
          },
          py::arg("ids"), py::arg("vectors"), py::arg("texts") = py::none(),
          py::arg("metadatas") = py::none())
      .def(
          "upsert",
          [](Collection& c, const std::vector<std::string>& ids, const FloatArray& vectors,
             std::optional<std::vector<std::string>> texts, std::optional<py::sequence> metas) {
            Write(c, ids, vectors, texts, metas, /*upsert=*/true);
          },
          py::arg("ids"), py::arg("vectors"), py::arg("texts") = py::none(),
          py::arg("metadatas") = py::none())
      .def(
          "set_search_effort",
          [](Collection& c, int effort) { ThrowIfError(c.SetSearchEffort(effort)); },
          py::arg("effort"), "Default HNSW ef_search / IVF nprobe of this collection.")
      .def("compact",
           [](Collection& c) {
             absl::Status status;
             {
               py::gil_scoped_release release;
               status = c.Compact();
             }
             ThrowIfError(status);
           })
      .def(
          "get",
          [](const Collection& c, const std::string& id) {
            Document doc = ValueOrThrow(c.Get(id));
            py::dict out;
            out["id"] = doc.id;
            out["text"] = doc.text;
            out["metadata"] = JsonToPython(doc.metadata);
            out["vector"] =
                py::array_t<float>(static_cast<py::ssize_t>(doc.vector.size()), doc.vector.data());
            return out;
          },
          py::arg("id"),
          "The document as a dict (id, text, metadata, vector). Raises NotFoundError.")
      .def(
          "save",
          [](const Collection& c, const std::string& dir, std::optional<double> timeout) {
            CallContext call = ToCallContext(timeout, std::nullopt, py::none());
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = c.Save(dir, call);
            }
            ThrowIfError(status);
          },
          py::arg("dir"), py::kw_only(), py::arg("timeout") = py::none(),
          "Writes the collection under dir, holding its writer lock (waiting for another writer "
          "up to timeout seconds, 30 without one).")
      .def("stats",
           [](const Collection& c) {
             CollectionStats s = c.Stats();
             py::dict out;
             out["documents"] = s.documents;
             out["tombstones"] = s.tombstones;
             out["vector_bytes"] = s.vector_bytes;
             out["index_bytes"] = s.index_bytes;
             out["document_bytes"] = s.document_bytes;
             out["ivf_trained"] = s.ivf_trained;
             return out;
           })
      .def("__len__", &Collection::Size)
      .def("__contains__", &Collection::Contains, py::arg("id"))
      .def_property_readonly("index",
                             [](const Collection& c) { return KindName(c.options().index); });

  py::class_<Bm25Hit>(m, "Bm25Hit")
      .def_readonly("id", &Bm25Hit::id)
      .def_readonly("score", &Bm25Hit::score)
      .def("__repr__", [](const Bm25Hit& h) {
        return "Bm25Hit(id=" + py::repr(py::str(h.id)).cast<std::string>() +
               ", score=" + std::to_string(h.score) + ")";
      });

  py::class_<Bm25Index>(m, "Bm25Index", "Lexical (BM25) index over texts. See docs/retrieval.md.")
      .def(py::init([](double k1, double b, bool stop_words, bool stemming) {
             return ValueOrThrow(Bm25Index::Create(
                 {.k1 = k1, .b = b, .english_stop_words = stop_words, .stemming = stemming}));
           }),
           py::kw_only(), py::arg("k1") = 1.2, py::arg("b") = 0.75, py::arg("stop_words") = true,
           py::arg("stemming") = true)
      .def(
          "add",
          [](Bm25Index& bm, const std::vector<std::string>& ids,
             const std::vector<std::string>& texts) { WriteTexts(bm, ids, texts, false); },
          py::arg("ids"), py::arg("texts"))
      .def(
          "upsert",
          [](Bm25Index& bm, const std::vector<std::string>& ids,
             const std::vector<std::string>& texts) { WriteTexts(bm, ids, texts, true); },
          py::arg("ids"), py::arg("texts"))
      .def(
          "delete",
          [](Bm25Index& bm, const std::vector<std::string>& ids) { return bm.Delete(ids); },
          py::arg("ids"))
      .def(
          "search",
          [](const Bm25Index& bm, const std::string& query, int k) {
            absl::StatusOr<std::vector<Bm25Hit>> hits;
            {
              py::gil_scoped_release release;
              hits = bm.Search(query, {.k = k});
            }
            return ValueOrThrow(std::move(hits));
          },
          py::arg("query"), py::arg("k") = 10)
      .def("analyze", &Bm25Index::Analyze, py::arg("text"), "The terms the analyzer makes of text.")
      .def(
          "save",
          [](const Bm25Index& bm, const std::string& path) {
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = bm.Save(path);
            }
            ThrowIfError(status);
          },
          py::arg("path"), "Writes a snapshot of the index to path atomically.")
      .def_static(
          "open",
          [](const std::string& path) {
            absl::StatusOr<std::unique_ptr<Bm25Index>> opened;
            {
              py::gil_scoped_release release;
              opened = Bm25Index::Open(path);
            }
            return ValueOrThrow(std::move(opened));
          },
          py::arg("path"),
          "Opens a snapshot written by save() in place (memory-mapped; copied on the first "
          "write). Raises NotFoundError, DataLossError.")
      .def(
          "verify",
          [](const Bm25Index& bm) {
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = bm.Verify();
            }
            ThrowIfError(status);
          },
          "Waits for the background verification of an opened snapshot; raises DataLossError.")
      .def("__len__", &Bm25Index::Size)
      .def("__contains__", &Bm25Index::Contains, py::arg("id"));

  py::class_<RetrievedHit>(m, "RetrievedHit")
      .def_readonly("id", &RetrievedHit::id)
      .def_readonly("score", &RetrievedHit::score)
      .def_readonly("vector_rank", &RetrievedHit::vector_rank)
      .def_readonly("lexical_rank", &RetrievedHit::lexical_rank)
      .def_readonly("vector_score", &RetrievedHit::vector_score)
      .def_readonly("lexical_score", &RetrievedHit::lexical_score)
      .def_readonly("text", &RetrievedHit::text)
      .def_property_readonly("metadata",
                             [](const RetrievedHit& h) { return JsonToPython(h.metadata); })
      .def("__repr__", [](const RetrievedHit& h) {
        return "RetrievedHit(id=" + py::repr(py::str(h.id)).cast<std::string>() +
               ", score=" + std::to_string(h.score) + ")";
      });

  py::class_<Retriever>(m, "Retriever",
                        "Vector, lexical or hybrid retrieval over a Collection and a BM25Index.")
      .def(
          py::init([](const VectorStore* collection, const Bm25Index* bm25, const std::string& mode,
                      const std::string& fusion, double alpha, double rrf_k, double vector_weight,
                      double lexical_weight, int candidates, bool mmr, double mmr_lambda) {
            RetrieverOptions o;
            o.mode = ParseMode(mode);
            o.fusion = ParseFusion(fusion);
            o.alpha = alpha;
            o.rrf_k = rrf_k;
            o.vector_weight = vector_weight;
            o.lexical_weight = lexical_weight;
            o.candidates = candidates;
            o.mmr = mmr;
            o.mmr_lambda = mmr_lambda;
            return std::make_unique<Retriever>(
                ValueOrThrow(Retriever::Create(collection, bm25, o)));
          }),
          py::arg("collection") = py::none(), py::arg("bm25") = py::none(), py::kw_only(),
          py::arg("mode") = "hybrid", py::arg("fusion") = "relative_score", py::arg("alpha") = 0.5,
          py::arg("rrf_k") = 60.0, py::arg("vector_weight") = 1.0, py::arg("lexical_weight") = 1.0,
          py::arg("candidates") = 100, py::arg("mmr") = false, py::arg("mmr_lambda") = 0.5,
          py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def(
          "search",
          [](const Retriever& r, std::optional<std::string> text, std::optional<FloatArray> vector,
             int k, py::object where, std::optional<double> timeout, py::object tags) {
            CallContext call = ToCallContext(timeout, std::nullopt, tags);
            RetrievalQuery q;
            if (text) q.text = *text;
            if (vector) {
              if (vector->ndim() != 1) {
                throw StatusError(absl::InvalidArgumentError("vector must be 1-D"));
              }
              q.vector = absl::MakeConstSpan(vector->data(), static_cast<size_t>(vector->size()));
            }
            q.k = k;
            if (!where.is_none()) q.where = PythonToJson(where);
            absl::StatusOr<std::vector<RetrievedHit>> hits;
            {
              py::gil_scoped_release release;
              hits = r.Search(q, call);
            }
            return ValueOrThrow(std::move(hits));
          },
          py::kw_only(), py::arg("text") = py::none(), py::arg("vector") = py::none(),
          py::arg("k") = 10, py::arg("where") = py::none(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none());
}

}  // namespace llmkit::python
