// RagPipeline::Save and Load: rag.json holds the settings and the embedder's identity;
// collection/ holds the chunks (Collection's crash-safe format); lexical.json holds the table of
// documents and names the two BM25 snapshots (chunks-*.bm25, documents-*.bm25) saved with that
// collection, which Load opens in place. When they are missing or belong to another save of the
// collection, or the chunks are in a remote store, Load rebuilds both from the chunks.

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/dir_lock.h"
#include "common/files.h"
#include "llmkit/status.h"
#include "rag/rag_impl.h"

namespace llmkit {
namespace {

constexpr int kFormatVersion = 1;

Json SettingsJson(const RagPipeline::Impl& impl, int dimensions) {
  const RagOptions& o = impl.options;
  Json local = Json::MakeObject();
  local.Set("dimensions", o.local_embedder.dimensions);
  local.Set("char_ngram_min", o.local_embedder.char_ngram_min);
  local.Set("char_ngram_max", o.local_embedder.char_ngram_max);
  local.Set("word_pairs", o.local_embedder.word_pairs);
  Json embedder = Json::MakeObject();
  embedder.Set("kind", impl.local_embedder ? "local" : "model");
  embedder.Set("name", impl.embedder_name);
  embedder.Set("dimensions", dimensions);
  if (o.embedding_dimensions) embedder.Set("requested_dimensions", *o.embedding_dimensions);
  embedder.Set("local", std::move(local));
  const RetrieverOptions& r = o.retrieval;
  Json retrieval = Json::MakeObject();
  retrieval.Set("mode", RetrievalModeName(r.mode));
  retrieval.Set("fusion", FusionName(r.fusion));
  retrieval.Set("alpha", r.alpha);
  retrieval.Set("rrf_k", r.rrf_k);
  retrieval.Set("vector_weight", r.vector_weight);
  retrieval.Set("lexical_weight", r.lexical_weight);
  retrieval.Set("candidates", r.candidates);
  retrieval.Set("mmr", r.mmr);
  retrieval.Set("mmr_lambda", r.mmr_lambda);
  Json out = Json::MakeObject();
  out.Set("format", "llmkit-rag");
  out.Set("version", kFormatVersion);
  out.Set("chunk_size", o.chunk_size);
  out.Set("chunk_overlap", o.chunk_overlap);
  out.Set("embedder", std::move(embedder));
  out.Set("store", impl.store != nullptr ? impl.store->kind() : std::string_view("local"));
  out.Set("index", IndexKindName(o.index));
  out.Set("float16", o.float16);
  out.Set("retrieval", std::move(retrieval));
  out.Set("k", o.k);
  out.Set("system_prompt", o.system_prompt);
  out.Set("prompt_template", o.prompt_template);
  if (o.max_tokens) out.Set("max_tokens", *o.max_tokens);
  if (o.temperature) out.Set("temperature", *o.temperature);
  return out;
}

// Reads rag.json fields, naming the first one that is missing or of the wrong type.
class SettingsReader {
 public:
  explicit SettingsReader(std::string file) : file_(std::move(file)) {}

