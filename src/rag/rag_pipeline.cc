// RagPipeline: building, embedding, retrieve and answer; ingest is in rag_ingest.cc.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/files.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"
#include "rag/rag_impl.h"

namespace llmkit {
namespace {

RagPassage PassageOf(const RetrievedHit& hit, int n) {
  RagPassage p;
  p.n = n;
  p.chunk_id = hit.id;
  p.score = hit.score;
  p.text = hit.text;
  p.metadata = hit.metadata;
  auto str = [&](const char* key) -> std::string {
    const Json* v = hit.metadata.Find(key);
    return v != nullptr && v->is_string() ? v->as_string() : std::string();
  };
  auto num = [&](const char* key) -> int64_t {
    const Json* v = hit.metadata.Find(key);
    return v != nullptr && v->is_int() ? v->as_int() : 0;
  };
  p.doc_id = str("doc_id");
  p.path = str("path");
  p.begin = static_cast<size_t>(num("begin"));
  p.end = static_cast<size_t>(num("end"));
  p.line_start = static_cast<int>(num("line_start"));
  p.line_end = static_cast<int>(num("line_end"));
  if (hit.metadata.Find("char_start") != nullptr) {  // Indexes written since char offsets exist.
    p.char_start = num("char_start");
    p.char_end = num("char_end");
  }
  return p;
}

}  // namespace

Json PassageToJson(const RagPassage& p) {
  Json j = Json::MakeObject();
  j.Set("n", p.n);
  j.Set("score", p.score);
  j.Set("doc_id", p.doc_id);
  j.Set("path", p.path);
  j.Set("line_start", p.line_start);
  j.Set("line_end", p.line_end);
  j.Set("begin", p.begin);
  j.Set("end", p.end);
  j.Set("text", p.text);
  return j;
}

std::vector<int> CitedNumbers(std::string_view answer, int passages) {
  std::vector<int> out;
  for (size_t i = 0; i < answer.size(); ++i) {
    if (answer[i] != '[') continue;
    // "[1]", "[1, 2]", "[1,2]": digits separated by commas and spaces up to "]".
    std::vector<int> numbers;
    size_t j = i + 1;
    bool ok = false;
    while (j < answer.size()) {
      if (answer[j] >= '0' && answer[j] <= '9') {
        int64_t n = 0;
        while (j < answer.size() && answer[j] >= '0' && answer[j] <= '9' && n < 1'000'000) {
          n = n * 10 + (answer[j++] - '0');
        }
        numbers.push_back(static_cast<int>(n));
        while (j < answer.size() && answer[j] == ' ') ++j;
        if (j < answer.size() && answer[j] == ']') {
          ok = true;
          break;
        }
        if (j < answer.size() && answer[j] == ',') {
          ++j;
          while (j < answer.size() && answer[j] == ' ') ++j;
          continue;
        }
      }
      break;
    }
    if (!ok) continue;
    for (int n : numbers) {
      if (n >= 1 && n <= passages && std::find(out.begin(), out.end(), n) == out.end()) {
        out.push_back(n);
      }
    }
    i = j;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RagPipeline::Impl>> RagPipeline::Impl::Build(
    RagOptions options, bool local, std::string embedder_name) {
  if (options.chunk_size == 0 || options.chunk_overlap >= options.chunk_size) {
    return absl::InvalidArgumentError(absl::StrCat("chunk_overlap (", options.chunk_overlap,
                                                   ") must be below chunk_size (",
                                                   options.chunk_size, ")"));
  }
  if (options.k < 1) return absl::InvalidArgumentError("k must be >= 1");
  if (options.embed_batch_size < 1 || options.embed_concurrency < 1) {
    return absl::InvalidArgumentError("embed_batch_size and embed_concurrency must be >= 1");
  }
  auto impl = std::make_unique<Impl>();
  std::shared_ptr<EmbeddingModel> model = options.embedder;
  if (local) {
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddingModel> local_model,
                            NewLocalEmbeddingModel(options.local_embedder));
    model = std::move(local_model);
    options.embedding_dimensions.reset();
  }
  impl->local_embedder = local;
  impl->embedder_name = std::move(embedder_name);
  impl->embedder = std::make_shared<CachedEmbeddingModel>(std::move(model), impl->embedder_name,
                                                          options.embedding_cache_entries);
  LLMKIT_ASSIGN_OR_RETURN(
      internal::DocumentSplitter splitter,
      internal::DocumentSplitter::Create(options.chunk_size, options.chunk_overlap));
  impl->splitter = std::make_unique<internal::DocumentSplitter>(std::move(splitter));
  TemplateOptions template_options;
  template_options.name = "prompt_template";
  absl::StatusOr<Template> prompt = Template::Compile(options.prompt_template, template_options);
  if (!prompt.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("prompt_template: ", prompt.status().message()));
  }
  impl->prompt = std::make_unique<Template>(*std::move(prompt));
  LLMKIT_ASSIGN_OR_RETURN(impl->bm25, Bm25Index::Create());
  LLMKIT_ASSIGN_OR_RETURN(impl->doc_bm25, Bm25Index::Create());
  impl->options = std::move(options);
  return impl;
}

absl::StatusOr<std::vector<float>> RagPipeline::Impl::EmbedAll(
    const std::vector<std::string>& texts, int* dimensions, const CallContext& call) const {
  const size_t batch = options.embed_batch_size;
  const size_t batches = (texts.size() + batch - 1) / batch;
  std::vector<Embeddings> results(batches);
  std::vector<absl::Status> errors(batches);
  // The caller's cancellation, or the first error, stops every batch.
  auto cancellation = call.Linked();
  const CallContext batch_call = call.WithCancellation(cancellation);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t b = next++; b < batches; b = next++) {
      if (cancellation->cancelled()) return;
      const size_t begin = b * batch, end = std::min(texts.size(), begin + batch);
      EmbedOptions embed;
      embed.model = options.embedding_model;
      embed.dimensions = options.embedding_dimensions;
      absl::StatusOr<Embeddings> e = embedder->Embed(
          absl::MakeConstSpan(texts.data() + begin, end - begin), embed, batch_call);
      if (!e.ok()) {
        errors[b] = e.status();
        cancellation->Cancel();
        return;
      }
      results[b] = *std::move(e);
    }
  };
  const size_t threads = std::min<size_t>(options.embed_concurrency, batches);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  if (batches > 0) work();
  for (std::thread& t : pool) t.join();
  for (const absl::Status& error : errors) {
    if (!error.ok() && !absl::IsCancelled(error)) return error;
  }
  for (const absl::Status& error : errors) LLMKIT_RETURN_IF_ERROR(error);
  LLMKIT_RETURN_IF_ERROR(call.Check("embedding"));

  std::vector<float> out;
  for (size_t b = 0; b < batches; ++b) {
    const Embeddings& e = results[b];
    const size_t expected = std::min(texts.size(), (b + 1) * batch) - b * batch;
    if (e.rows() != expected || e.dimensions == 0) {
      return absl::UnavailableError(absl::StrCat("embedding model returned ", e.rows(),
                                                 " vectors for ", expected, " inputs"));
    }
    if (*dimensions == 0) *dimensions = static_cast<int>(e.dimensions);
    if (static_cast<int>(e.dimensions) != *dimensions) {
      return absl::FailedPreconditionError(absl::StrCat("embedding model returned ", e.dimensions,
                                                        " dimensions; the index has ", *dimensions,
                                                        " (was it built with another model?)"));
    }
    out.insert(out.end(), e.values.begin(), e.values.end());
  }
  return out;
}

