// Retrieval-augmented generation as one object: documents are split into chunks, embedded and
// indexed (vectors and BM25); a question retrieves the best chunks (hybrid by default) and,
// when a chat model is configured, is answered from them with numbered citations.
//
//   LLMKIT_ASSIGN_OR_RETURN(auto rag, llmkit::RagPipeline::Create({}));   // local defaults
//   LLMKIT_ASSIGN_OR_RETURN(auto stats, rag->IngestDirectory("docs/"));
//   LLMKIT_ASSIGN_OR_RETURN(llmkit::RagAnswer answer, rag->Answer("How do I ...?"));
//   for (const llmkit::RagPassage& p : answer.citations) { ... p.path, p.line_start ... }
//   LLMKIT_RETURN_IF_ERROR(rag->Save("index/"));
//
// Embeddings come from any EmbeddingModel (e.g. NewOpenAIEmbeddingModel, decorated or not) or,
// by default, from the built-in local embedder: a deterministic *lexical* embedding (hashed
// words, word pairs and character n-grams). It needs no model server and finds passages that
// share words with the question; it does not understand paraphrase as a neural model does.
// Every embedding goes through a cache keyed by (model, dimensions, SHA-256 of the text), so a
// text is embedded once per process; re-ingesting a changed document also reuses the vectors of
// its unchanged chunks from the index.
//
// Chunking follows the file type: Markdown (.md) with MarkdownSplitter (heading paths in the
// chunk metadata), reStructuredText (.rst, .rst.txt) and source files with the language's
// separators, anything else with RecursiveCharacterSplitter's defaults. Sizes count code points.
//
// Every chunk is stored with metadata: "doc_id", "path", "chunk" (its number in the document),
// "begin"/"end" (byte offsets in the document), "line_start"/"line_end" (1-based, inclusive),
// "doc_sha256" and the document's own metadata fields (which may not use those names).
//
// Errors: kInvalidArgument (bad options or input, naming the document and byte offset),
// kFailedPrecondition (a saved index used with a different embedding model), kCancelled (the
// progress callback returned false), and the errors of the models, Collection and Bm25Index.
// Threads: Retrieve and Answer may run on many threads at once and beside one Ingest; writes
// (Ingest, IngestDirectory, Remove) are serialized. Ownership: the pipeline shares ownership of
// the models it is given.

#ifndef LLMKIT_RAG_H_
#define LLMKIT_RAG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/chat.h"
#include "llmkit/chunker.h"
#include "llmkit/embeddings.h"
#include "llmkit/index.h"
#include "llmkit/json.h"
#include "llmkit/observe.h"
#include "llmkit/retriever.h"

