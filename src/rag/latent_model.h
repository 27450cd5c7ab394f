// A latent semantic model of a RAG pipeline's documents (docs/rag.md, "Retrieval"): log-TF x
// IDF rows of whole documents, L2-normalized, reduced to 256 dimensions by a randomized SVD
// fitted on the user's own corpus. A question scores every document by its cosine in that
// space, which finds documents sharing the question's topic though not its words.
//
// The model is a term table (LatentTerms: each analyzed term's IDF times its row of V) and a
// local collection of the documents (id = document id, vector = the projection of its text,
// unit length). Documents written after the fit are projected with the fitted terms ("folded
// in"); the pipeline fits again when a tenth of the documents changed since (Stale).
//
// Not thread-safe for writers; const methods may run beside each other (the pipeline's lock
// orders them against writers).

#ifndef LLMKIT_SRC_RAG_LATENT_MODEL_H_
#define LLMKIT_SRC_RAG_LATENT_MODEL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/index.h"
#include "rag/latent_terms.h"

namespace llmkit::internal {

// A text's analyzed terms with their counts.
using TermCounts = absl::flat_hash_map<std::string, uint32_t>;
TermCounts CountTerms(absl::Span<const std::string> terms);

// What of a document's text the model reads: its first LatentModel::kMaxText bytes, cut on a
// character boundary.
std::string_view LatentText(std::string_view text);

class LatentModel {
 public:
  static constexpr int kDimensions = 256;
  // Past this many terms the rarest are left out (the fit holds terms x 512 doubles).
  static constexpr size_t kMaxTerms = 40'000;
  // A fit reads at most this many documents (a deterministic sample by id hash); the rest are
  // folded in.
  static constexpr size_t kMaxFitDocuments = 20'000;
  // Of a longer document, the model reads the first this many bytes (its topic is there, and
  // a huge file's every word would only cost memory).
  static constexpr size_t kMaxText = 1 << 20;

  // Fits on documents: ids and their terms (as Bm25Index::Analyze gives them, counted). Null when
  // the corpus is too small to give a latent space (under 3 documents or 3 terms): retrieval then
  // goes without it.
  static absl::StatusOr<std::unique_ptr<LatentModel>> Fit(absl::Span<const std::string> ids,
                                                          absl::Span<const TermCounts> terms);
  // A model loaded from a save (see Save). Errors: those of LatentTerms::Open and
  // Collection::Load; kDataLoss when their dimensions differ.
  static absl::StatusOr<std::unique_ptr<LatentModel>> Open(const std::string& terms_path,
                                                           const std::string& documents_dir);

  // Adds or replaces documents, projected with the fitted terms.
  absl::Status Upsert(absl::Span<const std::string> ids, absl::Span<const TermCounts> terms);
  void Delete(absl::Span<const std::string> ids);
  // True when the documents written or deleted since the fit are a tenth of those fitted.
  bool Stale() const { return changed_ * 10 > fitted_; }

  // The `k` documents most similar to `terms` (a question's analyzed terms) with their cosine,
  // best first; empty when no term is known. Errors: kDataLoss when an opened model's files
  // fail their checks (a row of the term table, Collection::Verify), as Upsert.
  absl::StatusOr<std::vector<SearchHit>> Search(absl::Span<const std::string> terms, int k) const;

  // Saves the term table to a file and the documents' collection to a directory.
  // TermsDigest names the table's content (the pipeline names its file by it); DocumentsState
  // the collection's save (Collection::SavedState).
  absl::Status Save(const std::string& terms_path, const std::string& documents_dir) const;
  std::string_view TermsDigest() const { return terms_->digest(); }
  std::string DocumentsState() const { return documents_->SavedState(); }
  size_t Documents() const { return documents_->Size(); }

 private:
  LatentModel(std::unique_ptr<LatentTerms> terms, std::unique_ptr<Collection> documents,
              size_t fitted);
  // The unit-length projection of analyzed terms; empty when none is known. Errors: kDataLoss
  // for a damaged row of the term table.
  absl::StatusOr<std::vector<float>> Project(const TermCounts& terms) const;

  std::unique_ptr<LatentTerms> terms_;
  std::unique_ptr<Collection> documents_;
  size_t fitted_ = 0;   // Documents when fitted (or loaded).
  size_t changed_ = 0;  // Documents written or deleted since.
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_RAG_LATENT_MODEL_H_