absl::Status RagPipeline::Impl::EnsureStore(int dims) {
  if (store != nullptr) {
    if (store->dim() != dims) {
      return absl::FailedPreconditionError(absl::StrCat(
          "embedding model returned ", dims, " dimensions; the ", internal::ToAbsl(store->kind()),
          " store holds ", store->dim(), " (was it built with another model?)"));
    }
    dimensions = dims;
    return absl::OkStatus();
  }
  CollectionOptions collection_options;
  collection_options.dim = dims;
  collection_options.metric = Metric::kCosine;
  collection_options.index = options.index;
  collection_options.float16 = options.float16 && options.index == IndexKind::kFlat;
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Collection> created,
                          Collection::Create(collection_options));
  local = created.get();
  store = std::move(created);
  dimensions = dims;
  return absl::OkStatus();
}

RagPipeline::RagPipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RagPipeline::~RagPipeline() = default;

absl::StatusOr<std::unique_ptr<RagPipeline>> RagPipeline::Create(RagOptions options,
                                                                 const CallContext& call) {
  const bool local = options.embedder == nullptr;
  std::string name =
      local ? LocalEmbedderName(options.local_embedder)
            : (options.embedding_model.empty() ? std::string("default") : options.embedding_model);
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                          Impl::Build(std::move(options), local, std::move(name)));
  if (impl->options.store != nullptr) {
    // Another process may have filled the store: its chunks are this pipeline's index.
    impl->store = impl->options.store;
    LLMKIT_RETURN_IF_ERROR(impl->RebuildFromStore(
        absl::StrCat(internal::ToAbsl(impl->store->kind()), " store"), call));
  }
  return std::unique_ptr<RagPipeline>(new RagPipeline(std::move(impl)));
}

