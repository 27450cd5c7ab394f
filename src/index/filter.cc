// Chroma-style metadata filters: parsing the JSON form into a tree, and matching metadata.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "index/filter_node.h"
#include "llmkit/index.h"

namespace llmkit {

namespace {

using Node = Filter::Node;

absl::Status Invalid(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", internal::ToAbsl(what)));
}

bool IsScalar(const Json& v) { return v.is_bool() || v.is_number() || v.is_string(); }

// Nesting of $and/$or/$not beyond this is refused (as Json::Parse refuses text nested deeper
// than 1024): parsing, matching and destroying the tree recurse once per level.
constexpr int kMaxDepth = 1024;

absl::StatusOr<Node> ParseNode(const Json& where, const std::string& path, int depth);

absl::StatusOr<Node> ParseList(const Json& list, Node::Kind kind, const std::string& path,
                               int depth) {
  if (!list.is_array() || list.as_array().empty()) {
    return Invalid(path, "expects a non-empty list of filters");
  }
  Node node;
  node.kind = kind;
  for (size_t i = 0; i < list.as_array().size(); ++i) {
    absl::StatusOr<Node> child =
        ParseNode(list.as_array()[i], absl::StrCat(path, "[", i, "]"), depth + 1);
    if (!child.ok()) return child.status();
    node.children.push_back(*std::move(child));
  }
  return node;
}

absl::StatusOr<Node> ParseField(const std::string& field, const Json& condition,
                                const std::string& path) {
  Node node;
  node.field = field;
  if (!condition.is_object()) {
    if (!IsScalar(condition)) return Invalid(path, "expects a string, number or boolean");
    node.kind = Node::Kind::kCompare;
    node.value = condition;
    return node;
  }
  const Json::Object& ops = condition.as_object();
  if (ops.size() != 1) return Invalid(path, "expects exactly one operator");
  const auto& [op, operand] = ops.front();
  std::string op_path = absl::StrCat(path, ".", op);
  if (op == "$in" || op == "$nin") {
    if (!operand.is_array()) return Invalid(op_path, "expects a list");
    for (const Json& v : operand.as_array()) {
      if (!IsScalar(v)) return Invalid(op_path, "expects strings, numbers or booleans");
    }
    node.kind = Node::Kind::kIn;
    node.negate = op == "$nin";
    node.values = operand.as_array();
    return node;
  }
  static const std::pair<std::string_view, Node::Op> kOps[] = {
      {"$eq", Node::Op::kEq},   {"$ne", Node::Op::kNe}, {"$gt", Node::Op::kGt},
      {"$gte", Node::Op::kGte}, {"$lt", Node::Op::kLt}, {"$lte", Node::Op::kLte}};
  for (const auto& [name, value] : kOps) {
    if (op != name) continue;
    bool ordered = value != Node::Op::kEq && value != Node::Op::kNe;
    if (ordered ? !(operand.is_number() || operand.is_string()) : !IsScalar(operand)) {
      return Invalid(
          op_path, ordered ? "expects a number or string" : "expects a string, number or boolean");
    }
    node.kind = Node::Kind::kCompare;
    node.op = value;
    node.value = operand;
    return node;
  }
  return Invalid(path, absl::StrCat("unknown operator ", op));
}

absl::StatusOr<Node> ParseNode(const Json& where, const std::string& path, int depth) {
  if (!where.is_object()) return Invalid(path, "a filter is a JSON object");
  if (depth > kMaxDepth) {
    // The path would be as long as the nesting: name where it starts instead.
    return absl::InvalidArgumentError(
        absl::StrCat("where: $and/$or/$not nested deeper than ", kMaxDepth, " levels"));
  }
  Node all;
  all.kind = Node::Kind::kAnd;
  for (const auto& [key, value] : where.as_object()) {
    std::string key_path = absl::StrCat(path, ".", key);
    absl::StatusOr<Node> node;
    if (key == "$and") {
      node = ParseList(value, Node::Kind::kAnd, key_path, depth);
    } else if (key == "$or") {
      node = ParseList(value, Node::Kind::kOr, key_path, depth);
    } else if (key == "$not") {
      absl::StatusOr<Node> inner = ParseNode(value, key_path, depth + 1);
      if (!inner.ok()) return inner.status();
      Node negated;
      negated.kind = Node::Kind::kNot;
      negated.children.push_back(*std::move(inner));
      node = std::move(negated);
    } else if (!key.empty() && key[0] == '$') {
      return Invalid(path, absl::StrCat("unknown operator ", key));
    } else {
      node = ParseField(key, value, key_path);
    }
    if (!node.ok()) return node.status();
    all.children.push_back(*std::move(node));
  }
  if (all.children.empty()) {
    all.kind = Node::Kind::kAll;
    return all;
  }
  if (all.children.size() == 1) return std::move(all.children.front());
  return all;
}

// -1, 0, 1; or 2 when the two cannot be ordered (different types).
int Compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_bool() && b.is_bool()) return a.as_bool() == b.as_bool() ? 0 : 2;
  return 2;
}

bool Match(const Node& node, const Json& metadata) {
  switch (node.kind) {
    case Node::Kind::kAll:
      return true;
    case Node::Kind::kAnd:
      for (const Node& child : node.children) {
        if (!Match(child, metadata)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (const Node& child : node.children) {
        if (Match(child, metadata)) return true;
      }
      return false;
    case Node::Kind::kNot:
      return !Match(node.children.front(), metadata);
    case Node::Kind::kIn: {
      const Json* field = metadata.is_object() ? metadata.Find(node.field) : nullptr;
      bool found = false;
      if (field != nullptr) {
        for (const Json& v : node.values) {
          if (Compare(*field, v) == 0) {
            found = true;
            break;
          }
        }
      }
      return found != node.negate;
    }
    case Node::Kind::kCompare: {
      const Json* field = metadata.is_object() ? metadata.Find(node.field) : nullptr;
      if (field == nullptr) return node.op == Node::Op::kNe;
      int c = Compare(*field, node.value);
      switch (node.op) {
        case Node::Op::kEq:
          return c == 0;
        case Node::Op::kNe:
          return c != 0;
        case Node::Op::kGt:
          return c == 1;
        case Node::Op::kGte:
          return c == 1 || c == 0;
        case Node::Op::kLt:
          return c == -1;
        case Node::Op::kLte:
          return c == -1 || c == 0;
      }
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<Filter> Filter::Parse(const Json& where) {
  Filter filter;
  if (where.is_null()) return filter;
  absl::StatusOr<Node> root = ParseNode(where, "where", 0);
  if (!root.ok()) return root.status();
  if (root->kind != Node::Kind::kAll) filter.root_ = std::make_shared<const Node>(*std::move(root));
  return filter;
}

Filter::Filter() = default;
Filter::~Filter() = default;
Filter::Filter(const Filter&) = default;
Filter& Filter::operator=(const Filter&) = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;

bool Filter::Matches(const Json& metadata) const {
  return root_ == nullptr || Match(*root_, metadata);
}

bool Filter::matches_all() const { return root_ == nullptr; }

}  // namespace llmkit