namespace llmkit {

// ---------------------------------------------------------------------------------------------
// The local embedder.

// Defaults chosen on BEIR SciFact (docs/rag.md): 1,024 dimensions score nDCG@10 0.559 alone
// (512: 0.514, 2,048: 0.579, at twice the memory); word pairs cost 0.01.
struct LocalEmbedderOptions {
  int dimensions = 1024;
  // Character n-grams of each word, with "<" and ">" marking its ends (as fastText); 0 disables.
  int char_ngram_min = 3;
  int char_ngram_max = 5;
  bool word_pairs = false;  // Adjacent word pairs as features too.
};

// A deterministic lexical embedding: the text is analyzed as BM25's default analyzer does
// (Unicode words, lowercase, English stop words dropped, Porter stems); each word, word pair and
// character n-gram is hashed (64-bit FNV-1a) to a dimension and a sign; counts are damped as
// ln(1 + count) and the vector is L2-normalized. The same text gives the same vector on every
// machine and version. Thread-safe. Errors: kInvalidArgument (dimensions < 8, bad n-gram range).
absl::StatusOr<std::unique_ptr<EmbeddingModel>> NewLocalEmbeddingModel(
    const LocalEmbedderOptions& options = {});

// The model name the local embedder reports and the pipeline records, e.g.
// "llmkit-lexical-v1-d1024-c3-5-p0".
std::string LocalEmbedderName(const LocalEmbedderOptions& options);

// ---------------------------------------------------------------------------------------------
// The embedding cache.

struct EmbeddingCacheStats {
  size_t hits = 0;
  size_t misses = 0;
  size_t entries = 0;
};

// An EmbeddingModel that remembers vectors by (model, dimensions, text) and sends only unseen
// texts to `model` (in one call, in input order): the response cache's WithCache (cache.h) in
// process, holding at most max_entries vectors (0: none), the least recently used forgotten
// first. Thread-safe; concurrent calls may both embed a text neither has seen yet.
class CachedEmbeddingModel : public EmbeddingModel {
 public:
  // `default_model` names the model for calls whose EmbedOptions.model is empty.
  CachedEmbeddingModel(std::shared_ptr<EmbeddingModel> model, std::string default_model,
                       size_t max_entries = 100'000);
  ~CachedEmbeddingModel() override;

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options = {},
                                   const CallContext& call = {}) override;
  EmbeddingCacheStats Stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// The pipeline.

inline constexpr char kDefaultRagSystemPrompt[] =
    "You answer questions using only the numbered sources you are given, and you cite them.";

// Jinja2 (template.h); variables: `question`, and `passages`, a list of PassageToJson objects.
inline constexpr char kDefaultRagPromptTemplate[] =
    "Answer the question using only the numbered passages below. Cite the passages you use with "
    "their numbers in square brackets, like [1] or [2][3]. If the passages do not contain the "
    "answer, say that you do not know.\n\n"
    "{% for p in passages %}[{{ p.n }}] {{ p.path }}, lines {{ p.line_start }}-{{ p.line_end }}\n"
    "{{ p.text }}\n\n{% endfor %}Question: {{ question }}\n";

struct RagOptions {
  // Chunking (code points).
  size_t chunk_size = 512;
  size_t chunk_overlap = 64;

  // Embeddings. Null `embedder`: the local embedder with `local_embedder`.
  std::shared_ptr<EmbeddingModel> embedder;
  std::string embedding_model;  // EmbedOptions.model for `embedder` (empty: its default).
  std::optional<int> embedding_dimensions;  // EmbedOptions.dimensions.
  LocalEmbedderOptions local_embedder;
  size_t embed_batch_size = 64;  // Chunks per Embed call.
  int embed_concurrency = 4;     // Embed calls in flight at once during Ingest.
  // Vectors remembered by text hash (boilerplate repeated across files is embedded once):
  // about 64 MiB at the local embedder's 1,024 dimensions.
  size_t embedding_cache_entries = 16'384;

  // Where the chunks live. Null: a local Collection (the two options below), created on the
  // first embedding and saved by Save. Set (a PgVectorStore, a ChromaStore, ...): chunks are
  // written to and searched in this store, whose dim must equal the embedding dimensions; the
  // BM25 indexes stay in this process, rebuilt from the store's chunks by Create (when the store
  // holds any) and Load; change detection reads the hashes the chunks carry, so no local file is
  // needed. Writes by other processes reach this pipeline's lexical side when it is opened again.
  std::shared_ptr<VectorStore> store;
  // Index and retrieval.
  IndexKind index = IndexKind::kFlat;
  // Store vectors as float16 (flat index only): half the memory, disk and load time; recall@10
  // against float32 0.999 in the index benchmarks.
  bool float16 = true;
  // Hybrid relative score fusion with alpha 0.3 (the vector side's weight): on SciFact's whole
  // abstracts (all 300 test queries) it beat 0.5 both with the local embedder (nDCG@10 0.689 vs
  // 0.669) and with MiniLM (0.717 vs 0.709). Retrieve then mixes in document evidence.
  RetrieverOptions retrieval = {.alpha = 0.3};
  int k = 5;  // Passages retrieved per question.

  // Answers. Null `chat`: Answer returns the passages and the prompt without an answer.
  std::shared_ptr<ChatModel> chat;
  std::string chat_model;  // ChatRequest.model (empty: the client's default).
  std::string system_prompt = kDefaultRagSystemPrompt;
  std::string prompt_template = kDefaultRagPromptTemplate;
  std::optional<int64_t> max_tokens = 1024;
  std::optional<double> temperature = 0.0;

