// Filters as SQL over jsonb (keys and values bound or quoted), and vector/array literals.

#include "pgvector/sql.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/filter_node.h"

namespace llmkit::pg {
namespace {

using Node = Filter::Node;

using Binder = absl::FunctionRef<std::string(std::string value)>;

std::string Leaf(const Node& node, std::string_view column_name, Binder bind) {
  const absl::string_view column = internal::ToAbsl(column_name);
  const std::string key = bind(node.field);
  const std::string field = absl::StrCat("(", column, " -> ", key, "::text)");
  if (node.kind == Node::Kind::kIn) {
    // jsonb equality: numbers by value (1 = 1.0), strings exactly, no match across types.
    std::string list;
    for (const Json& v : node.values) {
      absl::StrAppend(&list, list.empty() ? "" : ", ", bind(v.Dump()), "::jsonb");
    }
    std::string in = absl::StrCat("COALESCE(", field, " = ANY(ARRAY[", list, "]), FALSE)");
    return node.negate ? absl::StrCat("(NOT ", in, ")") : in;
  }
  if (node.op == Node::Op::kEq || node.op == Node::Op::kNe) {
    const bool eq = node.op == Node::Op::kEq;
    return absl::StrCat("COALESCE(", field, eq ? " = " : " <> ", bind(node.value.Dump()),
                        "::jsonb, ", eq ? "FALSE" : "TRUE", ")");
  }
  const char* op = node.op == Node::Op::kGt    ? ">"
                   : node.op == Node::Op::kGte ? ">="
                   : node.op == Node::Op::kLt  ? "<"
                                               : "<=";
  if (node.value.is_number()) {
    return absl::StrCat("COALESCE(jsonb_typeof(", field, ") = 'number' AND ", field, " ", op, " ",
                        bind(node.value.Dump()), "::jsonb, FALSE)");
  }
  // Strings by bytes (UTF-8 byte order is code point order), as Filter::Matches.
  return absl::StrCat("COALESCE(jsonb_typeof(", field, ") = 'string' AND (", column, " ->> ", key,
                      "::text) COLLATE \"C\" ", op, " ", bind(node.value.as_string()),
                      "::text COLLATE \"C\", FALSE)");
}

std::string Expression(const Node& node, std::string_view column, Binder bind) {
  switch (node.kind) {
    case Node::Kind::kAll:
      return "TRUE";
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      std::string out = "(";
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out += node.kind == Node::Kind::kAnd ? " AND " : " OR ";
        out += Expression(node.children[i], column, bind);
      }
      return out + ")";
    }
    case Node::Kind::kNot:
      return absl::StrCat("(NOT ", Expression(node.children.front(), column, bind), ")");
    case Node::Kind::kCompare:
    case Node::Kind::kIn:
      return Leaf(node, column, bind);
  }
  return "FALSE";
}

}  // namespace

std::string FilterSql(const Filter& filter, std::string_view metadata_column, Binder bind) {
  if (filter.root() == nullptr) return "TRUE";
  return Expression(*filter.root(), metadata_column, bind);
}

std::string FilterSql(const Filter& filter, std::string_view metadata_column, Params* params) {
  return FilterSql(filter, metadata_column, [params](std::string value) {
    params->push_back(std::move(value));
    return absl::StrCat("$", params->size());
  });
}

std::string VectorText(absl::Span<const float> vector) {
  std::string out = "[";
  char buffer[32];
  for (size_t i = 0; i < vector.size(); ++i) {
    if (i > 0) out += ',';
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), vector[i]);
    out.append(buffer, end);
  }
  out += ']';
  return out;
}

absl::StatusOr<std::vector<float>> ParseVectorText(std::string_view text, int dim) {
  auto bad = [&] {
    return absl::DataLossError(absl::StrCat("PostgreSQL returned a vector that is not ", dim,
                                            " floats: ", internal::ToAbsl(text.substr(0, 64))));
  };
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return bad();
  std::vector<float> out;
  out.reserve(static_cast<size_t>(dim));
  const char* p = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (p < end) {
    float value;
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc()) return bad();
    out.push_back(value);
    p = next;
    if (p < end && *p == ',') ++p;
  }
  if (out.size() != static_cast<size_t>(dim)) return bad();
  return out;
}

std::string ArrayText(absl::Span<const std::string> values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace llmkit::pg
