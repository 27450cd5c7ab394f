// RagPipeline's state, shared by the pipeline (rag_pipeline.cc), its ingest (rag_ingest.cc),
// its chunking and file handling (rag_documents.cc) and its persistence (rag_store.cc).

#ifndef LLMKIT_SRC_RAG_RAG_IMPL_H_
#define LLMKIT_SRC_RAG_RAG_IMPL_H_

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/bm25.h"
#include "llmkit/chunker.h"
#include "llmkit/index.h"
#include "llmkit/rag.h"
#include "llmkit/template.h"
#include "rag/latent_model.h"

namespace llmkit {
namespace internal {

// Splits documents with the splitter their path calls for (see rag.h). Immutable; thread-safe.
class DocumentSplitter {
 public:
  static absl::StatusOr<DocumentSplitter> Create(size_t chunk_size, size_t chunk_overlap);
  absl::StatusOr<std::vector<Chunk>> Split(std::string_view path, std::string_view text) const;

 private:
  std::shared_ptr<const MarkdownSplitter> markdown_;
  std::shared_ptr<const RecursiveCharacterSplitter> plain_;
  absl::flat_hash_map<std::string, std::shared_ptr<const RecursiveCharacterSplitter>> languages_;
};

// The language llmkit's splitters know for this file name ("markdown", "rst", "python", ...),
// or "" for plain text.
std::string LanguageForPath(std::string_view path);

// The file name endings IngestDirectory reads by default.
const std::vector<std::string>& DefaultExtensions();

// 1-based line of each chunk's first and last byte in `text`, and the code-point offset of a
// byte offset (Python's str index, for the bindings).
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  int LineOf(size_t offset) const;  // 1 + newlines before `offset`.
  // Code points before byte `offset` (a UTF-8 boundary of valid text).
  size_t CodePointsBefore(size_t offset) const;

 private:
  static constexpr size_t kBlock = 4096;
  std::string_view text_;
  std::vector<size_t> newlines_;
  std::vector<size_t> block_code_points_;  // Code points before each kBlock-byte block.
};

// Names the pipeline writes into every chunk's metadata; documents may not use them.
bool IsReservedMetadataKey(std::string_view key);

// The id of chunk `chunk` of document `doc_id` in the collection and BM25 index ("id#3").
std::string ChunkId(std::string_view doc_id, size_t chunk);

// A document's text again from its chunks (byte offset `begin` and text, in order): each chunk
// adds what lies past the previous one's end, so overlaps count once. Text between chunks that
// no chunk holds (whitespace the splitter dropped) becomes one space.
struct ChunkText {
  size_t begin = 0;
  std::string_view text;
};
std::string JoinChunks(absl::Span<const ChunkText> chunks);

}  // namespace internal

struct RagDocRecord {
  std::string path;
  std::string sha256;  // Of path, metadata and text.
  size_t chunks = 0;
};

class RagPipeline::Impl {
 public:
  RagOptions options;
  // How the index's vectors were made: the local embedder's name, or the embedding model's.
  std::string embedder_name;
  bool local_embedder = true;
  std::shared_ptr<CachedEmbeddingModel> embedder;
  std::unique_ptr<internal::DocumentSplitter> splitter;
  std::unique_ptr<Template> prompt;

  std::mutex write_mu;           // Serializes Ingest/Remove.
  mutable std::shared_mutex mu;  // Guards the state below: readers shared, commits unique.
  int dimensions = 0;            // 0 until the first embedding.
  // The chunks' store: options.store, or a local Collection created on the first embedding.
  std::shared_ptr<VectorStore> store;
  Collection* local = nullptr;          // The store when it is the local Collection (for Save).
  std::unique_ptr<Bm25Index> bm25;      // Chunks, by chunk id.
  std::unique_ptr<Bm25Index> doc_bm25;  // Whole documents, by document id (see Retrieve).
  // The documents' latent semantic model (see Retrieve); null until fitted, and for a corpus
  // too small to fit one.
  std::unique_ptr<internal::LatentModel> latent;
  absl::flat_hash_map<std::string, RagDocRecord> docs;

  // Options checked, models and splitter and template built (collection not created).
  static absl::StatusOr<std::unique_ptr<Impl>> Build(RagOptions options, bool local,
                                                     std::string embedder_name);
  // Embeds `texts` in batches on up to embed_concurrency threads, under `call`.
  absl::StatusOr<std::vector<float>> EmbedAll(const std::vector<std::string>& texts,
                                              int* dimensions, const CallContext& call) const;
  // RagPipeline::Ingest (rag_ingest.cc): takes write_mu for the whole call.
  absl::StatusOr<IngestProgress> Ingest(absl::Span<const RagDocument> documents,
                                        const IngestOptions& ingest, const CallContext& call);
  // The same for documents produced one at a time: `source` calls the sink with each (which
  // checks it, and keeps what it needs: the document may be freed after the call) and returns
  // the sink's first error. `total` is the progress's documents_total.
  using DocumentSink = std::function<absl::Status(const RagDocument&)>;
  absl::StatusOr<IngestProgress> IngestStream(
      size_t total, const std::function<absl::Status(const DocumentSink&)>& source,
      const IngestOptions& ingest, const CallContext& call);
  // Creates the local collection for `dims` on first use; checks dims against the store after.
  // Holds mu.
  absl::Status EnsureStore(int dims);
  // Fits the latent model again when there is none or it is stale (LatentModel::Stale), from
  // the documents' texts rebuilt from their chunks; the fit runs outside mu and replaces the
  // model under it. Call with write_mu held (at the end of an ingest).
  absl::Status RefreshLatent(const CallContext& call);
  // Reads every chunk of `store` (text and metadata) and rebuilds the document table and both
  // BM25 indexes from them (Load, and Create with a store that holds chunks). `label` names
  // the store in errors.
  absl::Status RebuildFromStore(const std::string& label, const CallContext& call);
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_RAG_RAG_IMPL_H_
