// Lexer and parser: Jinja2's lexing rules (whitespace control, trim_blocks, lstrip_blocks,
// newline normalization, raw blocks) and its expression grammar and statements, into ast.h.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "template/ast.h"
#include "unicode/py_text.h"
#include "unicode/utf8.h"

namespace llmkit::internal::tmpl {
namespace {

struct Token {
  enum class Type : uint8_t {
    kData,
    kVarBegin,
    kVarEnd,
    kBlockBegin,
    kBlockEnd,
    kName,
    kString,
    kInt,
    kFloat,
    kOp,
    kEof,
  };
  Type type;
  uint32_t pos;
  std::string_view text;  // Data, names, operators; the decoded value for strings.
  int64_t int_value = 0;
  double float_value = 0;
};

using T = Token::Type;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size()) {
    size_t n = PySpaceLength(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

class Lexer {
 public:
  Lexer(const Program& program, std::vector<std::unique_ptr<std::string>>* strings)
      : program_(program), src_(program.source), options_(program.options), strings_(strings) {}

  absl::StatusOr<std::vector<Token>> Run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t tag = FindTagStart(pos);
      if (tag == std::string_view::npos) {
        Emit(T::kData, pos, src_.substr(pos));
        break;
      }
      char kind = src_[tag + 1];
      size_t after = tag + 2;
      char sign =
          after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
      bool raw = false;
      size_t raw_end = 0;
      if (kind == '%') raw = MatchRawBegin(after + (sign ? 1 : 0), &raw_end);
      std::string_view text = StripBeforeTag(src_.substr(pos, tag - pos), sign, kind != '{');
      if (!text.empty()) Emit(T::kData, pos, text);
      line_starting_ = false;
      if (raw) {
        LLMKIT_RETURN_IF_ERROR(LexRaw(tag, raw_end, &pos));
      } else if (kind == '#') {
        LLMKIT_RETURN_IF_ERROR(LexComment(tag, after + (sign ? 1 : 0), &pos));
      } else {
        LLMKIT_RETURN_IF_ERROR(LexTag(kind, tag, after + (sign ? 1 : 0), &pos));
      }
    }
    Emit(T::kEof, static_cast<uint32_t>(src_.size()), {});
    return std::move(tokens_);
  }

 private:
  absl::Status Error(size_t pos, std::string_view what) {
    return TemplateError(absl::StatusCode::kInvalidArgument, program_, static_cast<uint32_t>(pos),
                         what);
  }

  // The text before a tag after its whitespace control: `-` strips all trailing whitespace;
  // otherwise, with lstrip_blocks, a block-like tag (not `{{`) strips the spaces and tabs that
  // alone precede it on its line (unless marked `+`).
  std::string_view StripBeforeTag(std::string_view text, char sign, bool block_like) const {
    if (sign == '-') return text.substr(0, RstripLength(text));
    if (sign == '+' || !options_.lstrip_blocks || !block_like) return text;
    size_t l_pos = text.rfind('\n');
    l_pos = l_pos == std::string_view::npos ? 0 : l_pos + 1;
    if ((l_pos > 0 || line_starting_) && l_pos < text.size() &&
        SkipSpaces(text, l_pos) == text.size()) {
      return text.substr(0, l_pos);
    }
    return text;
  }

  void Emit(T type, size_t pos, std::string_view text) {
    tokens_.push_back(Token{type, static_cast<uint32_t>(pos), text});
  }

  size_t FindTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string_view::npos;
  }

  // `{%[-+]? \s* raw \s* (-%}\s* | %})`, starting after the sign; sets *end past it.
  bool MatchRawBegin(size_t i, size_t* end) const {
    i = SkipSpaces(src_, i);
    if (src_.substr(i, 3) != "raw") return false;
    i = SkipSpaces(src_, i + 3);
    if (src_.substr(i, 3) == "-%}") {
      *end = SkipSpaces(src_, i + 3);
      return true;
    }
    if (src_.substr(i, 2) == "%}") {
      *end = i + 2;
      return true;
    }
    return false;
  }

