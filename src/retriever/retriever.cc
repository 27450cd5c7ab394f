// Retriever: the two candidate lists, their fusion (relative score or reciprocal rank), and MMR.

#include "llmkit/retriever.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

struct Candidate {
  std::string id;
  int vector_rank = 0, lexical_rank = 0;
  float vector_score = 0, lexical_score = 0;
  double fused = 0;
};

// Min-max normalization of a best-first list's scores to [0, 1] (all equal: 1).
std::vector<double> Normalize(const std::vector<double>& scores) {
  std::vector<double> out(scores.size(), 1.0);
  if (scores.empty()) return out;
  auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
  double range = *hi - *lo;
  if (range <= 0) return out;
  for (size_t i = 0; i < scores.size(); ++i) out[i] = (scores[i] - *lo) / range;
  return out;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

}  // namespace

Retriever::Retriever(const VectorStore* store, const Bm25Index* bm25,
                     const RetrieverOptions& options)
    : store_(store), bm25_(bm25), options_(options) {}

absl::StatusOr<Retriever> Retriever::Create(const VectorStore* store, const Bm25Index* bm25,
                                            const RetrieverOptions& o) {
  auto bad = [](std::string_view field, std::string_view range, double value) {
    return absl::InvalidArgumentError(absl::StrCat("RetrieverOptions::", internal::ToAbsl(field),
                                                   " must be ", internal::ToAbsl(range), ", not ",
                                                   value));
  };
  if (!(o.alpha >= 0 && o.alpha <= 1)) return bad("alpha", "in [0, 1]", o.alpha);
  if (!(o.mmr_lambda >= 0 && o.mmr_lambda <= 1)) {
    return bad("mmr_lambda", "in [0, 1]", o.mmr_lambda);
  }
  if (!(o.rrf_k > 0) || !std::isfinite(o.rrf_k)) return bad("rrf_k", "finite and > 0", o.rrf_k);
  if (!(o.vector_weight >= 0) || !std::isfinite(o.vector_weight)) {
    return bad("vector_weight", "finite and >= 0", o.vector_weight);
  }
  if (!(o.lexical_weight >= 0) || !std::isfinite(o.lexical_weight)) {
    return bad("lexical_weight", "finite and >= 0", o.lexical_weight);
  }
  if (o.candidates < 1) return bad("candidates", ">= 1", o.candidates);
  if (o.mode != RetrievalMode::kLexical && store == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("RetrieverOptions::mode ",
                                                   internal::ToAbsl(RetrievalModeName(o.mode)),
                                                   " needs a collection (it is null)"));
  }
  if (o.mode != RetrievalMode::kVector && bm25 == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("RetrieverOptions::mode ",
                                                   internal::ToAbsl(RetrievalModeName(o.mode)),
                                                   " needs a BM25 index (it is null)"));
  }
  if (o.mmr && store == nullptr) {
    return absl::InvalidArgumentError("RetrieverOptions::mmr needs a collection (it is null)");
  }
  return Retriever(store, bm25, o);
}

