// The parsed form of a Filter, for code that translates filters into another query language
// (the remote stores' SQL and HTTP filters). Built only by Filter::Parse, so always valid:
// fields are non-empty keys, values are scalars, $and/$or lists non-empty, $not one child.

#ifndef LLMKIT_INDEX_FILTER_NODE_H_
#define LLMKIT_INDEX_FILTER_NODE_H_

#include <string>
#include <vector>

#include "llmkit/json.h"
#include "llmkit/store.h"

namespace llmkit {

struct Filter::Node {
  enum class Kind { kAll, kAnd, kOr, kNot, kCompare, kIn };
  enum class Op { kEq, kNe, kGt, kGte, kLt, kLte };
  Kind kind = Kind::kAll;
  Op op = Op::kEq;
  bool negate = false;  // $nin
  std::string field;
  Json value;                  // kCompare
  std::vector<Json> values;    // kIn
  std::vector<Node> children;  // kAnd, kOr, kNot (one)
};

}  // namespace llmkit

#endif  // LLMKIT_INDEX_FILTER_NODE_H_
