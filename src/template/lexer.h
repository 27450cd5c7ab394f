// The template lexer: Jinja2's lexing rules (whitespace control, trim_blocks, lstrip_blocks,
// raw blocks, comments) turning a normalized source into tokens for parser.h.

#ifndef LLMKIT_SRC_TEMPLATE_LEXER_H_
#define LLMKIT_SRC_TEMPLATE_LEXER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "template/ast.h"

namespace llmkit::internal::tmpl {

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

// The tokens of `program.source` (already newline-normalized), ending with kEof. Decoded string
// literals are kept alive in `strings`.
absl::StatusOr<std::vector<Token>> Lex(const Program& program,
                                       std::vector<std::unique_ptr<std::string>>* strings);

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_LEXER_H_
