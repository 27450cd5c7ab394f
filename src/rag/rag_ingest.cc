// RagPipeline ingest: check every document, skip unchanged ones, split changed ones, then in
// groups embed (reusing the vectors of chunks whose text did not change) and commit, so that a
// stopped ingest keeps what it committed and the next call resumes.

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

}  // namespace internal
namespace {

using Clock = std::chrono::steady_clock;
using internal::ChunkId;

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
              "\" is reserved (the pipeline sets doc_id, path, chunk, begin, end, line_start, "
              "line_end, doc_sha256)"));
        }
      }
    }
  }
  return absl::OkStatus();
}

// A changed or new document, split and waiting for its vectors.
struct Pending {
  const RagDocument* doc;
  std::string path;
  std::string sha256;
  size_t old_chunks = 0;
  std::vector<Chunk> chunks;
  std::vector<Json> metadata;
  std::vector<std::vector<float>> vectors;  // Filled from the old index or the embedder.
};

// One Ingest call: documents are added one by one into a group that is embedded and committed
// once it holds IngestOptions::group_chunks chunks, and at the end. Holds no lock between calls.
class IngestRun {
 public:
  IngestRun(RagPipeline::Impl& impl, const IngestOptions& ingest, const CallContext& call,
            size_t documents)
      : impl_(impl), ingest_(ingest), call_(call), start_(Clock::now()) {
    progress_.documents_total = documents;
  }

  // Skips `doc` when unchanged; else splits it into the group, committing a full group.
  absl::Status Add(const RagDocument& doc) {
    LLMKIT_RETURN_IF_ERROR(Stopped());
    Pending pending;
    pending.doc = &doc;
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
    pending.metadata = ChunkMetadata(doc, pending);
    group_chunks_ += pending.chunks.size();
    group_.push_back(std::move(pending));
    if (group_chunks_ >= ingest_.group_chunks) return CommitOrStopped();
    return absl::OkStatus();
  }

  // Commits the last group; the progress of the whole call.
  absl::StatusOr<IngestProgress> Finish() {
    LLMKIT_RETURN_IF_ERROR(Stopped());
    LLMKIT_RETURN_IF_ERROR(CommitOrStopped());
    progress_.seconds = Seconds();
    return progress_;
  }

 private:
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

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

  // The metadata of each chunk: where it sits in the document, then the document's own fields.
  static std::vector<Json> ChunkMetadata(const RagDocument& doc, const Pending& pending) {
    std::vector<Json> out;
    out.reserve(pending.chunks.size());
    const internal::LineIndex lines(doc.text);
    for (size_t c = 0; c < pending.chunks.size(); ++c) {
      const Chunk& chunk = pending.chunks[c];
      Json meta = Json::MakeObject();
      meta.Set("doc_id", doc.id);
      meta.Set("path", pending.path);
      meta.Set("chunk", c);
      meta.Set("begin", chunk.begin);
      meta.Set("end", chunk.end);
      meta.Set("line_start", lines.LineOf(chunk.begin));
      meta.Set("line_end", lines.LineOf(chunk.end - 1));
      // Code-point offsets: Python's str indices into the document.
      meta.Set("char_start", lines.CodePointsBefore(chunk.begin));
      meta.Set("char_end", lines.CodePointsBefore(chunk.end));
      meta.Set("doc_sha256", pending.sha256);
      if (doc.metadata.is_object()) {
        for (const auto& [key, value] : doc.metadata.as_object()) meta.Set(key, value);
      }
      if (const Json* headings = chunk.metadata.Find("headings");
          headings != nullptr && meta.Find("headings") == nullptr) {
        meta.Set("headings", *headings);
      }
      out.push_back(std::move(meta));
    }
    return out;
  }