  const Json& Get(const Json& object, const char* key, Json::Type type) {
    const Json* v = object.is_object() ? object.Find(key) : nullptr;
    const bool ok =
        v != nullptr && (v->type() == type || (type == Json::Type::kDouble && v->is_number()));
    if (!ok && status_.ok()) {
      status_ = absl::DataLossError(
          absl::StrCat(file_, ": field \"", key, "\" is missing or has the wrong type"));
    }
    return ok ? *v : null_;
  }
  int64_t Int(const Json& object, const char* key) {
    const Json& v = Get(object, key, Json::Type::kInt);
    return v.is_int() ? v.as_int() : 0;
  }
  double Double(const Json& object, const char* key) {
    const Json& v = Get(object, key, Json::Type::kDouble);
    return v.is_number() ? v.as_double() : 0;
  }
  std::string String(const Json& object, const char* key) {
    const Json& v = Get(object, key, Json::Type::kString);
    return v.is_string() ? v.as_string() : std::string();
  }
  // A field holding one of an option's names (index.h, retriever.h).
  template <typename T>
  T Named(const Json& object, const char* key, std::optional<T> (*from_name)(std::string_view)) {
    const Json& v = Get(object, key, Json::Type::kString);
    std::optional<T> value = v.is_string() ? from_name(v.as_string()) : std::nullopt;
    if (v.is_string() && !value && status_.ok()) {
      status_ = absl::DataLossError(absl::StrCat(
          file_, ": field \"", key, "\" has an unknown value \"", v.as_string(), "\""));
    }
    return value.value_or(T{});
  }
  // A number field within [low, high] (the range RagOptions accepts).
  int64_t IntIn(const Json& object, const char* key, int64_t low, int64_t high = INT64_MAX) {
    const int64_t v = Int(object, key);
    if (status_.ok() && (v < low || v > high)) OutOfRange(key, absl::StrCat(v));
    return v;
  }
  double DoubleIn(const Json& object, const char* key, double low, double high) {
    const double v = Double(object, key);
    if (status_.ok() && !(v >= low && v <= high)) OutOfRange(key, absl::StrCat(v));
    return v;
  }
  void OutOfRange(const char* key, const std::string& value) {
    status_ = absl::DataLossError(
        absl::StrCat(file_, ": field \"", key, "\" has an impossible value ", value));
  }
  bool Bool(const Json& object, const char* key) {
    const Json& v = Get(object, key, Json::Type::kBool);
    return v.is_bool() && v.as_bool();
  }
  const absl::Status& status() const { return status_; }