namespace {

// A span of a pipeline operation, child of the call's trace context; inactive without a tracer.
Span PipelineSpan(const std::shared_ptr<Tracer>& tracer, std::string name, const CallContext& call,
                  const Attributes& attributes) {
  if (tracer == nullptr) return Span();
  Span span = tracer->StartSpan(std::move(name), call.trace, SpanKind::kInternal);
  for (const auto& [key, value] : attributes) span.SetAttribute(key, value);
  return span;
}

// Ends an ingest's span with what it did (or its error).
void EndIngestSpan(Span& span, const absl::StatusOr<IngestProgress>& progress) {
  if (!span.active()) return;
  if (progress.ok()) {
    span.SetAttribute("llmkit.rag.documents", static_cast<int64_t>(progress->documents_done));
    span.SetAttribute("llmkit.rag.documents_unchanged",
                      static_cast<int64_t>(progress->documents_unchanged));
    span.SetAttribute("llmkit.rag.chunks", static_cast<int64_t>(progress->chunks));
  } else {
    span.SetError(absl::AsciiStrToLower(absl::StatusCodeToString(progress.status().code())),
                  std::string(progress.status().message()));
  }
  span.End();
}

}  // namespace

absl::StatusOr<IngestProgress> RagPipeline::Ingest(absl::Span<const RagDocument> documents,
                                                   const IngestOptions& ingest,
                                                   const CallContext& call) {
  Span span = PipelineSpan(impl_->options.tracer, "llmkit.rag.ingest", call, {});
  absl::StatusOr<IngestProgress> progress =
      impl_->Ingest(documents, ingest, span.active() ? span.ChildContext(call) : call);
  EndIngestSpan(span, progress);
  return progress;
}

