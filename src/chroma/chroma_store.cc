// ChromaStore: Chroma's HTTP API v2 behind the store interface — the collection (checked or
// created), filters translated to Chroma's where, metadata beyond scalars kept as JSON text,
// replacing upserts, batched writes, retries of transient failures.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/filter_node.h"
#include "index/stored_vector.h"
#include "llmkit/chroma.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using Node = Filter::Node;

// Where metadata that Chroma cannot hold as scalars is kept, whole, as JSON text.
constexpr std::string_view kJsonKey = "llmkit:json";
// A key no document has: {kNever: {"$eq": true}} matches nothing, {"$ne": true} everything.
constexpr std::string_view kNeverKey = "llmkit:never";
// Ids per get/delete request.
constexpr size_t kIdsPerRequest = 1000;

bool IsScalar(const Json& v) { return v.is_bool() || v.is_number() || v.is_string(); }

absl::Status Unsupported(std::string_view what) {
  return absl::UnimplementedError(absl::StrCat("chroma store: ", internal::ToAbsl(what)));
}

Json Op(const std::string& field, std::string_view op, Json value) {
  Json inner = Json::MakeObject();
  inner.Set(op, std::move(value));
  Json out = Json::MakeObject();
  out.Set(field, std::move(inner));
  return out;
}

Json Combine(std::string_view op, std::vector<Json> parts) {
  if (parts.size() == 1) return std::move(parts.front());
  Json out = Json::MakeObject();
  out.Set(op, Json(Json::Array(std::move(parts))));
  return out;
}

// $in/$nin with Chroma's one-type lists: one term per type, or-ed ($in) / and-ed ($nin).
Json InTerm(const Node& node, bool negate) {
  std::vector<Json::Array> by_type(3);  // bool, number, string
  for (const Json& v : node.values) by_type[v.is_bool() ? 0 : v.is_number() ? 1 : 2].push_back(v);
  std::vector<Json> parts;
  for (Json::Array& values : by_type) {
    if (!values.empty()) {
      parts.push_back(Op(node.field, negate ? "$nin" : "$in", Json(std::move(values))));
    }
  }
  if (parts.empty()) return Op(std::string(kNeverKey), negate ? "$ne" : "$eq", Json(true));
  return Combine(negate ? "$and" : "$or", std::move(parts));
}

// Chroma's where for `node` (negated when `negate`): $not pushed down to the comparisons.
absl::StatusOr<Json> Where(const Node& node, bool negate) {
  switch (node.kind) {
    case Node::Kind::kAll:
      return Op(std::string(kNeverKey), negate ? "$eq" : "$ne", Json(true));
    case Node::Kind::kNot:
      return Where(node.children.front(), !negate);
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      std::vector<Json> parts;
      for (const Node& child : node.children) {
        LLMKIT_ASSIGN_OR_RETURN(Json part, Where(child, negate));
        parts.push_back(std::move(part));
      }
      const bool conjunction = (node.kind == Node::Kind::kAnd) != negate;  // De Morgan.
      return Combine(conjunction ? "$and" : "$or", std::move(parts));
    }
    case Node::Kind::kIn:
      return InTerm(node, node.negate != negate);
    case Node::Kind::kCompare:
      break;
  }
  if (node.op == Node::Op::kEq || node.op == Node::Op::kNe) {
    const bool eq = (node.op == Node::Op::kEq) != negate;
    return Op(node.field, eq ? "$eq" : "$ne", node.value);
  }
  if (!node.value.is_number()) {
    return Unsupported(absl::StrCat("$gt/$gte/$lt/$lte on a string (field \"", node.field,
                                    "\"): Chroma orders numbers only"));
  }
  if (negate) {
    return Unsupported(absl::StrCat("$not over $gt/$gte/$lt/$lte (field \"", node.field,
                                    "\"): Chroma has no $not, and no negation of an ordered "
                                    "comparison that keeps missing fields"));
  }
  const char* op = node.op == Node::Op::kGt    ? "$gt"
                   : node.op == Node::Op::kGte ? "$gte"
                   : node.op == Node::Op::kLt  ? "$lt"
                                               : "$lte";
  return Op(node.field, op, node.value);
}

