// SQL text for the pgvector store: filters over the jsonb metadata column with bound
// parameters, and the text forms of vectors and arrays that PostgreSQL parses.

#ifndef LLMKIT_PGVECTOR_SQL_H_
#define LLMKIT_PGVECTOR_SQL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/store.h"

namespace llmkit::pg {

using Params = std::vector<std::optional<std::string>>;

// A boolean SQL expression equal to Filter::Matches on `metadata_column` (a quoted identifier),
// never NULL. Each key and value is passed to `bind`, which returns the SQL that stands for it
// (a $n parameter, or a literal quoted by libpq). Numbers compare as numbers, strings by bytes
// (COLLATE "C"), a missing field fails every comparison except $ne and $nin. "TRUE" for a
// filter that matches everything.
std::string FilterSql(const Filter& filter, std::string_view metadata_column,
                      absl::FunctionRef<std::string(std::string value)> bind);
// As above, with keys and values appended to `params` and referenced as $n.
std::string FilterSql(const Filter& filter, std::string_view metadata_column, Params* params);

// '[1.5,-2,3e-05]': the shortest text that reads back as the same float32.
std::string VectorText(absl::Span<const float> vector);
// Parses pgvector's text output ('[1,2,3]'). Errors: kDataLoss (not a vector of `dim` floats).
absl::StatusOr<std::vector<float>> ParseVectorText(std::string_view text, int dim);
// '{"a","b\"c"}': a text[] literal of these strings (each quoted and escaped).
std::string ArrayText(absl::Span<const std::string> values);

}  // namespace llmkit::pg

#endif  // LLMKIT_PGVECTOR_SQL_H_
