// The names options have in saved files (a collection's MANIFEST, a pipeline's rag.json), and
// back. FromName returns nullopt for a name it does not know, so a loader can say so.

#ifndef LLMKIT_SRC_INDEX_OPTION_NAMES_H_
#define LLMKIT_SRC_INDEX_OPTION_NAMES_H_

#include <optional>
#include <string_view>

#include "llmkit/index.h"
#include "llmkit/retriever.h"

namespace llmkit::internal {

inline std::string_view IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kFlat:
      return "flat";
    case IndexKind::kHnsw:
      return "hnsw";
    case IndexKind::kIvf:
      return "ivf";
  }
  return "flat";
}

inline std::optional<IndexKind> IndexKindFromName(std::string_view name) {
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    if (name == IndexKindName(kind)) return kind;
  }
  return std::nullopt;
}

inline std::string_view RetrievalModeName(RetrievalMode mode) {
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

inline std::optional<RetrievalMode> RetrievalModeFromName(std::string_view name) {
  for (RetrievalMode mode :
       {RetrievalMode::kVector, RetrievalMode::kLexical, RetrievalMode::kHybrid}) {
    if (name == RetrievalModeName(mode)) return mode;
  }
  return std::nullopt;
}

inline std::string_view FusionName(Fusion fusion) {
  return fusion == Fusion::kReciprocalRank ? "rrf" : "relative_score";
}

inline std::optional<Fusion> FusionFromName(std::string_view name) {
  for (Fusion fusion : {Fusion::kRelativeScore, Fusion::kReciprocalRank}) {
    if (name == FusionName(fusion)) return fusion;
  }
  return std::nullopt;
}

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_INDEX_OPTION_NAMES_H_
