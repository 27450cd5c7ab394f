// Helpers shared by the built-in filters (builtins.cc, builtin_format.cc) and tests
// (builtin_tests.cc).

#ifndef LLMKIT_SRC_TEMPLATE_BUILTINS_H_
#define LLMKIT_SRC_TEMPLATE_BUILTINS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "template/render.h"

namespace llmkit::internal::tmpl {

// Parameter `i` (1 = first after the input) given by position or by `name`, else `def`.
inline Value Param(const Args& args, const Kwargs& kwargs, size_t i, std::string_view name,
                   Value def = Value::Undefined()) {
  if (i < args.size()) return args[i];
  for (const auto& [k, v] : kwargs) {
    if (k == name) return v;
  }
  return def;
}

inline bool IsTrue(const Value& v) {
  return (v.kind == Value::Kind::kBool && v.b) || (v.kind == Value::Kind::kInt && v.i != 0);
}

// Python int() of a string in `base`: optional sign, digits with single underscores, surrounding
// whitespace. In builtin_numbers.cc.
bool ParsePyInt(std::string_view s, int base, int64_t* out, bool* overflow = nullptr);
// int, float, round and abs. In builtin_numbers.cc.
absl::StatusOr<Value> FilterInt(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);
absl::StatusOr<Value> FilterFloat(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);
absl::StatusOr<Value> FilterRound(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);
absl::StatusOr<Value> FilterAbs(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);

// printf-style formatting (`"%s: %d" | format(a, b)` and `"%s" % x`). In builtin_format.cc.
absl::StatusOr<Value> FilterFormat(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);
// tojson with Python json.dumps' keywords. In builtin_format.cc.
absl::StatusOr<Value> FilterToJson(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs);

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_BUILTINS_H_
