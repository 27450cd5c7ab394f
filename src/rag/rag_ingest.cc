// RagPipeline ingest: check every document, skip unchanged ones, split changed ones, then in
// groups embed (reusing the vectors of chunks whose text did not change) and commit, so that a
// stopped ingest keeps what it committed and the next call resumes.

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/sha256.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"
#include "rag/rag_impl.h"

namespace llmkit {
namespace internal {

std::string ChunkId(std::string_view doc_id, size_t chunk) {
  return absl::StrCat(internal::ToAbsl(doc_id), "#", chunk);
}

std::string JoinChunks(absl::Span<const ChunkText> chunks) {
  std::string text;
  size_t end = 0;  // Of the text joined so far, in the document's bytes.
  for (const ChunkText& chunk : chunks) {
    if (chunk.begin > end && !text.empty()) text += ' ';
    const size_t skip = chunk.begin < end ? std::min(end - chunk.begin, chunk.text.size()) : 0;
    text.append(chunk.text.substr(skip));
    end = std::max(end, chunk.begin + chunk.text.size());
  }
  return text;
}

}  // namespace internal
namespace {

using Clock = std::chrono::steady_clock;
using internal::ChunkId;
using internal::ChunkText;
using internal::JoinChunks;

std::string PathOf(const RagDocument& doc) { return doc.path.empty() ? doc.id : doc.path; }

// Checks every document before any work, so a bad batch changes nothing.
absl::Status CheckDocuments(absl::Span<const RagDocument> documents) {
  absl::flat_hash_set<std::string_view> seen;
  for (size_t i = 0; i < documents.size(); ++i) {
    const RagDocument& doc = documents[i];
    if (doc.id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("document ", i, ": empty id"));
    }
    if (!seen.insert(doc.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("document ", i, ": repeated id \"", doc.id, "\""));
    }
    if (absl::Status utf8 = ValidateUtf8(doc.text); !utf8.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("document \"", doc.id, "\": ", utf8.message()));
    }
    if (!doc.metadata.is_null() && !doc.metadata.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("document \"", doc.id, "\": metadata must be an object or null"));
    }
    if (std::optional<std::string> at = FindNonFinite(doc.metadata)) {
      return absl::InvalidArgumentError(
          absl::StrCat("document \"", doc.id, "\": the metadata number at ", *at,
                       " is not finite (NaN and infinities cannot be stored)"));
    }
    if (doc.metadata.is_object()) {
      for (const auto& [key, value] : doc.metadata.as_object()) {
        if (internal::IsReservedMetadataKey(key)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "document \"", doc.id, "\": metadata field \"", key,
              "\" is reserved (the pipeline sets doc_id, path, chunk, doc_chunks, begin, end, "
              "line_start, line_end, char_start, char_end, doc_sha256)"));
        }
      }
    }
  }
  return absl::OkStatus();
}

// Where a chunk sits in its document (computed while the document's text is at hand).
struct ChunkPlace {
  int line_start;
  int line_end;
  size_t char_start;
  size_t char_end;
};

// A changed or new document, split and waiting to be embedded and written. It holds what the
// commits need, not the document: a caller streaming documents may free each after Add.
struct Pending {
  std::string id;
  std::string path;
  std::string sha256;
  Json metadata;  // The document's own fields (an object, or null).
  size_t bytes = 0;
  size_t old_chunks = 0;  // Chunk ids of the document's previous version: 0 .. old_chunks-1.
  std::vector<Chunk> chunks;
  std::vector<ChunkPlace> places;
  size_t written = 0;  // Chunks committed so far.
};

// One Ingest call: documents are added one by one and committed in slices of
// IngestOptions::group_chunks chunks, so memory stays proportional to a slice however large a
// document is; a document larger than a slice is written over several commits and recorded as
// indexed with its last one. Holds no lock between calls.
class IngestRun {
 public:
  IngestRun(RagPipeline::Impl& impl, const IngestOptions& ingest, const CallContext& call,
            size_t documents)
      : impl_(impl), ingest_(ingest), call_(call), start_(Clock::now()) {
    progress_.documents_total = documents;
  }