absl::StatusOr<size_t> RagPipeline::Remove(absl::Span<const std::string> doc_ids,
                                           const CallContext& call) {
  std::lock_guard<std::mutex> writer(impl_->write_mu);
  std::unique_lock lock(impl_->mu);
  // One store call for all the documents' chunks (a remote store: one round trip), then the
  // local indexes; a failed store call changes nothing.
  std::vector<std::string> found, chunk_ids;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : doc_ids) {
    auto it = impl_->docs.find(id);
    if (it == impl_->docs.end() || !seen.insert(id).second) continue;
    found.push_back(id);
    for (size_t c = 0; c < it->second.chunks; ++c) chunk_ids.push_back(internal::ChunkId(id, c));
  }
  if (impl_->store != nullptr && !chunk_ids.empty()) {
    LLMKIT_RETURN_IF_ERROR(impl_->store->Delete(chunk_ids, call).status());
  }
  impl_->bm25->Delete(chunk_ids);
  impl_->doc_bm25->Delete(found);
  if (impl_->latent != nullptr) impl_->latent->Delete(found);
  for (const std::string& id : found) impl_->docs.erase(id);
  const size_t removed = found.size();
  return removed;
}

namespace {

// The path of another file that already holds `doc`'s id in the index (a file of another
// folder with the same relative path), or "" when the id is free or is this file's own.
std::string IdOwner(const RagPipeline::Impl& impl, const RagDocument& doc) {
  std::string owner;
  {
    std::shared_lock lock(impl.mu);
    auto it = impl.docs.find(doc.id);
    if (it == impl.docs.end() || it->second.path == doc.path) return "";
    owner = it->second.path;
  }
  // The same file named another way ("docs/a.md", "./docs/a.md", "/abs/docs/a.md") is no clash.
  std::error_code error;
  const std::filesystem::path mine = std::filesystem::weakly_canonical(doc.path, error);
  const std::filesystem::path theirs = std::filesystem::weakly_canonical(owner, error);
  return !error && mine == theirs ? "" : owner;
}

}  // namespace