  // The end of a block-like tag at `i` (`+%}`, `-%}\s*`, `%}` plus trim_blocks' newline), with
  // `close` = '%' or '#'. Returns the position past it, or npos when there is none at `i`.
  size_t MatchBlockEnd(size_t i, char close) const {
    if (i + 2 < src_.size() + 0 && (src_[i] == '+' || src_[i] == '-') && src_[i + 1] == close &&
        i + 2 < src_.size() && src_[i + 2] == '}') {
      return src_[i] == '-' ? SkipSpaces(src_, i + 3) : i + 3;
    }
    if (i + 1 < src_.size() && src_[i] == close && src_[i + 1] == '}') {
      size_t end = i + 2;
      if (options_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
      return end;
    }
    return std::string_view::npos;
  }

  void SetLineStarting(size_t end) { line_starting_ = end > 0 && src_[end - 1] == '\n'; }

  absl::Status LexComment(size_t tag, size_t i, size_t* pos) {
    for (; i < src_.size(); ++i) {
      size_t end = MatchBlockEnd(i, '#');
      if (end != std::string_view::npos) {
        *pos = end;
        SetLineStarting(end);
        return absl::OkStatus();
      }
    }
    return Error(tag, "missing end of comment tag");
  }

  absl::Status LexRaw(size_t tag, size_t begin, size_t* pos) {
    SetLineStarting(begin);
    // (.*?)({%[-+]?\s*endraw\s*(+%}|-%}\s*|%}\n?)) with the data lstripped like a tag's.
    for (size_t i = src_.find("{%", begin); i != std::string_view::npos;
         i = src_.find("{%", i + 1)) {
      size_t j = i + 2;
      char sign = j < src_.size() && (src_[j] == '-' || src_[j] == '+') ? src_[j] : 0;
      if (sign) ++j;
      j = SkipSpaces(src_, j);
      if (src_.substr(j, 6) != "endraw") continue;
      j = SkipSpaces(src_, j + 6);
      size_t end = MatchBlockEnd(j, '%');
      if (end == std::string_view::npos) continue;
      std::string_view text = StripBeforeTag(src_.substr(begin, i - begin), sign, true);
      if (!text.empty()) Emit(T::kData, begin, text);
      *pos = end;
      SetLineStarting(end);
      return absl::OkStatus();
    }
    return Error(tag, "missing end of raw directive");
  }

  absl::Status LexTag(char kind, size_t tag, size_t i, size_t* pos) {
    bool block = kind == '%';
    Emit(block ? T::kBlockBegin : T::kVarBegin, tag, {});
    std::vector<char> balance;
    while (true) {
      i = SkipSpaces(src_, i);
      if (i >= src_.size()) {
        return Error(tag, block ? "unexpected end of template: missing '%}'"
                                : "unexpected end of template: missing '}}'");
      }
      if (balance.empty()) {
        size_t end = std::string_view::npos;
        if (block) {
          end = MatchBlockEnd(i, '%');
        } else if (src_.substr(i, 3) == "-}}") {
          end = SkipSpaces(src_, i + 3);
        } else if (src_.substr(i, 2) == "}}") {
          end = i + 2;
        }
        if (end != std::string_view::npos) {
          Emit(block ? T::kBlockEnd : T::kVarEnd, i, {});
          *pos = end;
          SetLineStarting(end);
          return absl::OkStatus();
        }
      }
      char c = src_[i];
      if (IsDigit(c)) {
        LLMKIT_RETURN_IF_ERROR(LexNumber(&i));
      } else if (IsNameStart(c)) {
        size_t j = i;
        while (j < src_.size() && IsNameChar(src_[j])) ++j;
        Emit(T::kName, i, src_.substr(i, j - i));
        i = j;
      } else if (c == '\'' || c == '"') {
        LLMKIT_RETURN_IF_ERROR(LexString(&i));
      } else {
        static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
        size_t len = 0;
        for (std::string_view op : kTwo) {
          if (src_.substr(i, 2) == op) len = 2;
        }
        if (len == 0) {
          if (std::strchr("+-/*%~[](){}<>=.:|,;", c) == nullptr || c == '\0') {
            return Error(i, absl::StrCat("unexpected char '", ToAbsl(src_.substr(i, 1)), "'"));
          }
          len = 1;
          if (c == '(' || c == '[' || c == '{') {
            balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
          } else if (c == ')' || c == ']' || c == '}') {
            if (balance.empty()) {
              return Error(i, absl::StrCat("unexpected '", ToAbsl(src_.substr(i, 1)), "'"));
            }
            if (balance.back() != c) {
              return Error(i, absl::StrCat("unexpected '", ToAbsl(src_.substr(i, 1)),
                                           "', expected '", std::string(1, balance.back()), "'"));
            }
            balance.pop_back();
          }
        }
        Emit(T::kOp, i, src_.substr(i, len));
        i += len;
      }
    }
  }

  // Digits with single underscores between them, as Python and Jinja2 accept.
  static size_t Digits(std::string_view s, size_t i, bool (*ok)(char)) {
    size_t j = i;
    while (j < s.size() && ok(s[j])) {
      ++j;
      if (j + 1 < s.size() && s[j] == '_' && ok(s[j + 1])) ++j;
    }
    return j;
  }

  absl::Status LexNumber(size_t* pos) {
    size_t i = *pos;
    auto is_dec = [](char c) { return IsDigit(c); };
    auto strip = [](std::string_view s) {
      std::string out;
      for (char c : s) {
        if (c != '_') out.push_back(c);
      }
      return out;
    };
    // Float: digits ( (.digits)? e[+-]?digits | .digits ), not after a '.' (x.0.1 is items).
    bool after_dot = i > 0 && src_[i - 1] == '.';
    size_t j = Digits(src_, i, is_dec);
    size_t k = j;
    bool is_float = false;
    if (!after_dot) {
      if (k + 1 < src_.size() && src_[k] == '.' && IsDigit(src_[k + 1])) {
        k = Digits(src_, k + 1, is_dec);
        is_float = true;
      }
      if (k < src_.size() && (src_[k] == 'e' || src_[k] == 'E')) {
        size_t m = k + 1;
        if (m < src_.size() && (src_[m] == '+' || src_[m] == '-')) ++m;
        if (m < src_.size() && IsDigit(src_[m])) {
          k = Digits(src_, m, is_dec);
          is_float = true;
        }
      }
    }
    if (is_float) {
      std::string digits = strip(src_.substr(i, k - i));
      Token t{T::kFloat, static_cast<uint32_t>(i), src_.substr(i, k - i)};
      t.float_value = std::strtod(digits.c_str(), nullptr);
      tokens_.push_back(t);
      *pos = k;
      return absl::OkStatus();
    }
    int base = 10;
    size_t begin = i;
    if (src_[i] == '0' && i + 1 < src_.size()) {
      char p = src_[i + 1] | 0x20;
      base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 10;
      if (base != 10) {
        begin = i + 2;
        j = begin;
        while (j < src_.size() &&
               (std::isxdigit(static_cast<unsigned char>(src_[j])) || src_[j] == '_')) {
          ++j;
        }
      }
    }
    std::string digits = strip(src_.substr(begin, j - begin));
    errno = 0;
    char* end = nullptr;
    unsigned long long value = std::strtoull(digits.c_str(), &end, base);
    if (digits.empty() || *end != '\0') return Error(i, "invalid integer literal");
    if (errno == ERANGE || value > static_cast<unsigned long long>(INT64_MAX)) {
      return Error(i, "integer literal out of range (64-bit integers only)");
    }
    Token t{T::kInt, static_cast<uint32_t>(i), src_.substr(i, j - i)};
    t.int_value = static_cast<int64_t>(value);
    tokens_.push_back(t);
    *pos = j;
    return absl::OkStatus();
  }

  absl::Status LexString(size_t* pos) {
    size_t i = *pos;
    char quote = src_[i];
    std::string value;
    size_t j = i + 1;
    bool escaped = false;
    while (true) {
      if (j >= src_.size()) return Error(i, "unterminated string");
      char c = src_[j];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        ++j;
        continue;
      }
      escaped = true;
      if (j + 1 >= src_.size()) return Error(i, "unterminated string");
      char e = src_[j + 1];
      j += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          value.push_back('\\');
          break;
        case '\'':
          value.push_back('\'');
          break;
        case '"':
          value.push_back('"');
          break;
        case 'a':
          value.push_back('\a');
          break;
        case 'b':
          value.push_back('\b');
          break;
        case 'f':
          value.push_back('\f');
          break;
        case 'n':
          value.push_back('\n');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'v':
          value.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (j + n > src_.size()) return Error(j - 2, "truncated \\x/\\u escape in string");
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            char h = src_[j + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) {
              return Error(j - 2, "truncated \\x/\\u escape in string");
            }
            cp = cp * 16 + static_cast<uint32_t>(IsDigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
          }
          j += n;
          if (cp > 0x10FFFF) return Error(j - n - 2, "illegal Unicode character in string");
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // Lone surrogates cannot be UTF-8.
          AppendUtf8(cp, &value);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && j < src_.size() && src_[j] >= '0' && src_[j] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[j++] - '0');
            }
            AppendUtf8(cp, &value);
          } else if (e == 'N') {
            return Error(j - 2, "\\N{...} escapes are not supported");
          } else {
            value.push_back('\\');
            value.push_back(e);
          }
      }
    }
    Token t{T::kString, static_cast<uint32_t>(i), {}};
    if (escaped) {
      strings_->push_back(std::make_unique<std::string>(std::move(value)));
      t.text = *strings_->back();
    } else {
      t.text = src_.substr(i + 1, j - i - 1);
    }
    tokens_.push_back(t);
    *pos = j + 1;
    return absl::OkStatus();
  }

  const Program& program_;
  std::string_view src_;
  const TemplateOptions& options_;
  std::vector<std::unique_ptr<std::string>>* strings_;
  std::vector<Token> tokens_;
  bool line_starting_ = true;
};

