// The template lexer: finds tags in the data, applies whitespace control, and tokenizes
// names, numbers, string literals and operators inside tags.

#include "template/lexer.h"

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

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(const Program& program,
                                       std::vector<std::unique_ptr<std::string>>* strings) {
  return Lexer(program, strings).Run();
}

}  // namespace llmkit::internal::tmpl
