// Retrieval over a VectorStore (vectors: the local Collection or a remote store) and a Bm25Index
// (keywords) holding the same ids:
// vector, lexical or hybrid search with score fusion, metadata filters on both sides, and
// optional maximal-marginal-relevance re-ranking.
//
//   llmkit::Retriever retriever(collection.get(), &bm25, {.mode = llmkit::RetrievalMode::kHybrid});
//   LLMKIT_ASSIGN_OR_RETURN(auto hits, retriever.Search({.text = question,
//                                                        .vector = question_embedding,
//                                                        .k = 5}));
//
// Fusion conventions (they differ between products; these are llmkit's):
//   kRelativeScore (default, as Weaviate's relativeScoreFusion): each list's scores are min-max
//     normalized per query to [0, 1] (a list whose scores are all equal normalizes to 1), then
//     fused = alpha * vector + (1 - alpha) * lexical; a document missing from a list gets 0 there.
//   kReciprocalRank (as Elasticsearch's RRF): fused = w_v / (rrf_k + rank_v) + w_l / (rrf_k +
//     rank_l), ranks counted from 1, a missing document contributes nothing.
// Under the L2 metric the vector side ranks by negated distance.

#ifndef LLMKIT_RETRIEVER_H_
#define LLMKIT_RETRIEVER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/bm25.h"
#include "llmkit/call.h"
#include "llmkit/json.h"
#include "llmkit/store.h"

namespace llmkit {

enum class RetrievalMode { kVector, kLexical, kHybrid };
enum class Fusion { kRelativeScore, kReciprocalRank };

// The names of modes and fusions in saved files, Python and the command line (one table, as
// index.h's): RetrievalMode "vector", "lexical" (alias "bm25"), "hybrid"; Fusion
// "relative_score", "rrf" (alias "reciprocal_rank"). *FromName returns nullopt for other names.
std::string_view RetrievalModeName(RetrievalMode mode);
std::optional<RetrievalMode> RetrievalModeFromName(std::string_view name);
std::string_view FusionName(Fusion fusion);
std::optional<Fusion> FusionFromName(std::string_view name);

struct RetrieverOptions {
  RetrievalMode mode = RetrievalMode::kHybrid;
  Fusion fusion = Fusion::kRelativeScore;
  double alpha = 0.5;          // Relative score fusion: weight of the vector side, in [0, 1].
  double rrf_k = 60;           // Reciprocal rank fusion constant (> 0).
  double vector_weight = 1.0;  // Reciprocal rank fusion weights.
  double lexical_weight = 1.0;
  int candidates = 100;  // Hits taken from each side before fusion (>= k is used).
  // Re-rank the fused candidates by maximal marginal relevance: repeatedly take the candidate
  // maximizing lambda * relevance - (1 - lambda) * (highest cosine to one already taken), where
  // relevance is the cosine to the query vector (the fused score normalized to [0, 1] when the
  // query has no vector). Needs the collection's vectors.
  bool mmr = false;
  double mmr_lambda = 0.5;  // 1: relevance only; 0: diversity only.
};

struct RetrievalQuery {
  std::string_view text;           // For the lexical side.
  absl::Span<const float> vector;  // For the vector side.
  int k = 10;
  Json where;  // Metadata filter (Filter syntax), applied to both sides.
};

struct RetrievedHit {
  std::string id;
  double score = 0;        // The fused score (vector/lexical mode: that side's score).
  int vector_rank = 0;     // 1-based rank in the vector list; 0 when absent.
  int lexical_rank = 0;    // 1-based rank in the lexical list; 0 when absent.
  float vector_score = 0;  // Raw scores where present.
  float lexical_score = 0;
  std::string text;  // From the store, when there is one.
  Json metadata;
};

// Thread-safe: const after construction; the store and index it reads allow concurrent
// searches. REQUIRES: `store` and `bm25` (either may be null when the mode does not need it)
// outlive the retriever. With a remote store a search makes at most three store calls: the
// vector search, the filter for the lexical side, and one batched Get of the hits' texts.
class Retriever {
 public:
  // Checks every option and what the mode needs. Errors: kInvalidArgument naming the field
  // (alpha or mmr_lambda outside [0, 1], rrf_k <= 0, a negative weight, candidates < 1, a mode
  // whose index is null, MMR without a store).
  static absl::StatusOr<Retriever> Create(const VectorStore* store, const Bm25Index* bm25,
                                          const RetrieverOptions& options = {});

  // Errors: kInvalidArgument (k < 1; a side the mode needs is missing — its index or the query
  // text/vector; a filter without a store; MMR without a store; bad options or filter), the
  // errors of the store's calls and Bm25Index::Search, and kCancelled / kDeadlineExceeded when
  // `call` is over before or between the steps.
  absl::StatusOr<std::vector<RetrievedHit>> Search(const RetrievalQuery& query,
                                                   const CallContext& call = {}) const;

  const RetrieverOptions& options() const { return options_; }

 private:
  Retriever(const VectorStore* store, const Bm25Index* bm25, const RetrieverOptions& options);

  const VectorStore* store_;
  const Bm25Index* bm25_;
  RetrieverOptions options_;
};

}  // namespace llmkit

#endif  // LLMKIT_RETRIEVER_H_