namespace {

// True when `name` has no file-type extension: no dot, or what follows the last dot is not a
// short lowercase word (README, GPL-3, README.Debian, Apache-2.0).
bool HasNoExtension(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return true;
  const std::string_view ext = std::string_view(name).substr(dot + 1);
  if (ext.empty() || ext.size() > 8) return true;
  bool letter = false;
  for (char c : ext) {
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (!(c >= '0' && c <= '9')) {
      return true;
    }
  }
  return !letter;
}

// The files under `dir` to index, sorted: those ending in one of `extensions`, and (when
// `sniff_extensionless`) files without an extension, which are indexed when they read as UTF-8
// text. Hidden names are passed over; links to directories are not followed. Every other path
// that could not be listed or is not a file goes to `skipped` with its reason.
std::vector<std::filesystem::path> ListFiles(const std::string& dir,
                                             const std::vector<std::string>& extensions,
                                             bool sniff_extensionless,
                                             std::vector<std::string>* skipped) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::vector<fs::path> pending = {fs::path(dir)};
  while (!pending.empty()) {
    const fs::path folder = std::move(pending.back());
    pending.pop_back();
    std::error_code error;
    fs::directory_iterator it(folder, error);
    if (error) {
      skipped->push_back(
          absl::StrCat(folder.string(), ": unreadable directory (", error.message(), ")"));
      continue;
    }
    for (; it != fs::directory_iterator(); it.increment(error)) {
      if (error) {
        skipped->push_back(
            absl::StrCat(folder.string(), ": listing stopped (", error.message(), ")"));
        break;
      }
      const fs::path& path = it->path();
      const std::string name = path.filename().string();
      if (!name.empty() && name[0] == '.') continue;  // Hidden files and folders.
      std::error_code link_error;
      const bool link = it->is_symlink(link_error);
      std::error_code status_error;
      const fs::file_status status = fs::status(path, status_error);
      if (status_error) {
        const bool loop = status_error == std::errc::too_many_symbolic_link_levels;
        skipped->push_back(absl::StrCat(path.string(), ": ",
                                        loop   ? "symbolic link loop"
                                        : link ? "dangling symbolic link"
                                               : "unreadable",
                                        " (", status_error.message(), ")"));
        continue;
      }
      if (fs::is_directory(status)) {
        if (link) {
          skipped->push_back(
              absl::StrCat(path.string(), ": link to a directory (links are not followed)"));
        } else {
          pending.push_back(path);
        }
        continue;
      }
      if (!fs::is_regular_file(status)) {
        skipped->push_back(absl::StrCat(path.string(), ": not a regular file"));
        continue;
      }
      bool wanted = sniff_extensionless && HasNoExtension(name);
      for (size_t i = 0; i < extensions.size() && !wanted; ++i) {
        const std::string& ext = extensions[i];
        wanted = name.size() >= ext.size() &&
                 name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
      }
      if (wanted) files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

absl::StatusOr<IngestProgress> RagPipeline::IngestDirectory(const std::string& dir,
                                                            const DirectoryOptions& directory,
                                                            const IngestOptions& options,
                                                            const CallContext& call) {
  Span span = PipelineSpan(impl_->options.tracer, "llmkit.rag.ingest", call, {});
  absl::StatusOr<IngestProgress> progress =
      IngestDirectoryUnder(dir, directory, options, span.active() ? span.ChildContext(call) : call);
  EndIngestSpan(span, progress);
  return progress;
}

absl::StatusOr<IngestProgress> RagPipeline::IngestDirectoryUnder(const std::string& dir,
                                                                 const DirectoryOptions& directory,
                                                                 const IngestOptions& options,
                                                                 const CallContext& call) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("no such directory: ", dir));
  }
  if (fs::directory_iterator probe(dir, error); error) {
    return absl::PermissionDeniedError(absl::StrCat(dir, ": ", error.message()));
  }
  const std::vector<std::string>& extensions =
      directory.extensions.empty() ? internal::DefaultExtensions() : directory.extensions;
  std::vector<std::string> errors;  // Every path skipped, with its reason.
  std::vector<fs::path> files = ListFiles(dir, extensions, directory.extensions.empty(), &errors);
  LLMKIT_RETURN_IF_ERROR(call.Check("listing the directory"));
  const fs::path root(dir);
  size_t removed_docs = 0;
  if (directory.remove_missing) {
    absl::flat_hash_set<std::string> present;
    for (const fs::path& file : files) present.insert(file.string());
    const std::string prefix = (root / "").string();
    std::vector<std::string> gone;
    {
      std::shared_lock lock(impl_->mu);
      for (const auto& [id, record] : impl_->docs) {
        if (record.path.rfind(prefix, 0) == 0 && !present.contains(record.path)) {
          // Files that exist but could not be listed are kept as they were.
          std::error_code exists_error;
          if (!fs::exists(record.path, exists_error)) gone.push_back(id);
        }
      }
    }
    LLMKIT_ASSIGN_OR_RETURN(removed_docs, Remove(gone, call));
  }

  IngestOptions with_errors = options;
  if (options.progress) {
    with_errors.progress = [&](const IngestProgress& p) {
      IngestProgress shown = p;
      shown.documents_failed = errors.size();
      shown.documents_removed = removed_docs;
      return options.progress(shown);
    };
  }
  // Files are read one at a time and handed to the ingest, which keeps only their chunks until
  // they are written: memory follows the largest file, not the directory.
  size_t fed = 0;
  auto source = [&](const Impl::DocumentSink& add) -> absl::Status {
    for (const fs::path& file : files) {
      LLMKIT_RETURN_IF_ERROR(call.Check("reading the directory"));
      RagDocument doc;
      doc.id = file.lexically_relative(root).generic_string();
      doc.path = file.string();
      if (std::string owner = IdOwner(*impl_, doc); !owner.empty()) {
        errors.push_back(absl::StrCat(doc.path, ": skipped: its document id \"", doc.id,
                                      "\" already belongs to ", owner,
                                      " (ids are paths relative to the indexed directory: index "
                                      "both folders from one parent directory, or into separate "
                                      "indexes)"));
        continue;
      }
      std::error_code size_error;
      const uintmax_t size = fs::file_size(file, size_error);
      if (!size_error && size > directory.max_file_bytes) {
        errors.push_back(absl::StrCat(doc.path, ": ", size, " bytes, above max_file_bytes ",
                                      directory.max_file_bytes));
        continue;
      }
      absl::StatusOr<std::string> text = internal::ReadFile(doc.path);
      if (!text.ok()) {
        errors.push_back(absl::StrCat(doc.path, ": ", text.status().message()));
        continue;
      }
      if (text->find('\0') != std::string::npos) {
        errors.push_back(absl::StrCat(doc.path, ": binary (contains NUL bytes)"));
        continue;
      }
      if (absl::Status utf8 = ValidateUtf8(*text); !utf8.ok()) {
        errors.push_back(absl::StrCat(doc.path, ": not UTF-8 text (", utf8.message(), ")"));
        continue;
      }
      doc.text = *std::move(text);
      ++fed;
      LLMKIT_RETURN_IF_ERROR(add(doc));
    }
    return absl::OkStatus();
  };
  LLMKIT_ASSIGN_OR_RETURN(IngestProgress progress,
                          impl_->IngestStream(files.size(), source, with_errors, call));
  progress.documents_total = fed;
  progress.documents_failed = errors.size();
  progress.documents_removed = removed_docs;
  progress.errors = std::move(errors);
  return progress;
}

