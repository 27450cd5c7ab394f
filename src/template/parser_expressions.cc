// The template parser's expressions: Jinja2's grammar from conditional expressions down to
// literals, with calls, filters, tests, attributes and subscripts.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "template/parser.h"
#include "unicode/py_text.h"
#include "unicode/utf8.h"

namespace llmkit::internal::tmpl {

// A tuple without parentheses (`a, b`) or one expression. `extra_end` stops at that name.
absl::StatusOr<ExprPtr> Parser::ParseTuple(bool with_condexpr, bool explicit_parens,
                                           std::string_view extra_end) {
  uint32_t pos = Peek().pos;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) {
      if (!SkipOp(",")) break;
      is_tuple = true;
    }
    const Token& t = Peek();
    if (t.type == T::kVarEnd || t.type == T::kBlockEnd || t.type == T::kEof ||
        (t.type == T::kOp && t.text == ")") ||
        (!extra_end.empty() && t.type == T::kName && t.text == extra_end)) {
      break;
    }
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr e, with_condexpr ? ParseExpression(true) : ParseOr());
    items.push_back(std::move(e));
  }
  if (!is_tuple) {
    if (items.empty()) {
      if (explicit_parens) {
        return NewExpr(Expr::Kind::kTuple, pos);
      }
      return Unexpected("an expression");
    }
    return std::move(items[0]);
  }
  ExprPtr tuple = NewExpr(Expr::Kind::kTuple, pos);
  tuple->children = std::move(items);
  return tuple;
}

absl::StatusOr<ExprPtr> Parser::ParseExpression(bool with_condexpr) {
  DepthGuard guard(this);
  LLMKIT_RETURN_IF_ERROR(CheckDepth());
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
  if (!with_condexpr) return expr;
  while (IsName("if")) {
    uint32_t pos = Next().pos;
    ++conditional_;
    absl::StatusOr<ExprPtr> cond = ParseOr();
    ExprPtr else_expr;
    absl::Status status = cond.status();
    if (status.ok() && SkipName("else")) {
      absl::StatusOr<ExprPtr> e = ParseExpression(true);
      if (e.ok()) {
        else_expr = *std::move(e);
      } else {
        status = e.status();
      }
    }
    --conditional_;
    LLMKIT_RETURN_IF_ERROR(status);
    ExprPtr node = NewExpr(Expr::Kind::kCond, pos);
    node->children.push_back(std::move(expr));
    node->children.push_back(*std::move(cond));
    node->children.push_back(std::move(else_expr));
    expr = std::move(node);
  }
  return expr;
}

// operand (`word` operand)*, left-nested.
template <absl::StatusOr<ExprPtr> (Parser::*kOperand)()>
absl::StatusOr<ExprPtr> Parser::ParseLogical(std::string_view word, Expr::Kind kind) {
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, (this->*kOperand)());
  while (IsName(word)) {
    uint32_t pos = Next().pos;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, (this->*kOperand)());
    ExprPtr node = NewExpr(kind, pos);
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    left = std::move(node);
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseOr() {
  return ParseLogical<&Parser::ParseAnd>("or", Expr::Kind::kOr);
}

absl::StatusOr<ExprPtr> Parser::ParseAnd() {
  return ParseLogical<&Parser::ParseNot>("and", Expr::Kind::kAnd);
}

absl::StatusOr<ExprPtr> Parser::ParseNot() {
  if (IsName("not")) {
    DepthGuard guard(this);
    LLMKIT_RETURN_IF_ERROR(CheckDepth());
    uint32_t pos = Next().pos;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
    ExprPtr node = NewExpr(Expr::Kind::kUnary, pos);
    node->op = Op::kNot;
    node->children.push_back(std::move(operand));
    return node;
  }
  return ParseCompare();
}

absl::StatusOr<ExprPtr> Parser::ParseCompare() {
  uint32_t pos = Peek().pos;
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  ExprPtr node;
  while (true) {
    Op op;
    const Token& t = Peek();
    if (t.type == T::kOp && t.text == "==") {
      op = Op::kEq;
    } else if (t.type == T::kOp && t.text == "!=") {
      op = Op::kNe;
    } else if (t.type == T::kOp && t.text == "<") {
      op = Op::kLt;
    } else if (t.type == T::kOp && t.text == "<=") {
      op = Op::kLe;
    } else if (t.type == T::kOp && t.text == ">") {
      op = Op::kGt;
    } else if (t.type == T::kOp && t.text == ">=") {
      op = Op::kGe;
    } else if (IsName("in")) {
      op = Op::kIn;
    } else if (IsName("not") && IsName("in", 1)) {
      Next();
      op = Op::kNotIn;
    } else {
      break;
    }
    Next();
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
    if (!node) {
      node = NewExpr(Expr::Kind::kCompare, pos);
      node->children.push_back(std::move(first));
    }
    node->ops.push_back(op);
    node->children.push_back(std::move(operand));
  }
  return node ? std::move(node) : std::move(first);
}