  // Skips `doc` when unchanged; else splits it into the group, committing full slices.
  absl::Status Add(const RagDocument& doc) {
    LLMKIT_RETURN_IF_ERROR(Stopped());
    Pending pending;
    pending.id = doc.id;
    pending.path = PathOf(doc);
    pending.sha256 = internal::Sha256Hex(absl::StrCat(pending.path, absl::string_view("\0", 1),
                                                      doc.metadata.Dump(),
                                                      absl::string_view("\0", 1), doc.text));
    {
      std::shared_lock lock(impl_.mu);
      auto it = impl_.docs.find(doc.id);
      if (it != impl_.docs.end()) {
        if (it->second.sha256 == pending.sha256) return Unchanged();
        pending.old_chunks = it->second.chunks;
      }
    }
    LLMKIT_ASSIGN_OR_RETURN(pending.chunks, impl_.splitter->Split(pending.path, doc.text));
    LLMKIT_RETURN_IF_ERROR(Stopped());
    const internal::LineIndex lines(doc.text);
    pending.places.reserve(pending.chunks.size());
    for (const Chunk& chunk : pending.chunks) {
      pending.places.push_back({lines.LineOf(chunk.begin), lines.LineOf(chunk.end - 1),
                                lines.CodePointsBefore(chunk.begin),
                                lines.CodePointsBefore(chunk.end)});
    }
    pending.metadata = doc.metadata;
    pending.bytes = doc.text.size();
    waiting_ += pending.chunks.size();
    group_.push_back(std::move(pending));
    return CommitOrStopped(/*all=*/false);
  }

  // Commits what is left; the progress of the whole call.
  absl::StatusOr<IngestProgress> Finish() {
    LLMKIT_RETURN_IF_ERROR(Stopped());
    LLMKIT_RETURN_IF_ERROR(CommitOrStopped(/*all=*/true));
    progress_.seconds = Seconds();
    return progress_;
  }

  // Since the run began.
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  // Chunks of one pending document in a slice: [begin, end).
  struct Part {
    size_t pending;
    size_t begin;
    size_t end;
  };

  absl::Status Unchanged() {
    ++progress_.documents_unchanged;
    ++progress_.documents_done;
    if (++unchanged_since_report_ == 256 && ingest_.progress) {
      unchanged_since_report_ = 0;
      progress_.seconds = Seconds();
      if (!ingest_.progress(progress_)) return absl::CancelledError("ingest stopped");
    }
    return absl::OkStatus();
  }

  // The metadata of chunk `c`: where it sits in the document, then the document's own fields.
  static Json ChunkMetadata(const Pending& pending, size_t c) {
    const Chunk& chunk = pending.chunks[c];
    const ChunkPlace& place = pending.places[c];
    Json meta = Json::MakeObject();
    meta.Set("doc_id", pending.id);
    meta.Set("path", pending.path);
    meta.Set("chunk", c);
    meta.Set("doc_chunks", pending.chunks.size());
    meta.Set("begin", chunk.begin);
    meta.Set("end", chunk.end);
    meta.Set("line_start", place.line_start);
    meta.Set("line_end", place.line_end);
    // Code-point offsets: Python's str indices into the document.
    meta.Set("char_start", place.char_start);
    meta.Set("char_end", place.char_end);
    meta.Set("doc_sha256", pending.sha256);
    if (pending.metadata.is_object()) {
      for (const auto& [key, value] : pending.metadata.as_object()) meta.Set(key, value);
    }
    if (const Json* headings = chunk.metadata.Find("headings");
        headings != nullptr && meta.Find("headings") == nullptr) {
      meta.Set("headings", *headings);
    }
    return meta;
  }

  // The vectors of `slice`'s chunks: from the old index when a chunk's text is unchanged (old
  // chunks near the same position are looked at), else from the embedder. Sets *dims.
  absl::StatusOr<std::vector<std::vector<float>>> EmbedSlice(const std::vector<Part>& slice,
                                                             int* dims) {
    std::vector<std::vector<float>> out;
    std::vector<std::string> to_embed;
    std::vector<size_t> slots;  // Index in `out` of each text to embed.
    for (const Part& part : slice) {
      const Pending& pending = group_[part.pending];
      absl::flat_hash_map<std::string, std::vector<float>> old;
      if (pending.old_chunks > 0) {
        constexpr size_t kShift = 64;  // Edits move a chunk's index by a few places at most.
        const size_t from = part.begin > kShift ? part.begin - kShift : 0;
        const size_t to = std::min(pending.old_chunks, part.end + kShift);
        std::shared_lock lock(impl_.mu);
        if (impl_.store != nullptr) {
          std::vector<std::string> ids;
          for (size_t c = from; c < to; ++c) ids.push_back(ChunkId(pending.id, c));
          GetOptions get;
          get.include_metadata = false;
          get.include_vectors = true;
          LLMKIT_ASSIGN_OR_RETURN(std::vector<Document> found, impl_.store->Get(ids, get, call_));
          for (Document& d : found) old.emplace(std::move(d.text), std::move(d.vector));
        }
      }
      for (size_t c = part.begin; c < part.end; ++c) {
        auto it = old.find(pending.chunks[c].text);
        if (it != old.end()) {
          out.push_back(it->second);
          ++progress_.chunks_reused;
          continue;
        }
        slots.push_back(out.size());
        out.emplace_back();
        to_embed.push_back(pending.chunks[c].text);
      }
    }
    const EmbeddingCacheStats before = impl_.embedder->Stats();
    {
      std::shared_lock lock(impl_.mu);
      *dims = impl_.dimensions;
    }
    LLMKIT_ASSIGN_OR_RETURN(std::vector<float> vectors, impl_.EmbedAll(to_embed, dims, call_));
    const EmbeddingCacheStats after = impl_.embedder->Stats();
    progress_.chunks_embedded += after.misses - before.misses;
    progress_.chunks_reused += after.hits - before.hits;
    for (size_t i = 0; i < slots.size(); ++i) {
      const float* row = vectors.data() + i * *dims;
      out[slots[i]].assign(row, row + *dims);
    }
    return out;
  }