namespace {

// Document evidence (see docs/rag.md, "Retrieval"): a passage's score mixes its own retrieval
// score with its document's BM25 score over the whole text, each min-max normalized over the
// candidates, so that a passage of a document that matches the question as a whole ranks above
// an equally matching passage of one that does not. Chosen on the even-numbered SciFact test
// queries (benchmarks/compare/rag_eval): 100 passage candidates, the documents' top 1,000,
// weight 0.7 on the document; the odd half is the held-out figure.
constexpr int kPassageCandidates = 100;
constexpr int kDocumentCandidates = 1000;
constexpr double kDocumentWeight = 0.7;

// Min-max normalized scores by id of a ranked list, best first (all 1 when they are equal).
template <typename Hit>
absl::flat_hash_map<std::string_view, double> NormalizedScores(const std::vector<Hit>& ranked) {
  absl::flat_hash_map<std::string_view, double> scores;
  if (ranked.empty()) return scores;
  const double high = ranked.front().score, low = ranked.back().score;
  for (const Hit& hit : ranked)
    scores[hit.id] = high > low ? (hit.score - low) / (high - low) : 1.0;
  return scores;
}

// Each hit's score, min-max normalized over the hits, becomes (1 - weight) x itself + weight x
// its document's score in `documents` (0 when absent); then the hits are sorted by it (stable:
// equal scores keep the order they had).
void MixWithDocuments(const absl::flat_hash_map<std::string_view, double>& documents, double weight,
                      std::vector<RetrievedHit>* hits) {
  double high = -std::numeric_limits<double>::infinity(), low = -high;
  for (const RetrievedHit& hit : *hits) {
    high = std::max(high, hit.score);
    low = std::min(low, hit.score);
  }
  for (RetrievedHit& hit : *hits) {
    const double own = high > low ? (hit.score - low) / (high - low) : 1.0;
    double document = 0;
    if (const Json* id = hit.metadata.Find("doc_id"); id != nullptr && id->is_string()) {
      auto it = documents.find(id->as_string());
      if (it != documents.end()) document = it->second;
    }
    hit.score = (1 - weight) * own + weight * document;
  }
  std::stable_sort(hits->begin(), hits->end(),
                   [](const RetrievedHit& a, const RetrievedHit& b) { return a.score > b.score; });
}

absl::Status AddDocumentEvidence(const Bm25Index& documents, std::string_view question,
                                 std::vector<RetrievedHit>* hits) {
  if (hits->empty()) return absl::OkStatus();
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Bm25Hit> ranked,
                          documents.Search(question, {.k = kDocumentCandidates}));
  MixWithDocuments(NormalizedScores(ranked), kDocumentWeight, hits);
  return absl::OkStatus();
}