absl::StatusOr<std::vector<RetrievedHit>> Retriever::Search(const RetrievalQuery& query,
                                                            const CallContext& call) const {
  const RetrieverOptions& o = options_;
  LLMKIT_RETURN_IF_ERROR(call.Check("retrieval"));
  if (query.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  const bool use_vector = o.mode != RetrievalMode::kLexical;
  const bool use_lexical = o.mode != RetrievalMode::kVector;
  if (use_vector && (store_ == nullptr || query.vector.empty())) {
    return absl::InvalidArgumentError("vector retrieval needs a collection and a query vector");
  }
  if (use_lexical && (bm25_ == nullptr || query.text.empty())) {
    return absl::InvalidArgumentError("lexical retrieval needs a BM25 index and query text");
  }
  if (store_ == nullptr && (!query.where.is_null() || o.mmr)) {
    return absl::InvalidArgumentError("filters and MMR need a collection");
  }
  LLMKIT_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(query.where));
  const bool fuse = use_vector && use_lexical;
  // One list alone is cut at k unless MMR or fusion needs more candidates.
  const int depth = fuse || o.mmr ? std::max(o.candidates, query.k) : query.k;

  std::vector<Candidate> candidates;
  absl::flat_hash_map<std::string, size_t> index_of;
  auto candidate = [&](const std::string& id) -> Candidate& {
    auto [it, inserted] = index_of.try_emplace(id, candidates.size());
    if (inserted) candidates.push_back({.id = id});
    return candidates[it->second];
  };
  std::vector<double> vector_scores, lexical_scores;
  std::vector<std::string> vector_ids, lexical_ids;
  if (use_vector) {
    SearchOptions search;
    search.k = depth;
    search.where = query.where;
    search.include_text = false;
    search.include_metadata = false;
    LLMKIT_ASSIGN_OR_RETURN(std::vector<SearchHit> hits,
                            store_->Search(query.vector, search, call));
    const bool l2 = store_->metric() == Metric::kL2;
    for (size_t i = 0; i < hits.size(); ++i) {
      Candidate& c = candidate(hits[i].id);
      c.vector_rank = static_cast<int>(i + 1);
      c.vector_score = hits[i].score;
      vector_scores.push_back(l2 ? -hits[i].score : hits[i].score);
      vector_ids.push_back(hits[i].id);
    }
  }
  if (use_lexical) {
    LLMKIT_RETURN_IF_ERROR(call.Check("retrieval"));
    Bm25SearchOptions search;
    search.k = depth;
    if (!filter.matches_all()) {
      LLMKIT_ASSIGN_OR_RETURN(search.filter, store_->MatchingIds(query.where, call));
    }
    LLMKIT_ASSIGN_OR_RETURN(std::vector<Bm25Hit> hits, bm25_->Search(query.text, search));
    for (size_t i = 0; i < hits.size(); ++i) {
      Candidate& c = candidate(hits[i].id);
      c.lexical_rank = static_cast<int>(i + 1);
      c.lexical_score = hits[i].score;
      lexical_scores.push_back(hits[i].score);
      lexical_ids.push_back(hits[i].id);
    }
  }

  if (!fuse) {
    for (Candidate& c : candidates) {
      c.fused = use_vector ? (store_->metric() == Metric::kL2 ? -c.vector_score : c.vector_score)
                           : c.lexical_score;
    }
  } else if (o.fusion == Fusion::kRelativeScore) {
    std::vector<double> v = Normalize(vector_scores), l = Normalize(lexical_scores);
    for (size_t i = 0; i < v.size(); ++i)
      candidates[index_of[vector_ids[i]]].fused += o.alpha * v[i];
    for (size_t i = 0; i < l.size(); ++i) {
      candidates[index_of[lexical_ids[i]]].fused += (1 - o.alpha) * l[i];
    }
  } else {
    for (Candidate& c : candidates) {
      if (c.vector_rank > 0) c.fused += o.vector_weight / (o.rrf_k + c.vector_rank);
      if (c.lexical_rank > 0) c.fused += o.lexical_weight / (o.rrf_k + c.lexical_rank);
    }
  }
  // Best first; ties by the better vector rank, then the better lexical rank, then id.
  auto rank_key = [](int rank) { return rank == 0 ? std::numeric_limits<int>::max() : rank; };
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const Candidate& a, const Candidate& b) {
                     if (a.fused != b.fused) return a.fused > b.fused;
                     if (a.vector_rank != b.vector_rank) {
                       return rank_key(a.vector_rank) < rank_key(b.vector_rank);
                     }
                     if (a.lexical_rank != b.lexical_rank) {
                       return rank_key(a.lexical_rank) < rank_key(b.lexical_rank);
                     }
                     return a.id < b.id;
                   });
  const size_t k = static_cast<size_t>(query.k);

  std::vector<size_t> order;
  if (o.mmr && !candidates.empty()) {
    // Relevance: the cosine similarity to the query vector when there is one (as LangChain's
    // max_marginal_relevance_search), else the fused scores min-max normalized to [0, 1].
    // Similarity between documents: cosine of their stored vectors.
    std::vector<std::vector<float>> vectors(candidates.size());
    {
      std::vector<std::string> ids;
      for (const Candidate& c : candidates) ids.push_back(c.id);
      GetOptions get;
      get.include_text = get.include_metadata = false;
      get.include_vectors = true;
      LLMKIT_ASSIGN_OR_RETURN(std::vector<Document> docs, store_->Get(ids, get, call));
      absl::flat_hash_map<std::string, std::vector<float>*> slot;
      for (size_t i = 0; i < candidates.size(); ++i) slot[candidates[i].id] = &vectors[i];
      for (Document& d : docs) {
        if (auto it = slot.find(d.id); it != slot.end()) *it->second = std::move(d.vector);
      }
    }
    std::vector<double> relevance;
    if (!query.vector.empty()) {
      std::vector<float> q(query.vector.begin(), query.vector.end());
      for (const auto& v : vectors) relevance.push_back(v.empty() ? 0 : Cosine(q, v));
    } else {
      std::vector<double> fused;
      for (const Candidate& c : candidates) fused.push_back(c.fused);
      relevance = Normalize(fused);
    }
    std::vector<double> max_similarity(candidates.size(), -std::numeric_limits<double>::infinity());
    std::vector<bool> taken(candidates.size(), false);
    while (order.size() < std::min(k, candidates.size())) {
      size_t best = 0;
      double best_value = -std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < candidates.size(); ++i) {
        if (taken[i]) continue;
        double penalty = order.empty() ? 0 : max_similarity[i];
        double value = o.mmr_lambda * relevance[i] - (1 - o.mmr_lambda) * penalty;
        if (value > best_value) best_value = value, best = i;
      }
      taken[best] = true;
      order.push_back(best);
      for (size_t i = 0; i < candidates.size(); ++i) {
        if (!taken[i] && !vectors[i].empty() && !vectors[best].empty()) {
          max_similarity[i] = std::max(max_similarity[i], Cosine(vectors[i], vectors[best]));
        }
      }
    }
  } else {
    for (size_t i = 0; i < std::min(k, candidates.size()); ++i) order.push_back(i);
  }

  std::vector<RetrievedHit> out;
  out.reserve(order.size());
  absl::flat_hash_map<std::string, Document> stored;  // The hits' texts and metadata.
  if (store_ != nullptr && !order.empty()) {
    std::vector<std::string> ids;
    for (size_t i : order) ids.push_back(candidates[i].id);
    LLMKIT_ASSIGN_OR_RETURN(std::vector<Document> docs, store_->Get(ids, GetOptions{}, call));
    for (Document& d : docs) {
      std::string id = d.id;
      stored.insert_or_assign(std::move(id), std::move(d));
    }
  }
  for (size_t i : order) {
    Candidate& c = candidates[i];
    RetrievedHit hit;
    hit.id = std::move(c.id);
    hit.score = c.fused;
    hit.vector_rank = c.vector_rank;
    hit.lexical_rank = c.lexical_rank;
    hit.vector_score = c.vector_score;
    hit.lexical_score = c.lexical_score;
    if (auto it = stored.find(hit.id); it != stored.end()) {
      hit.text = std::move(it->second.text);
      hit.metadata = std::move(it->second.metadata);
    }
    out.push_back(std::move(hit));
  }
  return out;
}

std::string_view RetrievalModeName(RetrievalMode mode) {
  switch (mode) {
    case RetrievalMode::kVector:
      return "vector";
    case RetrievalMode::kLexical:
      return "lexical";
    case RetrievalMode::kHybrid:
      return "hybrid";
  }
  return "hybrid";
}

std::optional<RetrievalMode> RetrievalModeFromName(std::string_view name) {
  if (name == "bm25") return RetrievalMode::kLexical;
  for (RetrievalMode mode :
       {RetrievalMode::kVector, RetrievalMode::kLexical, RetrievalMode::kHybrid}) {
    if (name == RetrievalModeName(mode)) return mode;
  }
  return std::nullopt;
}

std::string_view FusionName(Fusion fusion) {
  return fusion == Fusion::kReciprocalRank ? "rrf" : "relative_score";
}

std::optional<Fusion> FusionFromName(std::string_view name) {
  if (name == "reciprocal_rank") return Fusion::kReciprocalRank;
  for (Fusion fusion : {Fusion::kRelativeScore, Fusion::kReciprocalRank}) {
    if (name == FusionName(fusion)) return fusion;
  }
  return std::nullopt;
}

}  // namespace llmkit