  // Fills every pending chunk's vector: from the old index when its text is unchanged, else
  // from the embedder. Sets *dims.
  absl::Status EmbedGroup(int* dims) {
    std::vector<std::string> to_embed;
    std::vector<std::pair<size_t, size_t>> slots;  // (pending, chunk) of each text to embed.
    for (size_t p = 0; p < group_.size(); ++p) {
      Pending& pending = group_[p];
      pending.vectors.resize(pending.chunks.size());
      absl::flat_hash_map<std::string, std::vector<float>> old;
      if (pending.old_chunks > 0) {
        std::shared_lock lock(impl_.mu);
        for (size_t c = 0; c < pending.old_chunks && impl_.collection != nullptr; ++c) {
          absl::StatusOr<Document> d = impl_.collection->Get(ChunkId(pending.doc->id, c));
          if (d.ok()) old.emplace(std::move(d->text), std::move(d->vector));
        }
      }
      for (size_t c = 0; c < pending.chunks.size(); ++c) {
        auto it = old.find(pending.chunks[c].text);
        if (it != old.end()) {
          pending.vectors[c] = it->second;
          ++progress_.chunks_reused;
          continue;
        }
        to_embed.push_back(pending.chunks[c].text);
        slots.emplace_back(p, c);
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
      group_[slots[i].first].vectors[slots[i].second].assign(row, row + *dims);
    }
    return absl::OkStatus();
  }

  // Embeds the group, then writes its chunks, deletes chunks past a document's new end, and
  // records the documents, all under one unique lock.
  absl::Status Commit() {
    if (group_.empty()) return absl::OkStatus();
    int dims = 0;
    LLMKIT_RETURN_IF_ERROR(EmbedGroup(&dims));
    std::vector<Document> chunk_docs;
    std::vector<std::string> ids, texts, stale;
    for (Pending& pending : group_) {
      for (size_t c = 0; c < pending.chunks.size(); ++c) {
        Document d;
        d.id = ChunkId(pending.doc->id, c);
        d.text = pending.chunks[c].text;
        d.metadata = std::move(pending.metadata[c]);
        d.vector = std::move(pending.vectors[c]);
        ids.push_back(d.id);
        texts.push_back(d.text);
        chunk_docs.push_back(std::move(d));
      }
      for (size_t c = pending.chunks.size(); c < pending.old_chunks; ++c) {
        stale.push_back(ChunkId(pending.doc->id, c));
      }
    }
    {
      std::unique_lock lock(impl_.mu);
      if (!chunk_docs.empty()) {
        LLMKIT_RETURN_IF_ERROR(impl_.EnsureCollection(dims));
        LLMKIT_RETURN_IF_ERROR(impl_.collection->Upsert(chunk_docs));
        LLMKIT_RETURN_IF_ERROR(impl_.bm25->Upsert(ids, texts));
      }
      if (!stale.empty() && impl_.collection != nullptr) {
        impl_.collection->Delete(stale);
        impl_.bm25->Delete(stale);
      }
      for (const Pending& pending : group_) {
        impl_.docs[pending.doc->id] = {pending.path, pending.sha256, pending.chunks.size()};
        progress_.bytes += pending.doc->text.size();
      }
    }
    progress_.chunks += chunk_docs.size();
    progress_.chunks_removed += stale.size();
    progress_.documents_done += group_.size();
    progress_.seconds = Seconds();
    group_.clear();
    group_chunks_ = 0;
    if (ingest_.progress && !ingest_.progress(progress_)) {
      return absl::CancelledError(absl::StrCat("ingest stopped by the progress callback after ",
                                               progress_.documents_done, " of ",
                                               progress_.documents_total, " documents"));
    }
    return absl::OkStatus();
  }

  // The call's end (cancelled or past its deadline), saying how far the ingest got; the groups
  // committed so far stay, so calling again resumes.
  absl::Status Stopped() const {
    absl::Status status = call_.Check("ingest", Clock::now());
    if (status.ok()) return status;
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " after ", progress_.documents_done, " of ",
                                     progress_.documents_total, " documents"));
  }

  // A group whose embedding the call's end interrupted reports how far the ingest got.
  absl::Status CommitOrStopped() {
    absl::Status status = Commit();
    if (!status.ok() && !call_.Check("ingest").ok()) return Stopped();
    return status;
  }

  RagPipeline::Impl& impl_;
  const IngestOptions& ingest_;
  const CallContext& call_;
  const Clock::time_point start_;
  IngestProgress progress_;
  std::vector<Pending> group_;
  size_t group_chunks_ = 0;
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
  return run.Finish();
}

}  // namespace llmkit
