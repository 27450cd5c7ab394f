// The template parser: Jinja2's statements and expression grammar over lexer.h's tokens, into
// ast.h. Statements are parsed in parser.cc, expressions in parser_expressions.cc.

#ifndef LLMKIT_SRC_TEMPLATE_PARSER_H_
#define LLMKIT_SRC_TEMPLATE_PARSER_H_

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "template/ast.h"
#include "template/lexer.h"

namespace llmkit::internal::tmpl {

// Parses one program's tokens; single use. Not thread-safe.
class Parser {
 public:
  Parser(Program* program, std::vector<Token> tokens)
      : program_(program), src_(program->source), tokens_(std::move(tokens)) {}

  absl::Status Run();

 private:
  using T = Token::Type;

  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.type == T::kOp && t.text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.type == T::kName && t.text == name;
  }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }

  absl::Status Error(uint32_t pos, std::string_view what) const {
    return TemplateError(absl::StatusCode::kInvalidArgument, *program_, pos, what);
  }
  absl::Status Unexpected(std::string_view expected) const;
  absl::Status ExpectOp(std::string_view op) {
    if (SkipOp(op)) return absl::OkStatus();
    return Unexpected(absl::StrCat("'", ToAbsl(op), "'"));
  }
  absl::Status ExpectName(std::string_view name) {
    if (SkipName(name)) return absl::OkStatus();
    return Unexpected(absl::StrCat("'", ToAbsl(name), "'"));
  }
  absl::StatusOr<std::string_view> ExpectIdentifier() {
    if (Peek().type != T::kName) return Unexpected("a name");
    return Next().text;
  }
  absl::Status ExpectBlockEnd();

  // Guards recursion in the parser against deeply nested input.
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  absl::Status CheckDepth() const;
  ExprPtr NewExpr(Expr::Kind kind, uint32_t pos);

  // Statements until a block tag whose first name is in `ends` (left unconsumed, positioned at
  // that name) or the end of the template.
  absl::StatusOr<Body> Subparse(std::initializer_list<std::string_view> ends);
  absl::Status ParseStatement(Body* body);
  absl::Status SkipContextModifier();
  absl::Status ParseIf(Stmt* s);
  absl::Status ParseFor(Stmt* s);
  absl::Status ParseSet(Stmt* s);
  absl::Status ParseParams(std::vector<MacroParam>* params);
  absl::Status ParseMacro(Stmt* s);
  absl::Status ParseCallBlock(Stmt* s);

  // name[.name] [= ...] or a, b, c (for loops and set).
  absl::StatusOr<Target> ParseTarget(bool with_namespace);

  // `|name(args)|name...` into filter expressions with a null input.
  absl::Status ParseFilterChain(std::vector<ExprPtr>* filters);

  // A tuple without parentheses (`a, b`) or one expression. `extra_end` stops at that name.
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr, bool explicit_parens,
                                     std::string_view extra_end = {});
  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr);
  absl::StatusOr<ExprPtr> ParseOr();
  absl::StatusOr<ExprPtr> ParseAnd();

  // operand (`word` operand)*, left-nested.
  template <absl::StatusOr<ExprPtr> (Parser::*kOperand)()>
  absl::StatusOr<ExprPtr> ParseLogical(std::string_view word, Expr::Kind kind);
  absl::StatusOr<ExprPtr> ParseNot();
  absl::StatusOr<ExprPtr> ParseCompare();
  ExprPtr Binary(Op op, uint32_t pos, ExprPtr left, ExprPtr right);
  absl::StatusOr<ExprPtr> ParseMath1();
  absl::StatusOr<ExprPtr> ParseConcat();
  absl::StatusOr<ExprPtr> ParseMath2();
  absl::StatusOr<ExprPtr> ParsePow();
  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter);
  absl::StatusOr<ExprPtr> ParsePrimary();
  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr node);

  // Arguments of a call, filter or test: `(a, b, k=v, *args, **kwargs)`, into `node`.
  absl::Status ParseCallArgs(Expr* node);
  absl::StatusOr<ExprPtr> ParseCall(ExprPtr callee);
  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  absl::StatusOr<std::string_view> ParseDottedName();

  // After '|': name and optional arguments; `input` may be null (filter blocks).
  absl::StatusOr<ExprPtr> ParseFilterTail(ExprPtr input);
  absl::StatusOr<ExprPtr> ParseTest(ExprPtr input);
  void NoteLoad(std::string_view name) {
    if (!macros_.empty()) {
      Stmt* m = macros_.back();
      if (name == "caller") m->uses_caller = true;
      if (name == "varargs") m->uses_varargs = true;
      if (name == "kwargs") m->uses_kwargs = true;
    }
    if (loaded_.insert(name).second) loaded_order_.push_back(name);
  }

  Program* program_;
  std::string_view src_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int conditional_ = 0;
  int loop_depth_ = 0;
  std::vector<Stmt*> macros_;
  absl::flat_hash_set<std::string_view> loaded_, assigned_;
  std::vector<std::string_view> loaded_order_;
};

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_PARSER_H_