  // Spans (observe.h) of Retrieve ("retrieval <store kind>"), Answer ("invoke_workflow rag",
  // with the retrieval and the chat call as children), Ingest and IngestDirectory
  // ("llmkit.rag.ingest"). Null: none. Wrap `chat` and `embedder` with WithTracing for spans of
  // the model calls themselves; they join these. Not saved: Load takes it in RagModels.
  std::shared_ptr<Tracer> tracer;
};

// The models of a pipeline, which are not saved with it (Load takes them again).
struct RagModels {
  std::shared_ptr<EmbeddingModel> embedder;  // Null: the local embedder the index was built with.
  std::string embedding_model;
  std::shared_ptr<ChatModel> chat;
  std::string chat_model;
  // The store the index was built in, when rag.json names a remote one (kind must match).
  std::shared_ptr<VectorStore> store;
  std::shared_ptr<Tracer> tracer;  // RagOptions::tracer.
};

struct RagDocument {
  std::string id;    // Unique, non-empty.
  std::string text;  // UTF-8.
  Json metadata;     // Null or an object; its fields are copied into every chunk's metadata.
  std::string path;  // Shown in citations; also picks the splitter by extension. Empty: id.
};

struct IngestProgress {
  size_t documents_total = 0;
  size_t documents_done = 0;       // Committed or skipped so far.
  size_t documents_unchanged = 0;  // Skipped: same text, metadata and path as indexed.
  size_t documents_failed = 0;     // IngestDirectory: paths skipped (see errors).
  size_t chunks = 0;               // Chunks written.
  size_t chunks_embedded = 0;      // Of which embedded by the model in this call.
  size_t chunks_reused = 0;        // Of which took a vector from the cache or the old index.
  size_t chunks_removed = 0;       // Stale chunks of changed or removed documents.
  size_t documents_removed = 0;    // IngestDirectory: files no longer in the directory.
  size_t bytes = 0;                // Bytes of the documents committed.
  double seconds = 0;
  // IngestDirectory: "path: reason" for every path skipped: unreadable directory or file,
  // symbolic link loop, dangling link, link to a directory (not followed), not a regular file,
  // larger than max_file_bytes, binary (NUL bytes), not UTF-8 text, document id already taken by
  // a file of another folder.
  std::vector<std::string> errors;
};

struct IngestOptions {
  // Called after each committed group of documents (on the calling thread). Returning false
  // stops the ingest with kCancelled; the documents committed so far stay indexed, so calling
  // again resumes where it stopped.
  std::function<bool(const IngestProgress&)> progress;
  size_t group_chunks = 1024;  // Chunks embedded before the group's documents are committed.
};

struct DirectoryOptions {
  // File name endings indexed (case-sensitive). Empty: text, Markdown, reStructuredText and
  // common source files (see docs/rag.md), plus files without an extension (README, COPYING,
  // README.Debian) when they read as UTF-8 text.
  std::vector<std::string> extensions;
  size_t max_file_bytes = 16 << 20;  // Larger files are reported in `errors` and skipped.
  // Remove the documents of files under this directory that no longer exist.
  bool remove_missing = true;
};

struct RagPassage {
  int n = 0;  // 1-based number in the prompt ("[n]").
  std::string chunk_id;
  std::string doc_id;
  std::string path;
  size_t begin = 0;  // Byte offsets of the chunk in the document.
  size_t end = 0;
  // Code-point offsets of the chunk in the document (Python's str indices); -1 for indexes
  // written before llmkit recorded them.
  int64_t char_start = -1;
  int64_t char_end = -1;
  int line_start = 0;  // 1-based, inclusive.
  int line_end = 0;
  // 0.3 x the retriever's (fused) score + 0.7 x the document's BM25 score, each min-max
  // normalized over the candidates (docs/rag.md, "Retrieval"); in [0, 1], higher is better.
  double score = 0;
  std::string text;
  Json metadata;  // The chunk's whole metadata.
};

struct AnswerOptions {
  int k = 0;   // 0: RagOptions::k.
  Json where;  // Metadata filter (index.h syntax) on the chunks.
  // When set, the answer is streamed and this receives each piece of text as it arrives.
  std::function<void(std::string_view)> on_text;
};

struct RagAnswer {
  bool generated = false;  // False when no chat model is configured.
  // The model's answer; without a chat model, a sentence saying no answer was generated.
  std::string text;
  // The passages the answer cites by "[n]", in order of first citation. Without a chat model:
  // every retrieved passage.
  std::vector<RagPassage> citations;
  std::vector<RagPassage> context;  // Every retrieved passage, in prompt order.
  std::string prompt;               // The rendered user prompt.
  Usage usage;                      // The chat call's.
  std::string model;                // As the provider reported it.
};

struct RagStats {
  size_t documents = 0;
  size_t chunks = 0;
  std::string embedding_model;
  int dimensions = 0;  // 0 until the first embedding.
  // Documents in the latent semantic model (docs/rag.md, "Retrieval"); 0 when none is fitted
  // (fewer than 3 documents, or an index saved before llmkit fitted one, until an ingest).
  size_t latent_documents = 0;
};

class RagPipeline {
 public:
  // Errors: kInvalidArgument (chunk_overlap >= chunk_size, k < 1, batch or concurrency < 1, a
  // prompt template that does not compile, bad local embedder options); with a store that holds
  // chunks, its errors while reading them (`call` bounds that), and kDataLoss for chunks without
  // the pipeline's metadata.
  static absl::StatusOr<std::unique_ptr<RagPipeline>> Create(RagOptions options = {},
                                                             const CallContext& call = {});
  // Reads a pipeline written by Save, with `models` plugged in. Errors: kNotFound (not a saved
  // pipeline), kDataLoss (damaged files, naming them), kFailedPrecondition (the index was built
  // with another embedding model, or with an endpoint and `models.embedder` is null, or in a
  // remote store and `models.store` is null or of another kind).
  static absl::StatusOr<std::unique_ptr<RagPipeline>> Load(const std::string& dir,
                                                           RagModels models = {},
                                                           const CallContext& call = {});
  ~RagPipeline();
  RagPipeline(const RagPipeline&) = delete;
  RagPipeline& operator=(const RagPipeline&) = delete;

