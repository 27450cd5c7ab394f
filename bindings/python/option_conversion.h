// Python keyword values ("hnsw", "hybrid", "rrf", ...) to the option enums, through the one name
// table of index.h and retriever.h; an unknown name raises llmkit.InvalidArgumentError naming
// the keyword, the accepted names and the value given.

#ifndef LLMKIT_BINDINGS_PYTHON_OPTION_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_OPTION_CONVERSION_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "llmkit/index.h"
#include "llmkit/retriever.h"
#include "status_conversion.h"

namespace llmkit::python {

template <typename Value>
Value ParseOption(std::optional<Value> parsed, const char* keyword, const char* accepted,
                  std::string_view name) {
  if (!parsed) {
    throw StatusError(absl::InvalidArgumentError(std::string(keyword) + " must be " + accepted +
                                                 ", not '" + std::string(name) + "'"));
  }
  return *parsed;
}

inline Metric ParseMetric(std::string_view name) {
  return ParseOption(MetricFromName(name), "metric", "'cosine', 'ip' or 'l2'", name);
}
inline IndexKind ParseKind(std::string_view name) {
  return ParseOption(IndexKindFromName(name), "index", "'flat', 'hnsw' or 'ivf'", name);
}
inline RetrievalMode ParseMode(std::string_view name) {
  return ParseOption(RetrievalModeFromName(name), "mode", "'vector', 'lexical' or 'hybrid'", name);
}
inline Fusion ParseFusion(std::string_view name) {
  return ParseOption(FusionFromName(name), "fusion", "'relative_score' or 'rrf'", name);
}

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_OPTION_CONVERSION_H_