// Names a template can read without its context providing them.
bool IsGlobalName(std::string_view name) {
  return IsGlobalFunction(name) || name == "loop" || name == "caller" || name == "varargs" ||
         name == "kwargs";
}

class Parser {
 public:
  Parser(Program* program, std::vector<Token> tokens)
      : program_(program), src_(program->source), tokens_(std::move(tokens)) {}

  absl::Status Run() {
    LLMKIT_ASSIGN_OR_RETURN(program_->body, Subparse({}));
    if (Peek().type != T::kEof) return Error(Peek().pos, "unexpected tag");
    for (std::string_view name : loaded_order_) {
      if (!assigned_.contains(name) && !IsGlobalName(name)) {
        program_->variables.emplace_back(name);
      }
    }
    return absl::OkStatus();
  }

 private:
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
  absl::Status Unexpected(std::string_view expected) const {
    const Token& t = Peek();
    std::string got = t.type == T::kEof        ? "end of template"
                      : t.type == T::kBlockEnd ? "end of statement block"
                      : t.type == T::kVarEnd   ? "end of print statement"
                      : t.type == T::kString   ? "string"
                      : t.type == T::kData     ? "template data"
                                               : absl::StrCat("'", ToAbsl(t.text), "'");
    return Error(t.pos, absl::StrCat("expected ", ToAbsl(expected), ", got ", got));
  }
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
  absl::Status ExpectBlockEnd() {
    if (Peek().type == T::kBlockEnd) {
      Next();
      return absl::OkStatus();
    }
    return Unexpected("end of statement block");
  }