  // Commits slices of up to group_chunks chunks while a full one is waiting (or, with `all`,
  // until nothing is). Each slice is embedded, then written under one unique lock: its chunks,
  // the stale chunks of documents it completes, and the records of those documents.
  absl::Status Commit(bool all) {
    const size_t limit = std::max<size_t>(1, ingest_.group_chunks);
    while (!group_.empty() && (all || waiting_ >= limit)) {
      std::vector<Part> slice;
      size_t taken = 0;
      for (size_t p = 0; p < group_.size() && taken < limit; ++p) {
        const Pending& pending = group_[p];
        const size_t left = pending.chunks.size() - pending.written;
        // A document that fits in a slice is never cut: searches see all of it or none.
        if (taken > 0 && left > limit - taken && left <= limit) break;
        const size_t n = std::min(left, limit - taken);
        slice.push_back({p, pending.written, pending.written + n});
        taken += n;
      }
      int dims = 0;
      LLMKIT_ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, EmbedSlice(slice, &dims));
      std::vector<Document> chunk_docs;
      std::vector<std::string> ids, texts, stale;
      chunk_docs.reserve(taken);
      size_t v = 0;
      for (const Part& part : slice) {
        const Pending& pending = group_[part.pending];
        for (size_t c = part.begin; c < part.end; ++c) {
          Document d;
          d.id = ChunkId(pending.id, c);
          d.text = pending.chunks[c].text;
          d.metadata = ChunkMetadata(pending, c);
          d.vector = std::move(vectors[v++]);
          ids.push_back(d.id);
          texts.push_back(d.text);
          chunk_docs.push_back(std::move(d));
        }
        if (part.end == pending.chunks.size()) {
          for (size_t c = pending.chunks.size(); c < pending.old_chunks; ++c) {
            stale.push_back(ChunkId(pending.id, c));
          }
        }
      }
      // The documents this slice completes, whole, for the document index.
      std::vector<std::string> done_ids, done_texts;
      for (const Part& part : slice) {
        const Pending& pending = group_[part.pending];
        if (part.end != pending.chunks.size()) continue;
        std::vector<ChunkText> pieces;
        pieces.reserve(pending.chunks.size());
        for (const Chunk& chunk : pending.chunks) pieces.push_back({chunk.begin, chunk.text});
        done_ids.push_back(pending.id);
        done_texts.push_back(JoinChunks(pieces));
      }
      // Their terms, for the latent model (only writers replace it, and this is the writer).
      std::vector<internal::TermCounts> done_terms;
      if (impl_.latent != nullptr) {
        done_terms.reserve(done_texts.size());
        for (const std::string& text : done_texts) {
          done_terms.push_back(
              internal::CountTerms(impl_.doc_bm25->Analyze(internal::LatentText(text))));
        }
      }
      size_t completed = 0;
      {
        std::unique_lock lock(impl_.mu);
        // The store first: a remote one may fail (nothing local has changed then). The local
        // store's writes are in memory and never stopped halfway by the call.
        if (!chunk_docs.empty()) LLMKIT_RETURN_IF_ERROR(impl_.EnsureStore(dims));
        const CallContext unstoppable;
        const CallContext& commit = impl_.local != nullptr ? unstoppable : call_;
        if (!chunk_docs.empty()) LLMKIT_RETURN_IF_ERROR(impl_.store->Upsert(chunk_docs, commit));
        if (!stale.empty() && impl_.store != nullptr) {
          LLMKIT_RETURN_IF_ERROR(impl_.store->Delete(stale, commit).status());
        }
        LLMKIT_RETURN_IF_ERROR(impl_.doc_bm25->Upsert(done_ids, done_texts));
        // Folded in; a model that cannot take them is fitted again at the end.
        if (impl_.latent != nullptr && !impl_.latent->Upsert(done_ids, done_terms).ok()) {
          impl_.latent.reset();
        }
        if (!chunk_docs.empty()) LLMKIT_RETURN_IF_ERROR(impl_.bm25->Upsert(ids, texts));
        if (!stale.empty()) impl_.bm25->Delete(stale);
        for (const Part& part : slice) {
          Pending& pending = group_[part.pending];
          pending.written = part.end;
          if (pending.written == pending.chunks.size()) {
            impl_.docs[pending.id] = {pending.path, pending.sha256, pending.chunks.size()};
            progress_.bytes += pending.bytes;
            ++completed;
          } else {
            // Part written: not yet indexed (an empty hash never matches), and every chunk id
            // either version may have used stays known so that a later ingest removes it.
            impl_.docs[pending.id] = {pending.path, "", std::max(pending.old_chunks, part.end)};
          }
        }
      }
      group_.erase(group_.begin(), group_.begin() + static_cast<std::ptrdiff_t>(completed));
      waiting_ -= taken;
      progress_.chunks += chunk_docs.size();
      progress_.chunks_removed += stale.size();
      progress_.documents_done += completed;
      progress_.seconds = Seconds();
      if (ingest_.progress && !ingest_.progress(progress_)) {
        return absl::CancelledError(absl::StrCat("ingest stopped by the progress callback after ",
                                                 progress_.documents_done, " of ",
                                                 progress_.documents_total, " documents"));
      }
      LLMKIT_RETURN_IF_ERROR(Stopped());
    }
    return absl::OkStatus();
  }

  // The call's end (cancelled or past its deadline), saying how far the ingest got; the slices
  // committed so far stay, so calling again resumes.
  absl::Status Stopped() const {
    absl::Status status = call_.Check("ingest", Clock::now());
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " after ", progress_.documents_done, " of ",
                                     progress_.documents_total, " documents"));
  }

  // A slice whose embedding the call's end interrupted reports how far the ingest got.
  absl::Status CommitOrStopped(bool all) {
    absl::Status status = Commit(all);
    if (!status.ok() && !call_.Check("ingest").ok()) return Stopped();
    return status;
  }

  RagPipeline::Impl& impl_;
  const IngestOptions& ingest_;
  const CallContext& call_;
  const Clock::time_point start_;
  IngestProgress progress_;
  std::vector<Pending> group_;  // Documents not fully written yet, in order.
  size_t waiting_ = 0;          // Their chunks not written yet.
  size_t unchanged_since_report_ = 0;
};

}  // namespace