// The where member of a request, or null for a filter that matches everything.
absl::StatusOr<Json> WhereOf(const Json& where) {
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(where));
  if (filter.root() == nullptr) return Json();
  return Where(*filter.root(), /*negate=*/false);
}

// A get request for the ids of the documents matching `where`.
absl::StatusOr<std::string> MatchingIdsBody(const Json& where) {
  LLMKIT_ASSIGN_OR_RETURN(Json chroma_where, WhereOf(where));
  std::string body = "{\"include\":[]";
  if (!chroma_where.is_null()) absl::StrAppend(&body, ",\"where\":", chroma_where.Dump());
  body += '}';
  return body;
}

void AppendFloats(std::string* out, absl::Span<const float> v) {
  char buffer[32];
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v[i]);
    out->append(buffer, end);
  }
  out->push_back(']');
}

// The metadata as Chroma holds it: scalars as they are, and the whole object as JSON text when
// it holds anything else.
Json ToChroma(const Json& metadata) {
  if (!metadata.is_object() || metadata.as_object().empty()) return Json();
  Json out = Json::MakeObject();
  bool whole = false;
  for (const auto& [key, value] : metadata.as_object()) {
    if (IsScalar(value)) {
      out.Set(key, value);
    } else {
      whole = true;
    }
  }
  if (whole) out.Set(kJsonKey, Json(metadata.Dump()));
  return out;
}

absl::StatusOr<Json> FromChroma(const Json* metadata) {
  if (metadata == nullptr || !metadata->is_object()) return Json::MakeObject();
  if (const Json* whole = metadata->Find(kJsonKey); whole != nullptr && whole->is_string()) {
    absl::StatusOr<Json> parsed = Json::Parse(whole->as_string());
    if (!parsed.ok()) return absl::DataLossError("chroma store: llmkit:json is not JSON");
    return parsed;
  }
  return *metadata;
}

}  // namespace

class ChromaStore::Impl {
 public:
  explicit Impl(const ChromaStoreOptions& o) : options(o) {}

  // One request, again after a transient failure (connection, 429, 502-504), within the call.
  absl::StatusOr<Json> Call(std::string_view method, const std::string& path, std::string body,
                            const CallContext& call) const;
  std::string CollectionPath(std::string_view action) const {
    return absl::StrCat(base, "/collections/", id, action.empty() ? "" : "/",
                        internal::ToAbsl(action));
  }
  absl::StatusOr<std::vector<Document>> Fetch(const std::string& body, const GetOptions& get,
                                              const CallContext& call) const;
  absl::StatusOr<std::vector<std::string>> ExistingIds(absl::Span<const std::string> ids,
                                                       const CallContext& call) const;
  absl::Status Write(absl::Span<const Document> documents, bool upsert, const CallContext& call);
  absl::StatusOr<std::vector<std::vector<SearchHit>>> Query(absl::Span<const float> queries,
                                                            size_t count,
                                                            const SearchOptions& options,
                                                            const CallContext& call) const;
  absl::StatusOr<std::vector<float>> Prepare(absl::Span<const float> v,
                                             std::string_view what) const {
    return internal::PrepareStoredVector(v, options.dim, options.metric, what);
  }

  ChromaStoreOptions options;
  std::string base;  // url/api/v2/tenants/T/databases/D
  std::string id;    // The collection's id.
  int max_batch = 1000;
};

