// The syntax tree a compiled template keeps: expressions and statements, each with the byte
// offset of its first token in the (newline-normalized) source for error messages.

#ifndef LLMKIT_SRC_TEMPLATE_AST_H_
#define LLMKIT_SRC_TEMPLATE_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "llmkit/template.h"
#include "template/value.h"

namespace llmkit::internal::tmpl {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
class Renderer;

using Args = absl::InlinedVector<Value, 4>;
using Kwargs = absl::InlinedVector<std::pair<std::string_view, Value>, 2>;

// A filter or test implementation: `args[0]` is the value filtered/tested.
using BuiltinFn = absl::StatusOr<Value> (*)(Renderer& r, const Expr& at, Args& args,
                                            Kwargs& kwargs);

enum class Op : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kPow,
  kConcat,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kNotIn,
  kNeg,
  kPos,
  kNot,
};

struct Expr {
  // Frees the subtree with a work list: a chain like x.a.a.a... 100,000 long nests that deep,
  // and freeing it by recursion would overflow the stack.
  ~Expr();

  enum class Kind : uint8_t {
    kLiteral,  // literal (None/bool/int/double/string)
    kName,     // name
    kList,     // children
    kTuple,    // children
    kDict,     // children: key, value, key, value...
    kGetAttr,  // children[0] . name
    kGetItem,  // children[0] [ children[1] ]
    kSlice,    // children[0] [ children[1] : children[2] : children[3] ] (null = omitted)
    kCall,     // children[0] ( children[1..] , kwargs, *dyn_args, **dyn_kwargs )
    kFilter,   // name, children[0] = input, children[1..] = args, kwargs
    kTest,     // name, children[0] = input, children[1..] = args, kwargs; negate
    kUnary,    // op children[0]
    kBinary,   // children[0] op children[1]
    kCompare,  // children[0] ops[0] children[1] ops[1] children[2]...
    kAnd,
    kOr,
    kCond,  // children[0] if children[1] else children[2] (null: undefined)
  };
  Kind kind;
  Op op = Op::kAdd;
  bool negate = false;  // kTest: `is not`
  uint32_t pos = 0;
  Value literal;
  std::string_view name;
  BuiltinFn fn =
      nullptr;  // kFilter/kTest, resolved at compile time (null: unknown, fails when run)
  std::vector<ExprPtr> children;
  std::vector<Op> ops;  // kCompare
  // kBinary + and ~: the operands of the whole left-nested chain `a + b + c` (set on the
  // outermost node), so a render evaluates them in one pass and joins strings at once.
  std::vector<const Expr*> chain;
  std::vector<ExprPtr> folded;  // Literals the chain joined at compile time ('a' + 'b').
  std::vector<std::pair<std::string_view, ExprPtr>> kwargs;
  ExprPtr dyn_args, dyn_kwargs;
};

struct Stmt;
using Body = std::vector<Stmt>;

// An assignment / loop target: a name, a namespace attribute (`ns.x`) or a tuple of names.
struct Target {
  std::vector<std::string_view> names;  // One name, or several when unpacking.
  std::string_view attribute;           // `ns.x`: names[0] = "ns", attribute = "x".
  bool unpack = false;
};

struct MacroParam {
  std::string_view name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind : uint8_t {
    kData,         // text
    kPrint,        // expr
    kIf,           // expr, body, else_body (elif chains nest in else_body)
    kFor,          // target, expr (iterable), filter, body, else_body, recursive
    kSet,          // target = expr
    kSetBlock,     // target, body, filters (applied in order)
    kMacro,        // name, params, body
    kCallBlock,    // expr (the call), params (caller's), body
    kFilterBlock,  // filters, body
    kBreak,
    kContinue,
    kInclude,     // expr (name), ignore_missing, with_context
    kImport,      // expr (name), name (alias)
    kFromImport,  // expr (name), imports
    kDo,          // expr
    kWith,        // assignments, body
  };
  Kind kind;
  uint32_t pos = 0;
  std::string_view text;  // kData
  std::string_view name;  // kMacro, kImport
  ExprPtr expr;
  ExprPtr filter;  // kFor `if`
  Target target;
  Body body, else_body;
  std::vector<MacroParam> params;
  std::vector<ExprPtr> filters;  // kSetBlock/kFilterBlock: kFilter exprs with a null input
  bool recursive = false;
  bool ignore_missing = false;
  bool uses_caller = false, uses_varargs = false, uses_kwargs = false;  // kMacro
  std::vector<std::pair<std::string_view, std::string_view>> imports;   // kFromImport: name, alias
  std::vector<std::pair<Target, ExprPtr>> assignments;                  // kWith
};

// Everything a compiled template holds.
struct Program {
  std::string source;  // Newline-normalized source; every view above points into it
  std::vector<std::unique_ptr<std::string>> strings;  // Decoded string literals.
  Body body;
  std::vector<std::string> variables;
  TemplateOptions options;
};

// Parses `source` into a program. Defined in parser.cc.
absl::StatusOr<std::shared_ptr<Program>> Parse(std::string_view source,
                                               const TemplateOptions& options);

// Finds filters and tests by name (null when unknown). Defined in builtins.cc.
BuiltinFn FindFilter(std::string_view name);
BuiltinFn FindTest(std::string_view name);

// "line L, column C" of byte `offset` in `source`.
std::string Where(std::string_view source, uint32_t offset);

// A status with `code`: "<template name>: line L, column C: <what>", with the byte offset in the
// kPayloadByteOffset payload. Every compile and render error goes through it.
absl::Status TemplateError(absl::StatusCode code, const Program& program, uint32_t pos,
                           std::string_view what);

// The functions every template can call: range, namespace, dict, joiner, cycler,
// raise_exception, strftime_now. Defined in render.cc.
bool IsGlobalFunction(std::string_view name);

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_AST_H_