 private:
  std::string file_;
  absl::Status status_;
  Json null_;
};

}  // namespace

struct RagPipeline::WriteLock::Held {
  internal::DirLock lock;
};

RagPipeline::WriteLock::WriteLock(std::unique_ptr<Held> held) : held_(std::move(held)) {}
RagPipeline::WriteLock::WriteLock(WriteLock&&) noexcept = default;
RagPipeline::WriteLock& RagPipeline::WriteLock::operator=(WriteLock&&) noexcept = default;
RagPipeline::WriteLock::~WriteLock() = default;

absl::StatusOr<RagPipeline::WriteLock> RagPipeline::LockForWriting(const std::string& dir,
                                                                   const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(
      internal::DirLock lock,
      internal::DirLock::Acquire(dir, call.has_deadline()
                                          ? call.deadline
                                          : CallContext::DeadlineAfter(std::chrono::seconds(30))));
  return WriteLock(std::make_unique<WriteLock::Held>(WriteLock::Held{std::move(lock)}));
}

absl::Status RagPipeline::Impl::RebuildFromStore(const std::string& label,
                                                 const CallContext& call) {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<std::string> ids, store->ListIds(call));
  struct Completeness {
    int64_t found = 0;
    int64_t expected = -1;  // doc_chunks of the chunks read (absent before llmkit wrote it).
    bool mixed = false;
  };
  absl::flat_hash_map<std::string, Completeness> completeness;
  // Per document: (chunk number, begin, index into texts), to rebuild the document index.
  struct Piece {
    int64_t number;
    size_t begin;
    size_t text;
  };
  absl::flat_hash_map<std::string, std::vector<Piece>> pieces;
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  // Text and metadata only, in batches: the vectors stay where they are.
  constexpr size_t kBatch = 1000;
  std::vector<Document> batch;
  for (size_t at = 0; at < ids.size(); ++at) {
    if (at % kBatch == 0) {
      LLMKIT_ASSIGN_OR_RETURN(
          batch, store->Get(absl::MakeConstSpan(ids).subspan(at, kBatch),
                            GetOptions{.include_text = true, .include_metadata = true}, call));
      if (batch.size() != std::min(kBatch, ids.size() - at)) {
        return absl::DataLossError(
            absl::StrCat(label, ": chunks disappeared while they were read (another writer?)"));
      }
    }
    const std::string& id = ids[at];
    Document& chunk = batch[at % kBatch];
    const Json* doc_id = chunk.metadata.Find("doc_id");
    const Json* path = chunk.metadata.Find("path");
    const Json* sha = chunk.metadata.Find("doc_sha256");
    const Json* number = chunk.metadata.Find("chunk");
    if (doc_id == nullptr || !doc_id->is_string() || path == nullptr || !path->is_string() ||
        sha == nullptr || !sha->is_string() || number == nullptr || !number->is_int() ||
        number->as_int() < 0) {
      return absl::DataLossError(
          absl::StrCat(label, ": chunk \"", id, "\" lacks the pipeline's metadata"));
    }
    RagDocRecord& record = docs[doc_id->as_string()];
    Completeness& seen = completeness[doc_id->as_string()];
    if (seen.found == 0) {
      record.path = path->as_string();
      record.sha256 = sha->as_string();
    } else if (record.sha256 != sha->as_string()) {
      seen.mixed = true;  // Chunks of two versions: a large document was being rewritten.
    }
    ++seen.found;
    if (const Json* total = chunk.metadata.Find("doc_chunks");
        total != nullptr && total->is_int()) {
      seen.expected = total->as_int();
    }
    record.chunks = std::max<size_t>(record.chunks, static_cast<size_t>(number->as_int()) + 1);
    const Json* begin = chunk.metadata.Find("begin");
    pieces[doc_id->as_string()].push_back(
        {number->as_int(),
         begin != nullptr && begin->is_int() && begin->as_int() >= 0
             ? static_cast<size_t>(begin->as_int())
             : 0,
         texts.size()});
    texts.push_back(std::move(chunk.text));
  }
  // A document written only in part (its ingest stopped between two slices) is not indexed:
  // an empty hash never matches, so the next ingest writes it again.
  for (const auto& [id, seen] : completeness) {
    if (seen.mixed || (seen.expected >= 0 && seen.found != seen.expected)) {
      docs[id].sha256.clear();
    }
  }
  LLMKIT_RETURN_IF_ERROR(bm25->Add(ids, texts));
  std::vector<std::string> doc_ids, doc_texts;
  doc_ids.reserve(pieces.size());
  doc_texts.reserve(pieces.size());
  for (auto& [doc_id, parts] : pieces) {
    std::sort(parts.begin(), parts.end(),
              [](const Piece& a, const Piece& b) { return a.number < b.number; });
    std::vector<internal::ChunkText> chunks;
    chunks.reserve(parts.size());
    for (const Piece& p : parts) chunks.push_back({p.begin, texts[p.text]});
    doc_ids.push_back(doc_id);
    doc_texts.push_back(internal::JoinChunks(chunks));
  }
  LLMKIT_RETURN_IF_ERROR(doc_bm25->Add(doc_ids, doc_texts));
  if (!ids.empty()) dimensions = store->dim();
  std::vector<internal::TermCounts> doc_terms;
  doc_terms.reserve(doc_texts.size());
  for (const std::string& text : doc_texts) {
    doc_terms.push_back(internal::CountTerms(doc_bm25->Analyze(internal::LatentText(text))));
  }
  LLMKIT_ASSIGN_OR_RETURN(latent, internal::LatentModel::Fit(doc_ids, doc_terms));
  return absl::OkStatus();
}

