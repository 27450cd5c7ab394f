// The template parser's statements (if, for, set, macro, call, filter, include, import, raw
// text) and the entry points Parse and TemplateError.

#include "template/parser.h"

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
#include "unicode/py_text.h"
#include "unicode/utf8.h"

namespace llmkit::internal::tmpl {
namespace {

// Names a template can read without its context providing them.
bool IsGlobalName(std::string_view name) {
  return IsGlobalFunction(name) || name == "loop" || name == "caller" || name == "varargs" ||
         name == "kwargs";
}

}  // namespace

absl::Status Parser::Run() {
  LLMKIT_ASSIGN_OR_RETURN(program_->body, Subparse({}));
  if (Peek().type != T::kEof) return Error(Peek().pos, "unexpected tag");
  for (std::string_view name : loaded_order_) {
    if (!assigned_.contains(name) && !IsGlobalName(name)) {
      program_->variables.emplace_back(name);
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::Unexpected(std::string_view expected) const {
  const Token& t = Peek();
  std::string got = t.type == T::kEof        ? "end of template"
                    : t.type == T::kBlockEnd ? "end of statement block"
                    : t.type == T::kVarEnd   ? "end of print statement"
                    : t.type == T::kString   ? "string"
                    : t.type == T::kData     ? "template data"
                                             : absl::StrCat("'", ToAbsl(t.text), "'");
  return Error(t.pos, absl::StrCat("expected ", ToAbsl(expected), ", got ", got));
}

absl::Status Parser::ExpectBlockEnd() {
  if (Peek().type == T::kBlockEnd) {
    Next();
    return absl::OkStatus();
  }
  return Unexpected("end of statement block");
}

absl::Status Parser::CheckDepth() const {
  if (depth_ <= program_->options.limits.max_nesting_depth) return absl::OkStatus();
  return TemplateError(
      absl::StatusCode::kResourceExhausted, *program_, Peek().pos,
      absl::StrCat("template nests deeper than ", program_->options.limits.max_nesting_depth,
                   " levels (limits.max_nesting_depth)"));
}

ExprPtr Parser::NewExpr(Expr::Kind kind, uint32_t pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

// Statements until a block tag whose first name is in `ends` (left unconsumed, positioned at
// that name) or the end of the template.
absl::StatusOr<Body> Parser::Subparse(std::initializer_list<std::string_view> ends) {
  DepthGuard guard(this);
  LLMKIT_RETURN_IF_ERROR(CheckDepth());
  Body body;
  while (true) {
    const Token& t = Peek();
    if (t.type == T::kEof) {
      if (ends.size() != 0) {
        std::string names;
        for (std::string_view e : ends) {
          absl::StrAppend(&names, names.empty() ? "" : " or ", "'", ToAbsl(e), "'");
        }
        return Error(t.pos, absl::StrCat("unexpected end of template: expected ", names));
      }
      return body;
    }
    if (t.type == T::kData) {
      Stmt s;
      s.kind = Stmt::Kind::kData;
      s.pos = t.pos;
      s.text = t.text;
      Next();
      if (!body.empty() && body.back().kind == Stmt::Kind::kData &&
          body.back().text.data() + body.back().text.size() == s.text.data()) {
        body.back().text =
            std::string_view(body.back().text.data(), body.back().text.size() + s.text.size());
      } else {
        body.push_back(std::move(s));
      }
      continue;
    }
    if (t.type == T::kVarBegin) {
      Stmt s;
      s.kind = Stmt::Kind::kPrint;
      s.pos = t.pos;
      Next();
      LLMKIT_ASSIGN_OR_RETURN(s.expr, ParseTuple(true, false));
      if (Peek().type != T::kVarEnd) return Unexpected("end of print statement");
      Next();
      body.push_back(std::move(s));
      continue;
    }
    if (t.type != T::kBlockBegin) return Unexpected("template data or a tag");
    const Token& name = Peek(1);
    if (name.type == T::kName) {
      for (std::string_view e : ends) {
        if (name.text == e) {
          Next();  // Block begin; the caller reads the name.
          return body;
        }
      }
    }
    Next();
    LLMKIT_RETURN_IF_ERROR(ParseStatement(&body));
  }
}

absl::Status Parser::ParseStatement(Body* body) {
  const Token& t = Peek();
  if (t.type != T::kName) return Error(t.pos, "tag name expected");
  std::string_view name = t.text;
  uint32_t pos = t.pos;
  Next();
  Stmt s;
  s.pos = pos;
  if (name == "if") {
    LLMKIT_RETURN_IF_ERROR(ParseIf(&s));
  } else if (name == "for") {
    LLMKIT_RETURN_IF_ERROR(ParseFor(&s));
  } else if (name == "set") {
    LLMKIT_RETURN_IF_ERROR(ParseSet(&s));
  } else if (name == "macro") {
    LLMKIT_RETURN_IF_ERROR(ParseMacro(&s));
  } else if (name == "call") {
    LLMKIT_RETURN_IF_ERROR(ParseCallBlock(&s));
  } else if (name == "filter") {
    s.kind = Stmt::Kind::kFilterBlock;
    LLMKIT_RETURN_IF_ERROR(ParseFilterChain(&s.filters));
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    LLMKIT_ASSIGN_OR_RETURN(s.body, Subparse({"endfilter"}));
    Next();
  } else if (name == "break" || name == "continue") {
    if (loop_depth_ == 0) {
      return Error(pos, absl::StrCat("'", ToAbsl(name), "' outside of a loop"));
    }
    s.kind = name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
  } else if (name == "generation") {
    // transformers' assistant-mask extension: the body renders unchanged.
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    LLMKIT_ASSIGN_OR_RETURN(Body inner, Subparse({"endgeneration"}));
    Next();
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    for (Stmt& st : inner) body->push_back(std::move(st));
    return absl::OkStatus();
  } else if (name == "include") {
    s.kind = Stmt::Kind::kInclude;
    LLMKIT_ASSIGN_OR_RETURN(s.expr, ParseExpression(true));
    if (IsName("ignore") && IsName("missing", 1)) {
      Next();
      Next();
      s.ignore_missing = true;
    }
    LLMKIT_RETURN_IF_ERROR(SkipContextModifier());
  } else if (name == "import") {
    s.kind = Stmt::Kind::kImport;
    LLMKIT_ASSIGN_OR_RETURN(s.expr, ParseExpression(true));
    LLMKIT_RETURN_IF_ERROR(ExpectName("as"));
    LLMKIT_ASSIGN_OR_RETURN(s.name, ExpectIdentifier());
    assigned_.insert(s.name);
    LLMKIT_RETURN_IF_ERROR(SkipContextModifier());
  } else if (name == "from") {
    s.kind = Stmt::Kind::kFromImport;
    LLMKIT_ASSIGN_OR_RETURN(s.expr, ParseExpression(true));
    LLMKIT_RETURN_IF_ERROR(ExpectName("import"));
    do {
      if (IsName("with") || IsName("without")) break;
      LLMKIT_ASSIGN_OR_RETURN(std::string_view imported, ExpectIdentifier());
      std::string_view alias = imported;
      if (SkipName("as")) {
        LLMKIT_ASSIGN_OR_RETURN(alias, ExpectIdentifier());
      }
      assigned_.insert(alias);
      s.imports.emplace_back(imported, alias);
    } while (SkipOp(","));
    LLMKIT_RETURN_IF_ERROR(SkipContextModifier());
  } else if (name == "do") {
    s.kind = Stmt::Kind::kDo;
    LLMKIT_ASSIGN_OR_RETURN(s.expr, ParseTuple(true, false));
  } else if (name == "with") {
    s.kind = Stmt::Kind::kWith;
    while (Peek().type != T::kBlockEnd) {
      if (!s.assignments.empty()) LLMKIT_RETURN_IF_ERROR(ExpectOp(","));
      LLMKIT_ASSIGN_OR_RETURN(Target target, ParseTarget(false));
      LLMKIT_RETURN_IF_ERROR(ExpectOp("="));
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      s.assignments.emplace_back(std::move(target), std::move(value));
    }
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    LLMKIT_ASSIGN_OR_RETURN(s.body, Subparse({"endwith"}));
    Next();
  } else if (name == "extends" || name == "block") {
    return Error(pos, absl::StrCat("'", ToAbsl(name),
                                   "' (template inheritance) is not supported; use "
                                   "include or macros"));
  } else {
    return Error(pos, absl::StrCat("unknown tag '", ToAbsl(name), "'"));
  }
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  body->push_back(std::move(s));
  return absl::OkStatus();
}

absl::Status Parser::SkipContextModifier() {
  if ((IsName("with") || IsName("without")) && IsName("context", 1)) {
    Next();
    Next();
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseIf(Stmt* s) {
  s->kind = Stmt::Kind::kIf;
  LLMKIT_ASSIGN_OR_RETURN(s->expr, ParseTuple(false, false));
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  ++conditional_;
  absl::StatusOr<Body> body = Subparse({"elif", "else", "endif"});
  --conditional_;
  if (!body.ok()) return body.status();
  s->body = *std::move(body);
  const Token& end = Next();
  if (end.text == "elif") {
    Stmt nested;
    nested.pos = end.pos;
    LLMKIT_RETURN_IF_ERROR(ParseIf(&nested));
    s->else_body.push_back(std::move(nested));
    return absl::OkStatus();  // The nested if consumed endif; our caller expects block end.
  }
  if (end.text == "else") {
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    ++conditional_;
    absl::StatusOr<Body> else_body = Subparse({"endif"});
    --conditional_;
    if (!else_body.ok()) return else_body.status();
    s->else_body = *std::move(else_body);
    Next();
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseFor(Stmt* s) {
  s->kind = Stmt::Kind::kFor;
  LLMKIT_ASSIGN_OR_RETURN(s->target, ParseTarget(false));
  LLMKIT_RETURN_IF_ERROR(ExpectName("in"));
  LLMKIT_ASSIGN_OR_RETURN(s->expr, ParseTuple(false, false, "recursive"));
  if (SkipName("if")) {
    LLMKIT_ASSIGN_OR_RETURN(s->filter, ParseExpression(true));
  }
  s->recursive = SkipName("recursive");
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  ++loop_depth_;
  absl::StatusOr<Body> body = Subparse({"endfor", "else"});
  --loop_depth_;
  if (!body.ok()) return body.status();
  s->body = *std::move(body);
  if (Next().text == "else") {
    LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
    LLMKIT_ASSIGN_OR_RETURN(s->else_body, Subparse({"endfor"}));
    Next();
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseSet(Stmt* s) {
  LLMKIT_ASSIGN_OR_RETURN(s->target, ParseTarget(true));
  if (SkipOp("=")) {
    s->kind = Stmt::Kind::kSet;
    LLMKIT_ASSIGN_OR_RETURN(s->expr, ParseTuple(true, false));
    return absl::OkStatus();
  }
  s->kind = Stmt::Kind::kSetBlock;
  if (IsOp("|")) {
    Next();
    LLMKIT_RETURN_IF_ERROR(ParseFilterChain(&s->filters));
  }
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  LLMKIT_ASSIGN_OR_RETURN(s->body, Subparse({"endset"}));
  Next();
  return absl::OkStatus();
}

absl::Status Parser::ParseParams(std::vector<MacroParam>* params) {
  LLMKIT_RETURN_IF_ERROR(ExpectOp("("));
  while (!IsOp(")")) {
    if (!params->empty()) LLMKIT_RETURN_IF_ERROR(ExpectOp(","));
    if (IsOp(")")) break;
    MacroParam p;
    LLMKIT_ASSIGN_OR_RETURN(p.name, ExpectIdentifier());
    if (SkipOp("=")) {
      LLMKIT_ASSIGN_OR_RETURN(p.default_value, ParseExpression(true));
    } else if (!params->empty() && params->back().default_value) {
      return Error(Peek().pos, "non-default argument follows default argument");
    }
    params->push_back(std::move(p));
  }
  Next();
  return absl::OkStatus();
}

absl::Status Parser::ParseMacro(Stmt* s) {
  s->kind = Stmt::Kind::kMacro;
  LLMKIT_ASSIGN_OR_RETURN(s->name, ExpectIdentifier());
  assigned_.insert(s->name);
  LLMKIT_RETURN_IF_ERROR(ParseParams(&s->params));
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  macros_.push_back(s);
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  absl::StatusOr<Body> body = Subparse({"endmacro"});
  loop_depth_ = saved_loops;
  macros_.pop_back();
  if (!body.ok()) return body.status();
  s->body = *std::move(body);
  Next();
  return absl::OkStatus();
}

absl::Status Parser::ParseCallBlock(Stmt* s) {
  s->kind = Stmt::Kind::kCallBlock;
  if (IsOp("(")) LLMKIT_RETURN_IF_ERROR(ParseParams(&s->params));
  uint32_t pos = Peek().pos;
  LLMKIT_ASSIGN_OR_RETURN(s->expr, ParseExpression(true));
  if (s->expr->kind != Expr::Kind::kCall) return Error(pos, "expected call");
  LLMKIT_RETURN_IF_ERROR(ExpectBlockEnd());
  // The caller's body behaves like a macro's (its own scope, caller's arguments).
  macros_.push_back(s);
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  absl::StatusOr<Body> body = Subparse({"endcall"});
  loop_depth_ = saved_loops;
  macros_.pop_back();
  if (!body.ok()) return body.status();
  s->body = *std::move(body);
  Next();
  return absl::OkStatus();
}

// name[.name] [= ...] or a, b, c (for loops and set).
absl::StatusOr<Target> Parser::ParseTarget(bool with_namespace) {
  Target target;
  bool parens = SkipOp("(");
  LLMKIT_ASSIGN_OR_RETURN(std::string_view first, ExpectIdentifier());
  target.names.push_back(first);
  if (with_namespace && !parens && IsOp(".")) {
    Next();
    LLMKIT_ASSIGN_OR_RETURN(target.attribute, ExpectIdentifier());
    return target;
  }
  while (SkipOp(",")) {
    target.unpack = true;
    if (Peek().type != T::kName || IsName("in")) break;
    LLMKIT_ASSIGN_OR_RETURN(std::string_view next, ExpectIdentifier());
    target.names.push_back(next);
  }
  if (parens) {
    LLMKIT_RETURN_IF_ERROR(ExpectOp(")"));
    target.unpack = target.unpack || target.names.size() > 1;
  }
  for (std::string_view n : target.names) assigned_.insert(n);
  return target;
}

// `|name(args)|name...` into filter expressions with a null input.
absl::Status Parser::ParseFilterChain(std::vector<ExprPtr>* filters) {
  do {
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr f, ParseFilterTail(nullptr));
    filters->push_back(std::move(f));
  } while (SkipOp("|"));
  return absl::OkStatus();
}

std::string Where(std::string_view source, uint32_t offset) {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(source.size()));
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t column = CountCodePoints(source.substr(line_start, offset - line_start)) + 1;
  return absl::StrCat("line ", line, ", column ", column);
}

absl::Status TemplateError(absl::StatusCode code, const Program& program, uint32_t pos,
                           std::string_view what) {
  return WithPayload(
      absl::Status(code, absl::StrCat(ToAbsl(program.options.name), ": ",
                                      ToAbsl(Where(program.source, pos)), ": ", ToAbsl(what))),
      kPayloadByteOffset, std::to_string(pos));
}

absl::StatusOr<std::shared_ptr<Program>> Parse(std::string_view source,
                                               const TemplateOptions& options) {
  LLMKIT_RETURN_IF_ERROR(CheckUtf8(source));
  auto program = std::make_shared<Program>();
  program->options = options;
  // Jinja2 treats \r\n, \r and \n as line breaks and writes them as \n; it drops one final
  // newline unless keep_trailing_newline.
  std::string& normalized = program->source;
  normalized.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      normalized.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      normalized.push_back(source[i]);
    }
  }
  if (!options.keep_trailing_newline && !normalized.empty() && normalized.back() == '\n') {
    normalized.pop_back();
  }
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(*program, &program->strings));
  Parser parser(program.get(), std::move(tokens));
  LLMKIT_RETURN_IF_ERROR(parser.Run());
  return program;
}

}  // namespace llmkit::internal::tmpl