absl::StatusOr<Json> ChromaStore::Impl::Call(std::string_view method, const std::string& path,
                                             std::string body, const CallContext& call) const {
  for (int attempt = 0;; ++attempt) {
    LLMKIT_RETURN_IF_ERROR(call.Check("Chroma request"));
    HttpRequest request;
    request.method = std::string(method);
    request.url = path;
    request.headers.emplace_back("Content-Type", "application/json");
    request.headers.emplace_back("Accept", "application/json");
    if (!options.token.empty()) {
      request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", options.token));
    }
    request.body = body;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call.Remaining());
    request.timeout =
        std::max(std::chrono::milliseconds(1), std::min(left, options.request_timeout));
    request.connect_timeout = std::min(request.timeout, std::chrono::milliseconds(10'000));
    request.idle_timeout = request.timeout;
    request.cancellation = call.cancellation;
    absl::StatusOr<HttpResponse> response = options.transport->Send(std::move(request));
    absl::Status failure;
    if (!response.ok()) {
      failure = absl::Status(response.status().code(), absl::StrCat("Chroma at ", options.url, ": ",
                                                                    response.status().message()));
    } else if (response->status >= 200 && response->status < 300) {
      if (response->body.empty()) return Json();
      absl::StatusOr<Json> parsed = Json::Parse(response->body);
      if (!parsed.ok()) {
        return absl::DataLossError(
            absl::StrCat("Chroma at ", options.url,
                         " answered with a body that is not JSON: ", parsed.status().message()));
      }
      return parsed;
    } else {
      std::string message = response->body.substr(0, 300);
      std::string error;
      if (absl::StatusOr<Json> parsed = Json::Parse(response->body); parsed.ok()) {
        if (const Json* m = parsed->Find("message"); m != nullptr && m->is_string()) {
          message = m->as_string();
        }
        if (const Json* e = parsed->Find("error"); e != nullptr && e->is_string()) {
          error = e->as_string();
        }
      }
      const int s = response->status;
      absl::StatusCode code = s == 401   ? absl::StatusCode::kUnauthenticated
                              : s == 403 ? absl::StatusCode::kPermissionDenied
                              : s == 404 || error == "NotFoundError" ? absl::StatusCode::kNotFound
                              : s == 409 || absl::StrContains(error, "Unique")
                                  ? absl::StatusCode::kAlreadyExists
                              : s == 429 ? absl::StatusCode::kResourceExhausted
                              : s == 502 || s == 503 || s == 504 ? absl::StatusCode::kUnavailable
                              : s >= 500                         ? absl::StatusCode::kInternal
                                         : absl::StatusCode::kInvalidArgument;
      failure = absl::Status(code, absl::StrCat("Chroma at ", options.url, ": HTTP ", s, " ", error,
                                                error.empty() ? "" : ": ", message));
    }
    const bool transient = failure.code() == absl::StatusCode::kUnavailable ||
                           failure.code() == absl::StatusCode::kResourceExhausted;
    if (!transient || attempt >= options.max_retries) return failure;
    if (!internal::WaitBeforeRetry(failure, attempt, call)) return failure;
  }
}

absl::StatusOr<std::vector<Document>> ChromaStore::Impl::Fetch(const std::string& body,
                                                               const GetOptions& get,
                                                               const CallContext& call) const {
  LLMKIT_ASSIGN_OR_RETURN(Json response, Call("POST", CollectionPath("get"), body, call));
  const Json* ids = response.Find("ids");
  if (ids == nullptr || !ids->is_array()) {
    return absl::DataLossError("Chroma's get answer has no ids");
  }
  const Json* documents = response.Find("documents");
  const Json* metadatas = response.Find("metadatas");
  const Json* embeddings = response.Find("embeddings");
  std::vector<Document> out;
  out.reserve(ids->size());
  for (size_t i = 0; i < ids->size(); ++i) {
    Document d;
    d.id = ids->as_array()[i].is_string() ? ids->as_array()[i].as_string() : "";
    if (get.include_text && documents != nullptr && documents->is_array() &&
        i < documents->size() && documents->as_array()[i].is_string()) {
      d.text = documents->as_array()[i].as_string();
    }
    if (get.include_metadata) {
      const Json* m = metadatas != nullptr && metadatas->is_array() && i < metadatas->size()
                          ? &metadatas->as_array()[i]
                          : nullptr;
      LLMKIT_ASSIGN_OR_RETURN(d.metadata, FromChroma(m));
    }
    if (get.include_vectors && embeddings != nullptr && embeddings->is_array() &&
        i < embeddings->size() && embeddings->as_array()[i].is_array()) {
      for (const Json& x : embeddings->as_array()[i].as_array()) {
        d.vector.push_back(x.is_number() ? static_cast<float>(x.as_double()) : 0.f);
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string IdsBody(absl::Span<const std::string> ids, std::string_view include) {
  Json::Array list;
  list.reserve(ids.size());
  for (const std::string& id : ids) list.emplace_back(id);
  return absl::StrCat("{\"ids\":", Json(std::move(list)).Dump(),
                      ",\"include\":", internal::ToAbsl(include), "}");
}

absl::StatusOr<std::vector<std::string>> ChromaStore::Impl::ExistingIds(
    absl::Span<const std::string> ids, const CallContext& call) const {
  std::vector<std::string> out;
  for (size_t start = 0; start < ids.size(); start += kIdsPerRequest) {
    LLMKIT_ASSIGN_OR_RETURN(
        std::vector<Document> found,
        Fetch(IdsBody(ids.subspan(start, kIdsPerRequest), "[]"),
              GetOptions{.include_text = false, .include_metadata = false}, call));
    for (Document& d : found) out.push_back(std::move(d.id));
  }
  return out;
}

absl::Status ChromaStore::Impl::Write(absl::Span<const Document> documents, bool upsert,
                                      const CallContext& call) {
  // Everything is checked before anything is sent.
  std::vector<std::vector<float>> vectors;
  vectors.reserve(documents.size());
  absl::flat_hash_set<std::string_view> seen;
  std::vector<std::string> ids;
  for (size_t i = 0; i < documents.size(); ++i) {
    const Document& d = documents[i];
    std::string what = absl::StrCat("documents[", i, "]");
    if (d.id.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty id"));
    if (!seen.insert(d.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": id \"", d.id, "\" repeats in the batch"));
    }
    if (!d.metadata.is_null() && !d.metadata.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": metadata must be an object"));
    }
    if (d.metadata.is_object()) {
      for (const auto& [key, value] : d.metadata.as_object()) {
        if (absl::StartsWith(key, "llmkit:")) {
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": metadata key \"", key, "\" is reserved by the chroma store"));
        }
      }
    }
    LLMKIT_ASSIGN_OR_RETURN(std::vector<float> v, Prepare(d.vector, absl::StrCat(what, ".vector")));
    vectors.push_back(std::move(v));
    ids.push_back(d.id);
  }
  LLMKIT_RETURN_IF_ERROR(call.Check("Chroma write"));
  if (documents.empty()) return absl::OkStatus();
  // Add: Chroma skips stored ids silently; the store refuses them. Upsert: Chroma merges
  // metadata; the store sends null for each stored key the new metadata drops.
  absl::flat_hash_map<std::string, Json> stored;
  if (upsert) {
    // The raw (Chroma-side) metadata is what holds the keys to clear: fetch it as it is.
    for (size_t start = 0; start < ids.size(); start += kIdsPerRequest) {
      LLMKIT_ASSIGN_OR_RETURN(
          Json response,
          Call("POST", CollectionPath("get"),
               IdsBody(absl::MakeConstSpan(ids).subspan(start, kIdsPerRequest), "[\"metadatas\"]"),
               call));
      const Json* got = response.Find("ids");
      const Json* metas = response.Find("metadatas");
      for (size_t i = 0; got != nullptr && got->is_array() && i < got->size(); ++i) {
        if (metas != nullptr && metas->is_array() && i < metas->size() &&
            metas->as_array()[i].is_object()) {
          stored[got->as_array()[i].as_string()] = metas->as_array()[i];
        }
      }
    }
  } else {
    LLMKIT_ASSIGN_OR_RETURN(std::vector<std::string> existing, ExistingIds(ids, call));
    if (!existing.empty()) {
      return absl::AlreadyExistsError(absl::StrCat("chroma store: id \"", existing.front(),
                                                   "\" is already stored (", existing.size(),
                                                   " of the batch are); use Upsert"));
    }
  }
  const size_t batch = static_cast<size_t>(std::max(1, max_batch));
  size_t written = 0;
  for (size_t start = 0; start < documents.size(); start += batch) {
    const size_t end = std::min(documents.size(), start + batch);
    std::string body = "{\"ids\":[";
    for (size_t i = start; i < end; ++i) {
      absl::StrAppend(&body, i > start ? "," : "", Json(documents[i].id).Dump());
    }
    body += "],\"embeddings\":[";
    for (size_t i = start; i < end; ++i) {
      if (i > start) body += ',';
      AppendFloats(&body, vectors[i]);
    }
    body += "],\"documents\":[";
    for (size_t i = start; i < end; ++i) {
      absl::StrAppend(&body, i > start ? "," : "", Json(documents[i].text).Dump());
    }
    body += "],\"metadatas\":[";
    for (size_t i = start; i < end; ++i) {
      Json meta = ToChroma(documents[i].metadata);
      if (auto it = stored.find(documents[i].id); it != stored.end()) {
        for (const auto& [key, value] : it->second.as_object()) {
          if (!meta.is_object()) meta = Json::MakeObject();
          if (meta.Find(key) == nullptr) meta.Set(key, Json());  // null clears the key.
        }
      }
      absl::StrAppend(&body, i > start ? "," : "", meta.Dump());
    }
    body += "]}";
    absl::Status status =
        Call("POST", CollectionPath(upsert ? "upsert" : "add"), std::move(body), call).status();
    if (!status.ok()) {
      if (written == 0) return status;
      return absl::Status(status.code(), absl::StrCat(status.message(), " (after ", written, " of ",
                                                      documents.size(),
                                                      " documents were written: Chroma has "
                                                      "no transactions)"));
    }
    written = end;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> ChromaStore::Impl::Query(
    absl::Span<const float> queries, size_t count, const SearchOptions& o,
    const CallContext& call) const {
  if (o.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  if (o.exact) return Unsupported("SearchOptions::exact (Chroma always searches its HNSW index)");
  if (o.ef_search != 0 || o.nprobe != 0) {
    return Unsupported(
        "a per-call ef_search or nprobe (Chroma uses the collection's hnsw ef_search)");
  }
  LLMKIT_ASSIGN_OR_RETURN(Json where, WhereOf(o.where));
  const size_t d = static_cast<size_t>(options.dim);
  std::string body = "{\"query_embeddings\":[";
  for (size_t q = 0; q < count; ++q) {
    LLMKIT_ASSIGN_OR_RETURN(std::vector<float> v,
                            Prepare(queries.subspan(q * d, d),
                                    count == 1 ? "query" : absl::StrCat("queries[", q, "]")));
    if (q > 0) body += ',';
    AppendFloats(&body, v);
  }
  absl::StrAppend(&body, "],\"n_results\":", o.k, ",\"include\":[\"distances\"",
                  o.include_text ? ",\"documents\"" : "",
                  o.include_metadata ? ",\"metadatas\"" : "", "]");
  if (!where.is_null()) absl::StrAppend(&body, ",\"where\":", where.Dump());
  body += '}';
  LLMKIT_ASSIGN_OR_RETURN(Json response, Call("POST", CollectionPath("query"), body, call));
  const Json* ids = response.Find("ids");
  const Json* distances = response.Find("distances");
  if (ids == nullptr || !ids->is_array() || distances == nullptr || !distances->is_array() ||
      ids->size() != count || distances->size() != count) {
    return absl::DataLossError("Chroma's query answer does not hold one list per query");
  }
  const Json* documents = response.Find("documents");
  const Json* metadatas = response.Find("metadatas");
  std::vector<std::vector<SearchHit>> out(count);
  for (size_t q = 0; q < count; ++q) {
    const Json& row = ids->as_array()[q];
    const Json& dist = distances->as_array()[q];
    if (!row.is_array() || !dist.is_array() || row.size() != dist.size()) {
      return absl::DataLossError("Chroma's query answer has ids and distances of other lengths");
    }
    for (size_t i = 0; i < row.size(); ++i) {
      SearchHit hit;
      hit.id = row.as_array()[i].is_string() ? row.as_array()[i].as_string() : "";
      double distance = dist.as_array()[i].is_number() ? dist.as_array()[i].as_double() : NAN;
      hit.score = static_cast<float>(options.metric == Metric::kL2 ? distance : 1 - distance);
      if (o.include_text && documents != nullptr && documents->is_array()) {
        const Json& texts = documents->as_array()[q];
        if (texts.is_array() && i < texts.size() && texts.as_array()[i].is_string()) {
          hit.text = texts.as_array()[i].as_string();
        }
      }
      if (o.include_metadata && metadatas != nullptr && metadatas->is_array()) {
        const Json& metas = metadatas->as_array()[q];
        const Json* m = metas.is_array() && i < metas.size() ? &metas.as_array()[i] : nullptr;
        LLMKIT_ASSIGN_OR_RETURN(hit.metadata, FromChroma(m));
      }
      out[q].push_back(std::move(hit));
    }
  }
  return out;
}

ChromaStore::ChromaStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChromaStore::~ChromaStore() = default;

absl::StatusOr<std::unique_ptr<ChromaStore>> ChromaStore::Connect(const ChromaStoreOptions& o,
                                                                  const CallContext& call) {
  auto bad = [](std::string_view field, std::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat("ChromaStoreOptions::", internal::ToAbsl(field),
                                                   " must be ", internal::ToAbsl(rule)));
  };
  if (o.dim < 0) return bad("dim", ">= 0");
  if (o.max_retries < 0 || o.max_retries > 10) return bad("max_retries", "in [0, 10]");
  if (o.request_timeout.count() <= 0) return bad("request_timeout", "> 0");
  if (!absl::StartsWith(o.url, "http://") && !absl::StartsWith(o.url, "https://")) {
    return bad("url", "an http:// or https:// URL");
  }
  auto name_ok = [](const std::string& name) {
    if (name.size() < 3 || name.size() > 512) return false;
    for (char c : name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
        return false;
      }
    }
    return std::isalnum(static_cast<unsigned char>(name.front())) &&
           std::isalnum(static_cast<unsigned char>(name.back()));
  };
  if (!name_ok(o.collection)) {
    return bad("collection",
               "3-512 characters of [a-zA-Z0-9._-] starting and ending with a "
               "letter or digit (Chroma's rule)");
  }
  for (const std::string* part : {&o.tenant, &o.database}) {
    if (part->empty() || part->find_first_of("/?#%") != std::string::npos) {
      return bad(part == &o.tenant ? "tenant" : "database", "non-empty without / ? # %");
    }
  }
  auto impl = std::make_unique<Impl>(o);
  if (impl->options.transport == nullptr) {
    LLMKIT_ASSIGN_OR_RETURN(impl->options.transport, NewCurlTransport());
  }
  std::string url = o.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  impl->options.url = url;
  const std::string api = url + "/api/v2";
  impl->base = absl::StrCat(api, "/tenants/", o.tenant, "/databases/", o.database);

  LLMKIT_ASSIGN_OR_RETURN(Json preflight, impl->Call("GET", api + "/pre-flight-checks", "", call));
  if (const Json* m = preflight.Find("max_batch_size"); m != nullptr && m->is_int()) {
    impl->max_batch = static_cast<int>(std::clamp<int64_t>(m->as_int(), 1, 1'000'000));
  }
  Json collection;
  if (o.create) {
    absl::StatusOr<Json> database =
        impl->Call("POST", absl::StrCat(api, "/tenants/", o.tenant, "/databases"),
                   absl::StrCat("{\"name\":", Json(o.database).Dump(), "}"), call);
    if (!database.ok() && database.status().code() != absl::StatusCode::kAlreadyExists &&
        database.status().code() != absl::StatusCode::kInvalidArgument) {
      return database.status();
    }
    const char* space = o.metric == Metric::kCosine         ? "cosine"
                        : o.metric == Metric::kInnerProduct ? "ip"
                                                            : "l2";
    LLMKIT_ASSIGN_OR_RETURN(
        collection, impl->Call("POST", impl->base + "/collections",
                               absl::StrCat("{\"name\":", Json(o.collection).Dump(),
                                            ",\"configuration\":{\"hnsw\":{\"space\":\"", space,
                                            "\"}},\"get_or_create\":true}"),
                               call));
  } else {
    LLMKIT_ASSIGN_OR_RETURN(
        collection, impl->Call("GET", impl->base + "/collections/" + o.collection, "", call));
  }
  const Json* id = collection.Find("id");
  if (id == nullptr || !id->is_string()) {
    return absl::DataLossError("Chroma's collection answer has no id");
  }
  impl->id = id->as_string();
  // The collection's space and dimension must be what the options say.
  const Json* config = collection.Find("configuration_json");
  const Json* hnsw = config != nullptr && config->is_object() ? config->Find("hnsw") : nullptr;
  const Json* space = hnsw != nullptr && hnsw->is_object() ? hnsw->Find("space") : nullptr;
  if (space != nullptr && space->is_string()) {
    std::optional<Metric> metric = MetricFromName(space->as_string());
    if (!metric.has_value() || *metric != o.metric) {
      return absl::FailedPreconditionError(
          absl::StrCat("Chroma collection ", o.collection, " uses space ", space->as_string(),
                       ", not the options' metric ", internal::ToAbsl(MetricName(o.metric))));
    }
  }
  const Json* dimension = collection.Find("dimension");
  if (dimension != nullptr && dimension->is_int()) {
    if (o.dim > 0 && dimension->as_int() != o.dim) {
      return absl::FailedPreconditionError(
          absl::StrCat("Chroma collection ", o.collection, " holds vectors of dimension ",
                       dimension->as_int(), ", ChromaStoreOptions::dim is ", o.dim));
    }
    impl->options.dim = static_cast<int>(dimension->as_int());
  } else if (o.dim == 0) {
    return bad("dim", "> 0 for a collection that holds no vectors yet");
  }
  return std::unique_ptr<ChromaStore>(new ChromaStore(std::move(impl)));
}

int ChromaStore::dim() const { return impl_->options.dim; }
Metric ChromaStore::metric() const { return impl_->options.metric; }
const std::string& ChromaStore::collection_id() const { return impl_->id; }
int ChromaStore::max_batch_size() const { return impl_->max_batch; }

absl::Status ChromaStore::Add(absl::Span<const Document> documents, const CallContext& call) {
  return impl_->Write(documents, /*upsert=*/false, call);
}

absl::Status ChromaStore::Upsert(absl::Span<const Document> documents, const CallContext& call) {
  return impl_->Write(documents, /*upsert=*/true, call);
}

absl::StatusOr<size_t> ChromaStore::Delete(absl::Span<const std::string> ids,
                                           const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<std::string> existing, impl_->ExistingIds(ids, call));
  for (size_t start = 0; start < existing.size(); start += kIdsPerRequest) {
    auto part = absl::MakeConstSpan(existing).subspan(start, kIdsPerRequest);
    Json::Array list(part.begin(), part.end());
    LLMKIT_RETURN_IF_ERROR(impl_
                               ->Call("POST", impl_->CollectionPath("delete"),
                                      absl::StrCat("{\"ids\":", Json(std::move(list)).Dump(), "}"),
                                      call)
                               .status());
  }
  return existing.size();
}

absl::StatusOr<size_t> ChromaStore::DeleteWhere(const Json& where, const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::string body, MatchingIdsBody(where));
  LLMKIT_ASSIGN_OR_RETURN(
      std::vector<Document> found,
      impl_->Fetch(body, GetOptions{.include_text = false, .include_metadata = false}, call));
  std::vector<std::string> ids;
  for (Document& d : found) ids.push_back(std::move(d.id));
  return Delete(ids, call);
}