// Latent evidence (see docs/rag.md, "Retrieval"): the score so far, min-max normalized over the
// candidates, mixed with the cosine of the passage's document to the question in the latent
// semantic space, min-max normalized over the documents' top 1,000 (documents below count as
// the lowest). Weight 0.15, chosen on the even-numbered SciFact test queries like the document
// weight above.
constexpr double kLatentWeight = 0.15;

absl::Status AddLatentEvidence(const internal::LatentModel& latent, const Bm25Index& analyzer,
                               std::string_view question, std::vector<RetrievedHit>* hits) {
  if (hits->empty()) return absl::OkStatus();
  LLMKIT_ASSIGN_OR_RETURN(std::vector<SearchHit> ranked,
                          latent.Search(analyzer.Analyze(question), kDocumentCandidates));
  if (ranked.empty()) return absl::OkStatus();  // No word of the question is known.
  MixWithDocuments(NormalizedScores(ranked), kLatentWeight, hits);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<RagPassage>> RagPipeline::Retrieve(std::string_view question, int k,
                                                              const Json& where,
                                                              const CallContext& call) const {
  std::string kind = "local";
  {
    std::shared_lock lock(impl_->mu);
    if (impl_->store != nullptr) kind = std::string(impl_->store->kind());
  }
  Span span = PipelineSpan(
      impl_->options.tracer, absl::StrCat("retrieval ", kind), call,
      {{"gen_ai.operation.name", std::string("retrieval")}, {"gen_ai.data_source.id", kind}});
  absl::StatusOr<std::vector<RagPassage>> passages =
      RetrieveUnder(question, k, where, span.active() ? span.ChildContext(call) : call);
  if (span.active() && passages.ok()) {
    span.SetAttribute("llmkit.retrieval.passages", static_cast<int64_t>(passages->size()));
  } else if (span.active()) {
    span.SetError(absl::AsciiStrToLower(absl::StatusCodeToString(passages.status().code())),
                  std::string(passages.status().message()));
  }
  return passages;
}

absl::StatusOr<std::vector<RagPassage>> RagPipeline::RetrieveUnder(std::string_view question, int k,
                                                                   const Json& where,
                                                                   const CallContext& call) const {
  if (k == 0) k = impl_->options.k;
  if (k < 1) return absl::InvalidArgumentError("k must be >= 1");
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(question));
  std::vector<float> vector;
  if (impl_->options.retrieval.mode != RetrievalMode::kLexical) {
    int dims;
    {
      std::shared_lock lock(impl_->mu);
      dims = impl_->dimensions;
    }
    if (dims == 0) return std::vector<RagPassage>{};  // Nothing indexed yet.
    LLMKIT_ASSIGN_OR_RETURN(vector, impl_->EmbedAll({std::string(question)}, &dims, call));
  }
  std::shared_lock lock(impl_->mu);
  if (impl_->store == nullptr) return std::vector<RagPassage>{};
  LLMKIT_ASSIGN_OR_RETURN(
      Retriever retriever,
      Retriever::Create(impl_->store.get(), impl_->bm25.get(), impl_->options.retrieval));
  RetrievalQuery query;
  query.text = question;
  query.vector = vector;
  query.k = std::max(k, kPassageCandidates);
  query.where = where;
  LLMKIT_ASSIGN_OR_RETURN(std::vector<RetrievedHit> hits, retriever.Search(query, call));
  LLMKIT_RETURN_IF_ERROR(AddDocumentEvidence(*impl_->doc_bm25, question, &hits));
  if (impl_->latent != nullptr) {
    LLMKIT_RETURN_IF_ERROR(AddLatentEvidence(*impl_->latent, *impl_->doc_bm25, question, &hits));
  }
  if (hits.size() > static_cast<size_t>(k)) hits.resize(static_cast<size_t>(k));
  std::vector<RagPassage> out;
  out.reserve(hits.size());
  for (size_t i = 0; i < hits.size(); ++i)
    out.push_back(PassageOf(hits[i], static_cast<int>(i + 1)));
  return out;
}