absl::Status RagPipeline::Impl::RefreshLatent(const CallContext& call) {
  std::vector<std::string> doc_ids;
  std::vector<internal::TermCounts> doc_terms;
  {
    std::shared_lock lock(mu);
    if (latent != nullptr && !latent->Stale()) return absl::OkStatus();
    if (store == nullptr) return absl::OkStatus();
    size_t whole = 0;
    for (const auto& [id, record] : docs) whole += record.sha256.empty() ? 0 : 1;
    if (whole < 3) {  // Too few to fit (LatentModel::Fit); nothing read.
      lock.unlock();
      std::unique_lock writer(mu);
      latent.reset();
      return absl::OkStatus();
    }
    // The chunks of every document indexed whole, in order; their texts joined again.
    std::vector<std::string> chunk_ids;
    std::vector<size_t> first_chunk;
    for (const auto& [id, record] : docs) {
      if (record.sha256.empty()) continue;  // Written in part: not indexed.
      doc_ids.push_back(id);
      first_chunk.push_back(chunk_ids.size());
      for (size_t c = 0; c < record.chunks; ++c) chunk_ids.push_back(internal::ChunkId(id, c));
    }
    first_chunk.push_back(chunk_ids.size());
    std::vector<Document> chunks;
    chunks.reserve(chunk_ids.size());
    constexpr size_t kBatch = 1000;  // Text and metadata, in batches (a remote store's rows).
    for (size_t at = 0; at < chunk_ids.size(); at += kBatch) {
      LLMKIT_ASSIGN_OR_RETURN(
          std::vector<Document> batch,
          store->Get(absl::MakeConstSpan(chunk_ids).subspan(at, kBatch),
                     GetOptions{.include_text = true, .include_metadata = true}, call));
      if (batch.size() != std::min(kBatch, chunk_ids.size() - at)) {
        return absl::DataLossError("the latent model's fit: chunks missing from the store");
      }
      for (Document& chunk : batch) chunks.push_back(std::move(chunk));
    }
    std::vector<std::string> doc_texts;
    doc_texts.reserve(doc_ids.size());
    for (size_t d = 0; d < doc_ids.size(); ++d) {
      std::vector<internal::ChunkText> pieces;
      size_t length = 0;
      for (size_t c = first_chunk[d];
           c < first_chunk[d + 1] && length < internal::LatentModel::kMaxText; ++c) {
        length += chunks[c].text.size();
        const Json* begin = chunks[c].metadata.Find("begin");
        pieces.push_back({begin != nullptr && begin->is_int() && begin->as_int() >= 0
                              ? static_cast<size_t>(begin->as_int())
                              : 0,
                          chunks[c].text});
      }
      doc_texts.push_back(internal::JoinChunks(pieces));
    }
    // Analyzed on two threads (each its own half).
    doc_terms.resize(doc_texts.size());
    const auto analyze = [&](size_t begin, size_t end) {
      for (size_t d = begin; d < end; ++d) {
        doc_terms[d] = internal::CountTerms(doc_bm25->Analyze(internal::LatentText(doc_texts[d])));
        std::string().swap(doc_texts[d]);
      }
    };
    const size_t half = doc_texts.size() / 2;
    std::thread other(analyze, half, doc_texts.size());
    analyze(0, half);
    other.join();
  }
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<internal::LatentModel> fitted,
                          internal::LatentModel::Fit(doc_ids, doc_terms));
  std::unique_lock lock(mu);
  latent = std::move(fitted);
  return absl::OkStatus();
}

namespace {

constexpr std::string_view kLexicalFormat = "llmkit-rag-lexical";
constexpr char kLatentDocuments[] = "latent-documents";

// The latent model's term table is saved as latent-terms-<its checksum>.lkt.
bool IsLatentTermsFile(std::string_view name) {
  return absl::StartsWith(internal::ToAbsl(name), "latent-terms-") &&
         absl::EndsWith(internal::ToAbsl(name), ".lkt") && name.find('/') == std::string_view::npos;
}

// Writes the BM25 snapshots of a local collection just saved, then lexical.json naming them,
// the collection's save and the table of documents, then removes older snapshots. A crash
// in between leaves a lexical.json that does not match the collection: Load then rebuilds.
absl::Status SaveLexical(const RagPipeline::Impl& impl, const std::string& dir) {
  const std::string state = impl.local->SavedState();
  const std::string tag = state.substr(0, 16);
  const std::string chunks = absl::StrCat("chunks-", tag, ".bm25");
  const std::string documents = absl::StrCat("documents-", tag, ".bm25");
  LLMKIT_RETURN_IF_ERROR(impl.bm25->Save(absl::StrCat(dir, "/", chunks)));
  LLMKIT_RETURN_IF_ERROR(impl.doc_bm25->Save(absl::StrCat(dir, "/", documents)));
  Json docs = Json::MakeObject();
  for (const auto& [id, record] : impl.docs) {
    Json entry = Json::MakeArray();
    entry.push_back(record.path);
    entry.push_back(record.sha256);
    entry.push_back(static_cast<int64_t>(record.chunks));
    docs.Set(id, std::move(entry));
  }
  Json lexical = Json::MakeObject();
  lexical.Set("format", kLexicalFormat);
  lexical.Set("collection", state);
  lexical.Set("chunks", chunks);
  lexical.Set("documents", documents);
  lexical.Set("docs", std::move(docs));
  // The latent model: its term table's file and its documents' collection save (absent: none
  // fitted).
  std::error_code error;
  std::string latent_terms;
  if (impl.latent != nullptr) {
    latent_terms =
        absl::StrCat("latent-terms-", internal::ToAbsl(impl.latent->TermsDigest()), ".lkt");
    LLMKIT_RETURN_IF_ERROR(
        impl.latent->Save(dir + "/" + latent_terms, dir + "/" + kLatentDocuments));
    lexical.Set("latent_terms", latent_terms);
    lexical.Set("latent_documents", impl.latent->DocumentsState());
  } else {
    std::filesystem::remove_all(dir + "/" + kLatentDocuments, error);
  }
  LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(dir + "/lexical.json", lexical.Dump()));
  // Older snapshots and term tables, and the term collection (latent-terms/) of older saves.
  std::filesystem::remove_all(dir + "/latent-terms", error);
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if ((absl::EndsWith(name, ".bm25") && name != chunks && name != documents) ||
        (IsLatentTermsFile(name) && name != latent_terms)) {
      std::filesystem::remove(entry.path(), error);
    }
  }
  return absl::OkStatus();
}

