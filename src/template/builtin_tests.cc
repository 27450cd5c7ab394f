// Jinja2's built-in tests (`x is defined`, `n is divisibleby 3`, ...).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/builtins.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {
namespace {

using Result = absl::StatusOr<Value>;

Value B(bool x) { return Value::Bool(x); }

Result TestDefined(Renderer&, const Expr&, Args& a, Kwargs&) { return B(!a[0].is_undefined()); }
Result TestUndefined(Renderer&, const Expr&, Args& a, Kwargs&) { return B(a[0].is_undefined()); }
Result TestNone(Renderer&, const Expr&, Args& a, Kwargs&) { return B(a[0].is_none()); }
Result TestBoolean(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kBool);
}
Result TestTrue(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kBool && a[0].b);
}
Result TestFalse(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kBool && !a[0].b);
}
Result TestString(Renderer&, const Expr&, Args& a, Kwargs&) { return B(a[0].is_string()); }
Result TestNumber(Renderer&, const Expr&, Args& a, Kwargs&) { return B(a[0].is_number()); }
Result TestInteger(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kInt);
}
Result TestFloat(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kDouble);
}
Result TestMapping(Renderer& r, const Expr&, Args& a, Kwargs&) {
  return B(r.Resolve(a[0]).is_mapping());
}
Result TestSequence(Renderer& r, const Expr&, Args& a, Kwargs&) {
  Value v = r.Resolve(a[0]);
  return B(v.is_string() || v.is_sequence_like() || v.is_mapping());
}
Result TestIterable(Renderer& r, const Expr&, Args& a, Kwargs&) {
  Value v = r.Resolve(a[0]);
  return B(v.is_string() || v.is_sequence_like() || v.is_mapping() || v.is_undefined());
}
Result TestCallable(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].kind == Value::Kind::kCallable && a[0].callable->kind != Callable::Kind::kModule &&
           a[0].callable->kind != Callable::Kind::kLoop);
}
Result TestEven(Renderer& r, const Expr& at, Args& a, Kwargs&) {
  if (!a[0].is_integer()) return r.Error(at, "even test needs an integer");
  return B(a[0].AsInt() % 2 == 0);
}
Result TestOdd(Renderer& r, const Expr& at, Args& a, Kwargs&) {
  if (!a[0].is_integer()) return r.Error(at, "odd test needs an integer");
  return B(a[0].AsInt() % 2 != 0);
}
Result TestDivisibleBy(Renderer& r, const Expr& at, Args& a, Kwargs& k) {
  Value n = Param(a, k, 1, "num");
  if (!a[0].is_integer() || !n.is_integer() || n.AsInt() == 0) {
    return r.Error(at, "divisibleby needs non-zero integers");
  }
  return B(a[0].AsInt() % n.AsInt() == 0);
}
Result TestEq(Renderer& r, const Expr&, Args& a, Kwargs& k) {
  return B(r.Equal(a[0], Param(a, k, 1, "other")));
}
Result TestNe(Renderer& r, const Expr&, Args& a, Kwargs& k) {
  return B(!r.Equal(a[0], Param(a, k, 1, "other")));
}
template <int kWant>  // -1: lt, -2: le, 1: gt, 2: ge
Result TestOrder(Renderer& r, const Expr& at, Args& a, Kwargs& k) {
  LLMKIT_ASSIGN_OR_RETURN(int c, r.Compare(at, a[0], Param(a, k, 1, "other")));
  switch (kWant) {
    case -1:
      return B(c < 0);
    case -2:
      return B(c <= 0);
    case 1:
      return B(c > 0);
    default:
      return B(c >= 0);
  }
}
Result TestIn(Renderer& r, const Expr& at, Args& a, Kwargs& k) {
  LLMKIT_ASSIGN_OR_RETURN(bool in, r.Contains(at, Param(a, k, 1, "seq"), a[0]));
  return B(in);
}
Result TestSameAs(Renderer& r, const Expr&, Args& a, Kwargs& k) {
  Value x = r.Resolve(a[0]), y = r.Resolve(Param(a, k, 1, "other"));
  if (x.kind != y.kind) return B(false);
  switch (x.kind) {
    case Value::Kind::kList:
      return B(x.list == y.list);
    case Value::Kind::kDict:
      return B(x.dict == y.dict);
    case Value::Kind::kJsonArray:
    case Value::Kind::kJsonObject:
      return B(x.json == y.json);
    case Value::Kind::kCallable:
      return B(x.callable == y.callable);
    default:
      return B(r.Equal(x, y));
  }
}
Result TestLower(Renderer& r, const Expr& at, Args& a, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, a[0]));
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = DecodeAt(s, &i);
    if (IsUpperCp(cp)) return B(false);
    if (IsLowerCp(cp)) cased = true;
  }
  return B(cased);
}
Result TestUpper(Renderer& r, const Expr& at, Args& a, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, a[0]));
  bool cased = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = DecodeAt(s, &i);
    if (IsLowerCp(cp)) return B(false);
    if (IsUpperCp(cp)) cased = true;
  }
  return B(cased);
}
Result TestEscaped(Renderer&, const Expr&, Args& a, Kwargs&) { return B(a[0].is_safe()); }
Result TestFilter(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].is_string() && FindFilter(a[0].str) != nullptr);
}
Result TestTest(Renderer&, const Expr&, Args& a, Kwargs&) {
  return B(a[0].is_string() && FindTest(a[0].str) != nullptr);
}

const absl::flat_hash_map<std::string_view, BuiltinFn>& Tests() {
  static const auto* tests = new absl::flat_hash_map<std::string_view, BuiltinFn>{
      {"boolean", TestBoolean},
      {"callable", TestCallable},
      {"defined", TestDefined},
      {"divisibleby", TestDivisibleBy},
      {"eq", TestEq},
      {"equalto", TestEq},
      {"==", TestEq},
      {"escaped", TestEscaped},
      {"even", TestEven},
      {"false", TestFalse},
      {"filter", TestFilter},
      {"float", TestFloat},
      {"ge", TestOrder<2>},
      {">=", TestOrder<2>},
      {"gt", TestOrder<1>},
      {">", TestOrder<1>},
      {"greaterthan", TestOrder<1>},
      {"in", TestIn},
      {"integer", TestInteger},
      {"iterable", TestIterable},
      {"le", TestOrder<-2>},
      {"<=", TestOrder<-2>},
      {"lower", TestLower},
      {"lt", TestOrder<-1>},
      {"<", TestOrder<-1>},
      {"lessthan", TestOrder<-1>},
      {"mapping", TestMapping},
      {"ne", TestNe},
      {"!=", TestNe},
      {"none", TestNone},
      {"number", TestNumber},
      {"odd", TestOdd},
      {"sameas", TestSameAs},
      {"sequence", TestSequence},
      {"string", TestString},
      {"test", TestTest},
      {"true", TestTrue},
      {"undefined", TestUndefined},
      {"upper", TestUpper},
  };
  return *tests;
}

}  // namespace

BuiltinFn FindTest(std::string_view name) {
  auto it = Tests().find(name);
  return it == Tests().end() ? nullptr : it->second;
}

absl::StatusOr<bool> Renderer::ApplyTest(const Expr& at, std::string_view name, Args& args,
                                         Kwargs& kwargs) {
  BuiltinFn fn = FindTest(name);
  if (fn == nullptr) return Error(at, absl::StrCat("no test named '", ToAbsl(name), "'"));
  LLMKIT_ASSIGN_OR_RETURN(Value v, fn(*this, at, args, kwargs));
  return v.b;
}

}  // namespace llmkit::internal::tmpl