absl::StatusOr<RagAnswer> RagPipeline::Answer(std::string_view question,
                                              const AnswerOptions& options,
                                              const CallContext& call) const {
  Span span = PipelineSpan(impl_->options.tracer, "invoke_workflow rag", call,
                           {{"gen_ai.operation.name", std::string("invoke_workflow")},
                            {"gen_ai.workflow.name", std::string("rag")}});
  absl::StatusOr<RagAnswer> answer =
      AnswerUnder(question, options, span.active() ? span.ChildContext(call) : call);
  if (span.active() && answer.ok()) {
    span.SetAttribute("llmkit.rag.passages", static_cast<int64_t>(answer->context.size()));
    span.SetAttribute("llmkit.rag.citations", static_cast<int64_t>(answer->citations.size()));
  } else if (span.active()) {
    span.SetError(absl::AsciiStrToLower(absl::StatusCodeToString(answer.status().code())),
                  std::string(answer.status().message()));
  }
  return answer;
}

absl::StatusOr<RagAnswer> RagPipeline::AnswerUnder(std::string_view question,
                                                   const AnswerOptions& options,
                                                   const CallContext& call) const {
  RagAnswer answer;
  LLMKIT_ASSIGN_OR_RETURN(answer.context, Retrieve(question, options.k, options.where, call));
  Json passages = Json::MakeArray();
  for (const RagPassage& p : answer.context) passages.push_back(PassageToJson(p));
  Json variables = Json::MakeObject();
  variables.Set("question", question);
  variables.Set("passages", std::move(passages));
  LLMKIT_ASSIGN_OR_RETURN(answer.prompt, impl_->prompt->Render(variables));

  const RagOptions& o = impl_->options;
  if (o.chat == nullptr) {
    answer.text =
        "No chat model is configured, so no answer was generated. The retrieved passages and "
        "the prompt that would be sent are returned instead.";
    answer.citations = answer.context;
    return answer;
  }
  ChatRequest request;
  request.model = o.chat_model;
  auto message = [](std::string role, std::string content) {
    Message m;
    m.role = std::move(role);
    m.content = std::move(content);
    return m;
  };
  if (!o.system_prompt.empty()) request.messages.push_back(message("system", o.system_prompt));
  request.messages.push_back(message("user", answer.prompt));
  request.max_tokens = o.max_tokens;
  request.temperature = o.temperature;
  absl::StatusOr<ChatResponse> response;
  if (options.on_text) {
    response = o.chat->Stream(
        request,
        [&](const StreamEvent& event) {
          if (event.kind == StreamEvent::Kind::kTextDelta) options.on_text(event.text);
          return true;
        },
        call);
  } else {
    response = o.chat->Complete(request, call);
  }
  if (!response.ok()) return response.status();
  answer.generated = true;
  answer.text = response->text;
  answer.usage = response->usage;
  answer.model = response->model;
  for (int n : CitedNumbers(answer.text, static_cast<int>(answer.context.size()))) {
    answer.citations.push_back(answer.context[n - 1]);
  }
  return answer;
}

RagStats RagPipeline::Stats() const {
  std::shared_lock lock(impl_->mu);
  RagStats stats;
  stats.documents = impl_->docs.size();
  stats.chunks = impl_->bm25->Size();  // In step with the store's chunks.
  stats.embedding_model = impl_->embedder_name;
  stats.dimensions = impl_->dimensions;
  stats.latent_documents = impl_->latent != nullptr ? impl_->latent->Documents() : 0;
  return stats;
}

EmbeddingCacheStats RagPipeline::CacheStats() const { return impl_->embedder->Stats(); }

const RagOptions& RagPipeline::options() const { return impl_->options; }

}  // namespace llmkit