  // Indexes `documents`: unchanged ones (same text, metadata and path) are skipped; changed
  // ones replace their old chunks. Input is checked before any work (kInvalidArgument naming the
  // document: empty or repeated id, invalid UTF-8 with its byte offset, metadata that is not an
  // object or uses a reserved name). An embedding error stops the call; documents committed
  // before it stay.
  // `call` (call.h): its cancellation or deadline stops the ingest between documents and inside
  // the embedding of a group (kCancelled / kDeadlineExceeded naming how far it got); committed
  // documents stay, so calling again resumes.
  absl::StatusOr<IngestProgress> Ingest(absl::Span<const RagDocument> documents,
                                        const IngestOptions& options = {},
                                        const CallContext& call = {});
  // Indexes the files under `dir` (recursively, sorted; hidden files and directories skipped).
  // A document's id is its path relative to `dir`; its path is `dir`/id. A file whose id is
  // already held by a file of another folder is skipped, never overwritten (index both folders
  // from a common parent, or into two indexes). Every path skipped is listed in `errors` with
  // its reason. Errors: kNotFound (no such directory), kPermissionDenied (`dir` unreadable).
  absl::StatusOr<IngestProgress> IngestDirectory(const std::string& dir,
                                                 const DirectoryOptions& directory = {},
                                                 const IngestOptions& options = {},
                                                 const CallContext& call = {});
  // Removes these documents and their chunks; returns how many existed. Errors: the store's.
  absl::StatusOr<size_t> Remove(absl::Span<const std::string> doc_ids,
                                const CallContext& call = {});