  // Guards recursion in the parser against deeply nested input.
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  absl::Status CheckDepth() const {
    if (depth_ <= program_->options.limits.max_nesting_depth) return absl::OkStatus();
    return TemplateError(
        absl::StatusCode::kResourceExhausted, *program_, Peek().pos,
        absl::StrCat("template nests deeper than ", program_->options.limits.max_nesting_depth,
                     " levels (limits.max_nesting_depth)"));
  }

  ExprPtr NewExpr(Expr::Kind kind, uint32_t pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // Statements until a block tag whose first name is in `ends` (left unconsumed, positioned at
  // that name) or the end of the template.
  absl::StatusOr<Body> Subparse(std::initializer_list<std::string_view> ends) {
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

  absl::Status ParseStatement(Body* body) {
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

  absl::Status SkipContextModifier() {
    if ((IsName("with") || IsName("without")) && IsName("context", 1)) {
      Next();
      Next();
    }
    return absl::OkStatus();
  }

  absl::Status ParseIf(Stmt* s) {
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

  absl::Status ParseFor(Stmt* s) {
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

  absl::Status ParseSet(Stmt* s) {
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

  absl::Status ParseParams(std::vector<MacroParam>* params) {
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

  absl::Status ParseMacro(Stmt* s) {
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

  absl::Status ParseCallBlock(Stmt* s) {
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
  absl::StatusOr<Target> ParseTarget(bool with_namespace) {
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
  absl::Status ParseFilterChain(std::vector<ExprPtr>* filters) {
    do {
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr f, ParseFilterTail(nullptr));
      filters->push_back(std::move(f));
    } while (SkipOp("|"));
    return absl::OkStatus();
  }

  // --- Expressions -----------------------------------------------------------------------

  // A tuple without parentheses (`a, b`) or one expression. `extra_end` stops at that name.
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr, bool explicit_parens,
                                     std::string_view extra_end = {}) {
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

  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr) {
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

  absl::StatusOr<ExprPtr> ParseOr() {
    return ParseLogical<&Parser::ParseAnd>("or", Expr::Kind::kOr);
  }
  absl::StatusOr<ExprPtr> ParseAnd() {
    return ParseLogical<&Parser::ParseNot>("and", Expr::Kind::kAnd);
  }

  // operand (`word` operand)*, left-nested.
  template <absl::StatusOr<ExprPtr> (Parser::*kOperand)()>
  absl::StatusOr<ExprPtr> ParseLogical(std::string_view word, Expr::Kind kind) {
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

  absl::StatusOr<ExprPtr> ParseNot() {
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

  absl::StatusOr<ExprPtr> ParseCompare() {
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

  ExprPtr Binary(Op op, uint32_t pos, ExprPtr left, ExprPtr right) {
    ExprPtr node = NewExpr(Expr::Kind::kBinary, pos);
    node->op = op;
    if (op == Op::kAdd || op == Op::kConcat) {
      if (left->kind == Expr::Kind::kBinary && left->op == op && !left->chain.empty()) {
        node->chain = std::move(left->chain);
        left->chain.clear();
      } else {
        node->chain.push_back(left.get());
      }
      node->chain.push_back(right.get());
    }
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    return node;
  }

  absl::StatusOr<ExprPtr> ParseMath1() {
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      const Token& t = Next();
      Op op = t.text == "+" ? Op::kAdd : Op::kSub;
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      left = Binary(op, t.pos, std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseConcat() {
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
    while (IsOp("~")) {
      uint32_t pos = Next().pos;
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
      left = Binary(Op::kConcat, pos, std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseMath2() {
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

  absl::StatusOr<ExprPtr> ParsePow() {
    LLMKIT_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
    while (IsOp("**")) {
      uint32_t pos = Next().pos;
      LLMKIT_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
      left = Binary(Op::kPow, pos, std::move(left), std::move(right));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter) {
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

  absl::StatusOr<ExprPtr> ParsePrimary() {
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

  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node) {
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

  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr node) {
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
  absl::Status ParseCallArgs(Expr* node) {
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

  absl::StatusOr<ExprPtr> ParseCall(ExprPtr callee) {
    ExprPtr call = NewExpr(Expr::Kind::kCall, Peek().pos);
    call->children.push_back(std::move(callee));
    LLMKIT_RETURN_IF_ERROR(ParseCallArgs(call.get()));
    return call;
  }

  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node) {
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

  absl::StatusOr<std::string_view> ParseDottedName() {
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
  absl::StatusOr<ExprPtr> ParseFilterTail(ExprPtr input) {
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

  absl::StatusOr<ExprPtr> ParseTest(ExprPtr input) {
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
      bool starts_arg =
          t.type == T::kString || t.type == T::kInt || t.type == T::kFloat ||
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

}  // namespace

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
  Lexer lexer(*program, &program->strings);
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.Run());
  Parser parser(program.get(), std::move(tokens));
  LLMKIT_RETURN_IF_ERROR(parser.Run());
  return program;
}

}  // namespace llmkit::internal::tmpl