absl::StatusOr<std::vector<Document>> ChromaStore::Get(absl::Span<const std::string> ids,
                                                       const GetOptions& options,
                                                       const CallContext& call) const {
  std::string include = "[";
  auto add = [&](bool on, std::string_view name) {
    if (!on) return;
    absl::StrAppend(&include, include.size() > 1 ? "," : "", "\"", internal::ToAbsl(name), "\"");
  };
  add(options.include_text, "documents");
  add(options.include_metadata, "metadatas");
  add(options.include_vectors, "embeddings");
  include += ']';
  absl::flat_hash_map<std::string, Document> found;
  for (size_t start = 0; start < ids.size(); start += kIdsPerRequest) {
    LLMKIT_ASSIGN_OR_RETURN(
        std::vector<Document> docs,
        impl_->Fetch(IdsBody(ids.subspan(start, kIdsPerRequest), include), options, call));
    for (Document& d : docs) {
      std::string key = d.id;
      found.insert_or_assign(std::move(key), std::move(d));
    }
  }
  std::vector<Document> out;
  out.reserve(found.size());
  for (const std::string& id : ids) {
    if (auto it = found.find(id); it != found.end()) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<size_t> ChromaStore::Count(const CallContext& call) const {
  LLMKIT_ASSIGN_OR_RETURN(Json n, impl_->Call("GET", impl_->CollectionPath("count"), "", call));
  if (!n.is_int() || n.as_int() < 0) return absl::DataLossError("Chroma's count is not a number");
  return static_cast<size_t>(n.as_int());
}

absl::StatusOr<std::vector<std::string>> ChromaStore::ListIds(const CallContext& call) const {
  std::vector<std::string> ids;
  constexpr size_t kPage = 10'000;
  for (size_t offset = 0;; offset += kPage) {
    LLMKIT_ASSIGN_OR_RETURN(
        std::vector<Document> page,
        impl_->Fetch(absl::StrCat("{\"include\":[],\"limit\":", kPage, ",\"offset\":", offset, "}"),
                     GetOptions{.include_text = false, .include_metadata = false}, call));
    for (Document& d : page) ids.push_back(std::move(d.id));
    if (page.size() < kPage) break;
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::function<bool(std::string_view id)>> ChromaStore::MatchingIds(
    const Json& where, const CallContext& call) const {
  LLMKIT_ASSIGN_OR_RETURN(std::string body, MatchingIdsBody(where));
  LLMKIT_ASSIGN_OR_RETURN(
      std::vector<Document> found,
      impl_->Fetch(body, GetOptions{.include_text = false, .include_metadata = false}, call));
  auto ids = std::make_shared<absl::flat_hash_set<std::string>>();
  for (Document& d : found) ids->insert(std::move(d.id));
  return std::function<bool(std::string_view)>(
      [ids](std::string_view id) { return ids->contains(internal::ToAbsl(id)); });
}

absl::StatusOr<std::vector<SearchHit>> ChromaStore::Search(absl::Span<const float> query,
                                                           const SearchOptions& options,
                                                           const CallContext& call) const {
  if (query.size() != static_cast<size_t>(dim())) {
    return absl::InvalidArgumentError(
        absl::StrCat("query: ", query.size(), " components, the store's dimension is ", dim()));
  }
  LLMKIT_ASSIGN_OR_RETURN(auto hits, impl_->Query(query, 1, options, call));
  return std::move(hits.front());
}

absl::StatusOr<std::vector<std::vector<SearchHit>>> ChromaStore::SearchBatch(
    absl::Span<const float> queries, const SearchOptions& options, const CallContext& call) const {
  const size_t d = static_cast<size_t>(dim());
  if (queries.size() % d != 0) {
    return absl::InvalidArgumentError(absl::StrCat("queries hold ", queries.size(),
                                                   " floats, not a multiple of the dimension ", d));
  }
  if (queries.empty()) return std::vector<std::vector<SearchHit>>();
  return impl_->Query(queries, queries.size() / d, options, call);
}

}  // namespace llmkit