  // The k best passages for `question` (k 0: RagOptions::k), numbered from 1.
  absl::StatusOr<std::vector<RagPassage>> Retrieve(std::string_view question, int k = 0,
                                                   const Json& where = Json(),
                                                   const CallContext& call = {}) const;
  // Retrieves, renders the prompt and, with a chat model, asks it (streaming when
  // options.on_text is set).
  // `call` goes to the embedding and chat calls (deadline, cancellation, tags, trace).
  absl::StatusOr<RagAnswer> Answer(std::string_view question, const AnswerOptions& options = {},
                                   const CallContext& call = {}) const;

  // Writes the pipeline under `dir`: rag.json (settings, and the kind of a remote store) and,
  // with the local store, collection/ (Collection::Save: chunks, vectors and metadata,
  // crash-safe). The BM25 index and document table are rebuilt from the store by Load. Holds
  // the directory's writer lock (see WriteLock) while it writes. Errors: as Collection::Save.
  absl::Status Save(const std::string& dir, const CallContext& call = {}) const;

  // The writer lock of a saved pipeline's directory, for a whole load-change-save update: two
  // processes updating one index each take it before Load and keep it until Save returns, so
  // neither loses the other's changes. Exclusive across processes (flock on dir/LOCK, released
  // when the holder exits or dies), re-entrant in the holding thread (Save inside it does not
  // wait). Waits for another writer until the call's deadline (30 s without one), then
  // kFailedPrecondition naming the holder's pid. Readers (Load, queries) never take it.
  class WriteLock {
   public:
    WriteLock(WriteLock&&) noexcept;
    WriteLock& operator=(WriteLock&&) noexcept;
    ~WriteLock();
    struct Held;

   private:
    friend class RagPipeline;
    explicit WriteLock(std::unique_ptr<Held> held);
    std::unique_ptr<Held> held_;
  };
  static absl::StatusOr<WriteLock> LockForWriting(const std::string& dir,
                                                  const CallContext& call = {});

  RagStats Stats() const;
  EmbeddingCacheStats CacheStats() const;
  const RagOptions& options() const;

  class Impl;

 private:
  explicit RagPipeline(std::unique_ptr<Impl> impl);
  // The operations below their spans (Retrieve, Answer and IngestDirectory open one each).
  absl::StatusOr<std::vector<RagPassage>> RetrieveUnder(std::string_view question, int k,
                                                        const Json& where,
                                                        const CallContext& call) const;
  absl::StatusOr<RagAnswer> AnswerUnder(std::string_view question, const AnswerOptions& options,
                                        const CallContext& call) const;
  absl::StatusOr<IngestProgress> IngestDirectoryUnder(const std::string& dir,
                                                      const DirectoryOptions& directory,
                                                      const IngestOptions& options,
                                                      const CallContext& call);
  std::unique_ptr<Impl> impl_;
};

// How the pipeline cuts one document, as Ingest stores it: the splitter chosen by the path's
// ending ("markdown", a language preset such as "python", or "text"), and each chunk with its
// byte offsets and 1-based line range. `llmkit chunk` prints this.
struct DocumentChunk {
  Chunk chunk;  // text, begin, end (bytes), metadata (Markdown headings)
  int line_start = 0;
  int line_end = 0;
};
struct DocumentChunks {
  std::string splitter;
  std::vector<DocumentChunk> chunks;
};
// Errors: kInvalidArgument (chunk_overlap >= chunk_size, chunk_size < 1, invalid UTF-8).
absl::StatusOr<DocumentChunks> SplitDocument(std::string_view path, std::string_view text,
                                             size_t chunk_size, size_t chunk_overlap);

// The passage as a JSON object with n, score, doc_id, path, line_start, line_end, begin, end
// and text: an item of the prompt template's `passages`, and of `llmkit query --json`.
Json PassageToJson(const RagPassage& passage);

// The "[n]" numbers cited in `answer` ("[1]", "[2][3]", "[1, 4]"), each once, in order of first
// appearance, keeping only 1 <= n <= passages.
std::vector<int> CitedNumbers(std::string_view answer, int passages);

}  // namespace llmkit

#endif  // LLMKIT_RAG_H_