Expr::~Expr() {
  std::vector<ExprPtr> pending;
  auto detach = [&pending](Expr& e) {
    if (e.dyn_args) pending.push_back(std::move(e.dyn_args));
    if (e.dyn_kwargs) pending.push_back(std::move(e.dyn_kwargs));
    for (ExprPtr& child : e.children) {
      if (child) pending.push_back(std::move(child));
    }
    for (ExprPtr& literal : e.folded) {
      if (literal) pending.push_back(std::move(literal));
    }
    for (auto& kwarg : e.kwargs) {
      if (kwarg.second) pending.push_back(std::move(kwarg.second));
    }
  };
  detach(*this);
  while (!pending.empty()) {
    ExprPtr next = std::move(pending.back());
    pending.pop_back();
    detach(*next);
  }  // `next` is freed here, its children already taken: no recursion.
}

namespace {

bool IsPlainStringLiteral(const Expr& e) {
  return e.kind == Expr::Kind::kLiteral && e.literal.kind == Value::Kind::kString &&
         !e.literal.safe;
}

}  // namespace

ExprPtr Parser::Binary(Op op, uint32_t pos, ExprPtr left, ExprPtr right) {
  ExprPtr node = NewExpr(Expr::Kind::kBinary, pos);
  node->op = op;
  if (op == Op::kAdd || op == Op::kConcat) {
    if (left->kind == Expr::Kind::kBinary && left->op == op && !left->chain.empty()) {
      node->chain = std::move(left->chain);
      left->chain.clear();
    } else {
      node->chain.push_back(left.get());
    }
    const Expr* last = node->chain.back();
    if (IsPlainStringLiteral(*last) && IsPlainStringLiteral(*right)) {
      // 'a' + 'b' is 'ab' (and escaping 'ab' equals escaping each): one operand instead of two.
      // A literal this chain already joined, whose text is the newest string, grows in place
      // ('a' ~ 'a' ~ ... 200,000 long stays linear); otherwise the pair becomes a new literal.
      Expr* grown = !left->folded.empty() && left->folded.back().get() == last
                        ? left->folded.back().get()
                        : nullptr;
      if (grown != nullptr && !program_->strings.empty() &&
          program_->strings.back()->data() == grown->literal.str.data()) {
        std::string& text = *program_->strings.back();
        text.append(right->literal.str);
        grown->literal = Value::String(text);
        node->folded.push_back(std::move(left->folded.back()));
        left->folded.pop_back();
      } else {
        program_->strings.push_back(std::make_unique<std::string>(
            std::string(last->literal.str).append(right->literal.str)));
        ExprPtr joined = NewExpr(Expr::Kind::kLiteral, last->pos);
        joined->literal = Value::String(*program_->strings.back());
        node->chain.back() = joined.get();
        node->folded.push_back(std::move(joined));
      }
    } else {
      node->chain.push_back(right.get());
    }
  }
  node->children.push_back(std::move(left));
  node->children.push_back(std::move(right));
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParseMath1() {
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (IsOp("+") || IsOp("-")) {
    const Token& t = Next();
    Op op = t.text == "+" ? Op::kAdd : Op::kSub;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    left = Binary(op, t.pos, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseConcat() {
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
  while (IsOp("~")) {
    uint32_t pos = Next().pos;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
    left = Binary(Op::kConcat, pos, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseMath2() {
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& t = Next();
    Op op = t.text == "*"    ? Op::kMul
            : t.text == "/"  ? Op::kDiv
            : t.text == "//" ? Op::kFloorDiv
                             : Op::kMod;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    left = Binary(op, t.pos, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParsePow() {
  LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
  while (IsOp("**")) {
    uint32_t pos = Next().pos;
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
    left = Binary(Op::kPow, pos, std::move(left), std::move(right));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
  DepthGuard guard(this);
  LLMKIT_RETURN_IF_ERROR(CheckDepth());
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& t = Next();
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
    node = NewExpr(Expr::Kind::kUnary, t.pos);
    node->op = t.text == "-" ? Op::kNeg : Op::kPos;
    node->children.push_back(std::move(operand));
  } else {
    LLMKIT_ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  LLMKIT_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) {
    LLMKIT_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
  }
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& t = Peek();
  ExprPtr node;
  switch (t.type) {
    case T::kName: {
      Next();
      node = NewExpr(Expr::Kind::kLiteral, t.pos);
      if (t.text == "true" || t.text == "True") {
        node->literal = Value::Bool(true);
      } else if (t.text == "false" || t.text == "False") {
        node->literal = Value::Bool(false);
      } else if (t.text == "none" || t.text == "None") {
        node->literal = Value::None();
      } else {
        node->kind = Expr::Kind::kName;
        node->name = t.text;
        NoteLoad(t.text);
      }
      return node;
    }
    case T::kString: {
      Next();
      node = NewExpr(Expr::Kind::kLiteral, t.pos);
      if (Peek().type != T::kString) {
        node->literal = Value::String(t.text);
        return node;
      }
      std::string joined(t.text);  // Adjacent literals concatenate, as in Python.
      while (Peek().type == T::kString) joined.append(Next().text);
      program_->strings.push_back(std::make_unique<std::string>(std::move(joined)));
      node->literal = Value::String(*program_->strings.back());
      return node;
    }
    case T::kInt:
      Next();
      node = NewExpr(Expr::Kind::kLiteral, t.pos);
      node->literal = Value::Int(t.int_value);
      return node;
    case T::kFloat:
      Next();
      node = NewExpr(Expr::Kind::kLiteral, t.pos);
      node->literal = Value::Double(t.float_value);
      return node;
    case T::kOp:
      if (t.text == "(") {
        Next();
        LLMKIT_ASSIGN_OR_RETURN(node, ParseTuple(true, true));
        LLMKIT_RETURN_IF_ERROR(ExpectOp(")"));
        return node;
      }
      if (t.text == "[") {
        Next();
        node = NewExpr(Expr::Kind::kList, t.pos);
        while (!IsOp("]")) {
          if (!node->children.empty()) LLMKIT_RETURN_IF_ERROR(ExpectOp(","));
          if (IsOp("]")) break;
          LLMKIT_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
          node->children.push_back(std::move(item));
        }
        Next();
        return node;
      }
      if (t.text == "{") {
        Next();
        node = NewExpr(Expr::Kind::kDict, t.pos);
        while (!IsOp("}")) {
          if (!node->children.empty()) LLMKIT_RETURN_IF_ERROR(ExpectOp(","));
          if (IsOp("}")) break;
          LLMKIT_ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(true));
          LLMKIT_RETURN_IF_ERROR(ExpectOp(":"));
          LLMKIT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
          node->children.push_back(std::move(key));
          node->children.push_back(std::move(value));
        }
        Next();
        return node;
      }
      break;
    default:
      break;
  }
  return Unexpected("an expression");
}

absl::StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".")) {
      uint32_t pos = Next().pos;
      const Token& t = Peek();
      if (t.type == T::kName) {
        Next();
        ExprPtr attr = NewExpr(Expr::Kind::kGetAttr, pos);
        attr->name = t.text;
        attr->children.push_back(std::move(node));
        node = std::move(attr);
      } else if (t.type == T::kInt) {
        Next();
        ExprPtr item = NewExpr(Expr::Kind::kGetItem, pos);
        ExprPtr index = NewExpr(Expr::Kind::kLiteral, t.pos);
        index->literal = Value::Int(t.int_value);
        item->children.push_back(std::move(node));
        item->children.push_back(std::move(index));
        node = std::move(item);
      } else {
        return Unexpected("an attribute name");
      }
    } else if (IsOp("[")) {
      LLMKIT_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (IsOp("(")) {
      LLMKIT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr node) {
  uint32_t pos = Next().pos;   // '['
  std::vector<ExprPtr> parts;  // start, stop, step
  bool slice = false;
  for (int part = 0; part < 3; ++part) {
    if (IsOp(":") || IsOp("]") || IsOp(",")) {
      parts.push_back(nullptr);
    } else {
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(true));
      parts.push_back(std::move(e));
    }
    if (!SkipOp(":")) break;
    slice = true;
  }
  if (!slice && !parts[0]) return Error(pos, "expected an index");
  if (!slice && IsOp(",")) {  // x[a, b]: a tuple key
    ExprPtr tuple = NewExpr(Expr::Kind::kTuple, pos);
    tuple->children.push_back(std::move(parts[0]));
    while (SkipOp(",")) {
      if (IsOp("]")) break;
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(true));
      tuple->children.push_back(std::move(e));
    }
    parts[0] = std::move(tuple);
  }
  LLMKIT_RETURN_IF_ERROR(ExpectOp("]"));
  ExprPtr result = NewExpr(slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, pos);
  result->children.push_back(std::move(node));
  if (!slice && !parts[0]) return Error(pos, "expected an index");
  for (auto& p : parts) result->children.push_back(std::move(p));
  while (slice && result->children.size() < 4) result->children.push_back(nullptr);
  return result;
}

// Arguments of a call, filter or test: `(a, b, k=v, *args, **kwargs)`, into `node`.
absl::Status Parser::ParseCallArgs(Expr* node) {
  LLMKIT_RETURN_IF_ERROR(ExpectOp("("));
  bool first = true;
  while (!IsOp(")")) {
    if (!first) {
      LLMKIT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
    }
    first = false;
    if (IsOp("*")) {
      Next();
      LLMKIT_ASSIGN_OR_RETURN(node->dyn_args, ParseExpression(true));
    } else if (IsOp("**")) {
      Next();
      LLMKIT_ASSIGN_OR_RETURN(node->dyn_kwargs, ParseExpression(true));
    } else if (Peek().type == T::kName && IsOp("=", 1)) {
      std::string_view key = Next().text;
      Next();
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      node->kwargs.emplace_back(key, std::move(value));
    } else {
      if (!node->kwargs.empty()) {
        return Error(Peek().pos, "positional argument follows keyword argument");
      }
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr arg, ParseExpression(true));
      node->children.push_back(std::move(arg));
    }
  }
  Next();
  return absl::OkStatus();
}

absl::StatusOr<ExprPtr> Parser::ParseCall(ExprPtr callee) {
  ExprPtr call = NewExpr(Expr::Kind::kCall, Peek().pos);
  call->children.push_back(std::move(callee));
  LLMKIT_RETURN_IF_ERROR(ParseCallArgs(call.get()));
  return call;
}

absl::StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      Next();
      LLMKIT_ASSIGN_OR_RETURN(node, ParseFilterTail(std::move(node)));
    } else if (IsName("is")) {
      LLMKIT_ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (IsOp("(")) {
      LLMKIT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<std::string_view> Parser::ParseDottedName() {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view name, ExpectIdentifier());
  if (!IsOp(".")) return name;
  const char* begin = name.data();
  while (IsOp(".") && Peek(1).type == T::kName) {
    Next();
    name = Next().text;
  }
  return std::string_view(begin, name.data() + name.size() - begin);
}

// After '|': name and optional arguments; `input` may be null (filter blocks).
absl::StatusOr<ExprPtr> Parser::ParseFilterTail(ExprPtr input) {
  uint32_t pos = Peek().pos;
  LLMKIT_ASSIGN_OR_RETURN(std::string_view name, ParseDottedName());
  ExprPtr node = NewExpr(Expr::Kind::kFilter, pos);
  node->name = name;
  node->fn = FindFilter(name);
  if (node->fn == nullptr && conditional_ == 0) {
    return Error(pos, absl::StrCat("no filter named '", ToAbsl(name), "'"));
  }
  node->children.push_back(std::move(input));
  if (IsOp("(")) LLMKIT_RETURN_IF_ERROR(ParseCallArgs(node.get()));
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParseTest(ExprPtr input) {
  uint32_t pos = Next().pos;  // 'is'
  bool negate = SkipName("not");
  LLMKIT_ASSIGN_OR_RETURN(std::string_view name, ParseDottedName());
  ExprPtr node = NewExpr(Expr::Kind::kTest, pos);
  node->name = name;
  node->negate = negate;
  node->fn = FindTest(name);
  if (node->fn == nullptr && conditional_ == 0) {
    return Error(pos, absl::StrCat("no test named '", ToAbsl(name), "'"));
  }
  node->children.push_back(std::move(input));
  if (IsOp("(")) {
    LLMKIT_RETURN_IF_ERROR(ParseCallArgs(node.get()));
  } else {
    const Token& t = Peek();
    bool starts_arg = t.type == T::kString || t.type == T::kInt || t.type == T::kFloat ||
                      (t.type == T::kOp && (t.text == "(" || t.text == "[" || t.text == "{")) ||
                      (t.type == T::kName && t.text != "else" && t.text != "or" && t.text != "and");
    if (starts_arg) {
      if (IsName("is")) return Error(t.pos, "you cannot chain multiple tests with is");
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
      LLMKIT_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
      node->children.push_back(std::move(arg));
    }
  }
  return node;
}

}  // namespace llmkit::internal::tmpl