// Opens the BM25 snapshots and the table of documents saved with the collection `impl.local`
// was loaded from. False when there are none for that save (or they cannot be opened): the
// caller rebuilds them from the chunks.
bool OpenLexical(RagPipeline::Impl& impl, const std::string& dir) {
  absl::StatusOr<std::string> text = internal::ReadFile(dir + "/lexical.json");
  if (!text.ok()) return false;
  absl::StatusOr<Json> lexical = Json::Parse(*text);
  if (!lexical.ok() || !lexical->is_object()) return false;
  const Json* format = lexical->Find("format");
  const Json* state = lexical->Find("collection");
  const Json* chunks = lexical->Find("chunks");
  const Json* documents = lexical->Find("documents");
  const Json* docs = lexical->Find("docs");
  if (format == nullptr || !format->is_string() || format->as_string() != kLexicalFormat ||
      state == nullptr || !state->is_string() || state->as_string() != impl.local->SavedState() ||
      chunks == nullptr || !chunks->is_string() || documents == nullptr ||
      !documents->is_string() || docs == nullptr || !docs->is_object()) {
    return false;
  }
  for (const Json* name : {chunks, documents}) {
    if (name->as_string().find('/') != std::string::npos) return false;
  }
  absl::flat_hash_map<std::string, RagDocRecord> table;
  table.reserve(docs->size());
  for (const auto& [id, entry] : docs->as_object()) {
    const Json::Array* fields = entry.is_array() ? &entry.as_array() : nullptr;
    if (fields == nullptr || fields->size() != 3 || !(*fields)[0].is_string() ||
        !(*fields)[1].is_string() || !(*fields)[2].is_int() || (*fields)[2].as_int() < 0) {
      return false;
    }
    table[id] = {(*fields)[0].as_string(), (*fields)[1].as_string(),
                 static_cast<size_t>((*fields)[2].as_int())};
  }
  absl::StatusOr<std::unique_ptr<Bm25Index>> chunk_index =
      Bm25Index::Open(absl::StrCat(dir, "/", chunks->as_string()));
  absl::StatusOr<std::unique_ptr<Bm25Index>> document_index =
      Bm25Index::Open(absl::StrCat(dir, "/", documents->as_string()));
  if (!chunk_index.ok() || !document_index.ok()) return false;
  impl.bm25 = *std::move(chunk_index);
  impl.doc_bm25 = *std::move(document_index);
  impl.docs = std::move(table);
  // The latent model when this save has one; else (an older save, or a crash between its
  // save and lexical.json's) retrieval goes without it until the next ingest fits one.
  impl.latent.reset();
  const Json* latent_terms = lexical->Find("latent_terms");
  const Json* latent_documents = lexical->Find("latent_documents");
  if (latent_terms != nullptr && latent_terms->is_string() &&
      IsLatentTermsFile(latent_terms->as_string()) && latent_documents != nullptr &&
      latent_documents->is_string()) {
    absl::StatusOr<std::unique_ptr<internal::LatentModel>> latent = internal::LatentModel::Open(
        absl::StrCat(dir, "/", latent_terms->as_string()), dir + "/" + kLatentDocuments);
    if (latent.ok() && (*latent)->DocumentsState() == latent_documents->as_string()) {
      impl.latent = *std::move(latent);
    }
  }
  return true;
}

}  // namespace