absl::StatusOr<IngestProgress> RagPipeline::Impl::Ingest(absl::Span<const RagDocument> documents,
                                                         const IngestOptions& ingest,
                                                         const CallContext& call) {
  LLMKIT_RETURN_IF_ERROR(CheckDocuments(documents));
  std::lock_guard<std::mutex> writer(write_mu);
  IngestRun run(*this, ingest, call, documents.size());
  for (const RagDocument& doc : documents) LLMKIT_RETURN_IF_ERROR(run.Add(doc));
  LLMKIT_ASSIGN_OR_RETURN(IngestProgress progress, run.Finish());
  LLMKIT_RETURN_IF_ERROR(RefreshLatent(call));
  progress.seconds = run.Seconds();  // The latent model's fit included.
  return progress;
}

absl::StatusOr<IngestProgress> RagPipeline::Impl::IngestStream(
    size_t total, const std::function<absl::Status(const DocumentSink&)>& source,
    const IngestOptions& ingest, const CallContext& call) {
  std::lock_guard<std::mutex> writer(write_mu);
  IngestRun run(*this, ingest, call, total);
  LLMKIT_RETURN_IF_ERROR(source([&](const RagDocument& doc) -> absl::Status {
    LLMKIT_RETURN_IF_ERROR(CheckDocuments(absl::MakeConstSpan(&doc, 1)));
    return run.Add(doc);
  }));
  LLMKIT_ASSIGN_OR_RETURN(IngestProgress progress, run.Finish());
  LLMKIT_RETURN_IF_ERROR(RefreshLatent(call));
  progress.seconds = run.Seconds();  // The latent model's fit included.
  return progress;
}

}  // namespace llmkit