absl::Status RagPipeline::Save(const std::string& dir, const CallContext& call) const {
  LLMKIT_ASSIGN_OR_RETURN(WriteLock writer, LockForWriting(dir, call));  // Creates `dir`.
  std::shared_lock lock(impl_->mu);
  LLMKIT_RETURN_IF_ERROR(internal::WriteAtomically(
      dir + "/rag.json", SettingsJson(*impl_, impl_->dimensions).Dump({.indent = 2}) + "\n"));
  if (impl_->local != nullptr) {
    LLMKIT_RETURN_IF_ERROR(impl_->local->Save(dir + "/collection", call));
    LLMKIT_RETURN_IF_ERROR(SaveLexical(*impl_, dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RagPipeline>> RagPipeline::Load(const std::string& dir,
                                                               RagModels models,
                                                               const CallContext& call) {
  const std::string file = dir + "/rag.json";
  absl::StatusOr<std::string> text = internal::ReadFile(file);
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(absl::StrCat(dir, " is not a saved llmkit RAG index (no rag.json)"));
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<Json> root = Json::Parse(*text);
  if (!root.ok()) return absl::DataLossError(absl::StrCat(file, ": ", root.status().message()));
  SettingsReader read(file);
  if (read.String(*root, "format") != "llmkit-rag") {
    return absl::DataLossError(absl::StrCat(file, ": not an llmkit RAG settings file"));
  }
  const int64_t version = read.Int(*root, "version");
  if (version > kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": format version ", version,
                                                   " is newer than this llmkit reads (",
                                                   kFormatVersion, ")"));
  }
  RagOptions o;
  o.chunk_size = static_cast<size_t>(read.IntIn(*root, "chunk_size", 1));
  o.chunk_overlap = static_cast<size_t>(
      read.IntIn(*root, "chunk_overlap", 0, static_cast<int64_t>(o.chunk_size) - 1));
  const Json& embedder = read.Get(*root, "embedder", Json::Type::kObject);
  const std::string kind = read.String(embedder, "kind");
  const std::string name = read.String(embedder, "name");
  const int dimensions = static_cast<int>(read.IntIn(embedder, "dimensions", 0, 1 << 16));
  if (const Json* requested =
          embedder.is_object() ? embedder.Find("requested_dimensions") : nullptr;
      requested != nullptr && requested->is_int()) {
    o.embedding_dimensions = static_cast<int>(requested->as_int());
  }
  const Json& local = read.Get(embedder, "local", Json::Type::kObject);
  o.local_embedder.dimensions = static_cast<int>(read.IntIn(local, "dimensions", 1, 1 << 16));
  o.local_embedder.char_ngram_min = static_cast<int>(read.IntIn(local, "char_ngram_min", 1, 64));
  o.local_embedder.char_ngram_max =
      static_cast<int>(read.IntIn(local, "char_ngram_max", o.local_embedder.char_ngram_min, 64));
  o.local_embedder.word_pairs = read.Bool(local, "word_pairs");
  // Absent before llmkit kept chunks in other stores: the local one.
  const Json* store_kind = root->is_object() ? root->Find("store") : nullptr;
  const std::string kind_of_store =
      store_kind != nullptr && store_kind->is_string() ? store_kind->as_string() : "local";
  o.index = read.Named(*root, "index", &IndexKindFromName);
  o.float16 = read.Bool(*root, "float16");
  const Json& retrieval = read.Get(*root, "retrieval", Json::Type::kObject);
  o.retrieval.mode = read.Named(retrieval, "mode", &RetrievalModeFromName);
  o.retrieval.fusion = read.Named(retrieval, "fusion", &FusionFromName);
  o.retrieval.alpha = read.DoubleIn(retrieval, "alpha", 0, 1);
  o.retrieval.rrf_k = read.DoubleIn(retrieval, "rrf_k", 0, 1e9);
  o.retrieval.vector_weight = read.DoubleIn(retrieval, "vector_weight", 0, 1e9);
  o.retrieval.lexical_weight = read.DoubleIn(retrieval, "lexical_weight", 0, 1e9);
  o.retrieval.candidates = static_cast<int>(read.IntIn(retrieval, "candidates", 1, 1 << 20));
  o.retrieval.mmr = read.Bool(retrieval, "mmr");
  o.retrieval.mmr_lambda = read.DoubleIn(retrieval, "mmr_lambda", 0, 1);
  o.k = static_cast<int>(read.IntIn(*root, "k", 1, 1 << 20));
  o.system_prompt = read.String(*root, "system_prompt");
  o.prompt_template = read.String(*root, "prompt_template");
  if (const Json* v = root->Find("max_tokens"); v != nullptr && v->is_int())
    o.max_tokens = v->as_int();
  else
    o.max_tokens.reset();
  if (const Json* v = root->Find("temperature"); v != nullptr && v->is_number())
    o.temperature = v->as_double();
  else
    o.temperature.reset();
  LLMKIT_RETURN_IF_ERROR(read.status());

  const bool built_locally = kind == "local";
  if (models.embedder == nullptr && !built_locally) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " was built with the embedding model \"", name,
        "\" from an endpoint; pass that model to Load (the local embedder's vectors differ)"));
  }
  if (models.embedder != nullptr) {
    const std::string given = models.embedding_model.empty() ? "default" : models.embedding_model;
    if (built_locally || given != name) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir, " was built with the embedding model \"", name, "\", not \"", given, "\""));
    }
  }
  if (kind_of_store != "local" &&
      (models.store == nullptr || models.store->kind() != kind_of_store)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " keeps its chunks in a ", kind_of_store, " store; pass that store to Load",
        models.store != nullptr
            ? absl::StrCat(" (got a ", internal::ToAbsl(models.store->kind()), " store)")
            : ""));
  }
  if (kind_of_store == "local" && models.store != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " keeps its chunks in its own collection/, not in the ",
                     internal::ToAbsl(models.store->kind()), " store passed to Load"));
  }
  o.store = models.store;
  o.embedder = std::move(models.embedder);
  o.embedding_model = std::move(models.embedding_model);
  o.chat = std::move(models.chat);
  o.tracer = std::move(models.tracer);
  o.chat_model = std::move(models.chat_model);
  absl::StatusOr<std::unique_ptr<Impl>> built = Impl::Build(std::move(o), built_locally, name);
  if (!built.ok()) {
    // Settings Create would refuse: the file is damaged, not the caller's argument.
    return absl::DataLossError(absl::StrCat(file, ": ", built.status().message()));
  }
  std::unique_ptr<Impl> impl = *std::move(built);

  std::error_code exists_error;
  if (kind_of_store == "local" && dimensions == 0 &&
      std::filesystem::exists(dir + "/collection", exists_error)) {
    return absl::DataLossError(absl::StrCat(
        file, ": field \"dimensions\" is 0 (nothing indexed) but the index has a collection"));
  }
  if (kind_of_store != "local") {
    impl->store = impl->options.store;
    LLMKIT_RETURN_IF_ERROR(impl->RebuildFromStore(absl::StrCat(kind_of_store, " store"), call));
    if (impl->dimensions == 0) impl->dimensions = dimensions;
    if (dimensions > 0 && impl->dimensions > 0 && impl->dimensions != dimensions) {
      return absl::FailedPreconditionError(absl::StrCat("the ", kind_of_store, " store holds ",
                                                        impl->dimensions,
                                                        " dimensions; rag.json says ", dimensions));
    }
  } else if (dimensions > 0) {
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Collection> collection,
                            Collection::Load(dir + "/collection"));
    if (collection->options().dim != dimensions) {
      return absl::DataLossError(absl::StrCat(dir, ": the collection has ",
                                              collection->options().dim,
                                              " dimensions; rag.json says ", dimensions));
    }
    impl->local = collection.get();
    impl->store = std::move(collection);
    if (!OpenLexical(*impl, dir)) {
      LLMKIT_RETURN_IF_ERROR(impl->RebuildFromStore(dir + "/collection", call));
    }
    impl->dimensions = dimensions;
  }
  return std::unique_ptr<RagPipeline>(new RagPipeline(std::move(impl)));
}

}  // namespace llmkit
