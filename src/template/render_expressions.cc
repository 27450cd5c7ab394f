// The interpreter's expressions: names, attribute chains, printing, slices, operators.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {

namespace {

// Python's floor division and modulo on int64 (the sign follows the divisor).
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorMod(int64_t a, int64_t b) {
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

}  // namespace

absl::StatusOr<Value> Renderer::LookupOuter(const Expr& e, Scope* scope) {
  for (Scope* s = scope; s != nullptr; s = s->parent) {
    for (auto& [name, value] : s->vars) {
      if (SameText(name, e.name)) return value;
    }
  }
  if (first_ != nullptr) {
    for (const auto& [name, j] : *first_) {
      if (name == e.name) return Wrap(*j);
    }
  }
  if (values_ != nullptr) {
    for (const auto& [name, value] : values_->items) {
      if (SameText(name.str, e.name)) return value;
    }
  }
  if (context_.is_object()) {
    const Json* j = context_.Find(e.name);
    if (j != nullptr) return Wrap(*j);
  }
  if (last_ != nullptr) {
    for (const auto& [name, j] : *last_) {
      if (name == e.name) return Wrap(*j);
    }
  }
  if (IsGlobalFunction(e.name)) {
    Callable* fn = arena_.New<Callable>();
    fn->kind = Callable::Kind::kGlobal;
    fn->name = e.name;
    return Value::Of(fn);
  }
  if (e.name == "self") {
    // Jinja2's reference to the template's blocks; llmkit has no blocks to reach through it.
    return Error(e, "'self' (the template's blocks) is not supported");
  }
  return Value::Undefined(e.name);
}

absl::StatusOr<Value> Renderer::EvalChain(const Expr& e, Scope* scope, bool print) {
  ChainParts parts;
  for (const Expr* operand : e.chain) {
    Value v;
    LLMKIT_RETURN_IF_ERROR(EvalOperand(*operand, scope, &v));
    parts.emplace_back(operand, v);
  }
  return JoinChain(e, parts, print);
}

absl::StatusOr<Value> Renderer::JoinChain(const Expr& e, ChainParts& parts, bool print) {
  bool all_strings = true;
  for (const auto& part : parts)
    all_strings = all_strings && part.second.kind == Value::Kind::kString;
  if (all_strings || e.op == Op::kConcat) {
    // `a ~ b` joins str() of each side; `a + b` of strings joins them: one allocation, or none
    // when the result goes straight to the output. With a safe string among the operands of
    // `+`, every plain one is escaped (the prefix before it when they meet, the rest as each is
    // added) and the result is safe; `~` ignores safety, as Jinja2's str_join does.
    bool safe = false;
    if (e.op == Op::kAdd) {
      for (const auto& part : parts) safe = safe || part.second.safe;
      if (safe) {
        for (auto& [at, value] : parts) {
          LLMKIT_ASSIGN_OR_RETURN(value, Escape(*at, value));
        }
      }
    }
    size_t total = 0;
    for (auto& [at, value] : parts) {
      if (value.kind != Value::Kind::kString) {
        LLMKIT_ASSIGN_OR_RETURN(std::string_view text, Str(*at, value));
        value = Value::String(text);
      }
      total += value.str.size();
    }
    if (print) {
      for (const auto& part : parts) out_->append(part.second.str);
      LLMKIT_RETURN_IF_ERROR(Append({}, e.pos));
      return Value::None();
    }
    LLMKIT_RETURN_IF_ERROR(CheckStringSize(e, total));
    if (total == 0) {
      Value empty = Value::String({});
      empty.safe = safe;
      return empty;
    }
    char* p = arena_.AllocateChars(total);
    size_t at = 0;
    for (const auto& part : parts) {
      const std::string_view text = part.second.str;
      if (!text.empty()) std::memcpy(p + at, text.data(), text.size());
      at += text.size();
    }
    LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
    Value joined = Value::String(std::string_view(p, total));
    joined.safe = safe;
    return joined;
  }
  Value acc = parts[0].second;
  for (size_t i = 1; i < parts.size(); ++i) {
    LLMKIT_ASSIGN_OR_RETURN(acc, EvalBinary(e, e.op, acc, parts[i].second));
  }
  if (print) {
    LLMKIT_RETURN_IF_ERROR(AppendStr(e, acc, out_));
    LLMKIT_RETURN_IF_ERROR(Append({}, e.pos));
    return Value::None();
  }
  return acc;
}

absl::Status Renderer::PrintChain(const Expr& e, Scope* scope) {
  // The common case, `{{ '<|im_start|>' + message['role'] + '\n' }}`: every operand a plain
  // string, written to the output as it comes. The first operand that is not (a number, a safe
  // string, undefined...) sends the rest through JoinChain, with the strings written so far taken
  // back as one operand: `+` and `~` of plain strings are their concatenation, and escaping one
  // joined string equals escaping each part.
  const size_t mark = out_->size();
  const size_t n = e.chain.size();
  for (size_t i = 0; i < n; ++i) {
    const Expr* operand = e.chain[i];
    Value v;
    LLMKIT_RETURN_IF_ERROR(EvalOperand(*operand, scope, &v));
    if (v.kind == Value::Kind::kString && !v.safe) {
      out_->append(v.str);
      continue;
    }
    ChainParts parts;
    if (i > 0) {
      parts.emplace_back(e.chain[0],
                         Value::String(arena_.Copy(std::string_view(*out_).substr(mark))));
      out_->resize(mark);
      LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
    }
    parts.emplace_back(operand, v);
    for (size_t j = i + 1; j < n; ++j) {
      Value rest;
      LLMKIT_RETURN_IF_ERROR(EvalOperand(*e.chain[j], scope, &rest));
      parts.emplace_back(e.chain[j], rest);
    }
    return JoinChain(e, parts, /*print=*/true).status();
  }
  return Append({}, e.pos);
}

absl::Status Renderer::PrintValue(const Expr& e, Scope* scope) {
  LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(e, scope));
  if (v.kind == Value::Kind::kString) return Append(v.str, e.pos);
  LLMKIT_RETURN_IF_ERROR(AppendStr(e, v, out_));
  return Append({}, e.pos);
}

absl::Status Renderer::EvalArgs(const Expr& e, size_t first, Scope* scope, Args* args,
                                Kwargs* kwargs) {
  for (size_t i = first; i < e.children.size(); ++i) {
    LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*e.children[i], scope));
    args->push_back(v);
  }
  if (e.dyn_args) {
    LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*e.dyn_args, scope));
    std::vector<Value> items;
    LLMKIT_RETURN_IF_ERROR(Iterate(*e.dyn_args, v, &items));
    args->insert(args->end(), items.begin(), items.end());
  }
  for (const auto& [name, expr] : e.kwargs) {
    LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*expr, scope));
    kwargs->emplace_back(name, v);
  }
  if (e.dyn_kwargs) {
    LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*e.dyn_kwargs, scope));
    v = Resolve(v);
    if (v.kind == Value::Kind::kJsonObject) {
      for (const auto& [key, item] : v.json->as_object()) kwargs->emplace_back(key, Wrap(item));
    } else if (v.kind == Value::Kind::kDict) {
      for (const auto& [key, item] : v.dict->items) {
        if (key.kind != Value::Kind::kString) return Error(e, "keywords must be strings");
        kwargs->emplace_back(key.str, item);
      }
    } else {
      return Error(e, "argument after ** must be a mapping");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Renderer::EvalBinary(const Expr& e, Op op, const Value& a_in,
                                           const Value& b_in) {
  Value a = Resolve(a_in), b = Resolve(b_in);
  if (a.is_undefined()) return UndefinedError(e, a);
  if (b.is_undefined()) return UndefinedError(e, b);
  auto type_error = [&](const char* symbol) {
    return Error(e, absl::StrCat("unsupported operand type(s) for ", symbol, ": '", TypeName(a),
                                 "' and '", TypeName(b), "'"));
  };
  const size_t max_bytes = root_program_.options.limits.max_output_bytes;
  switch (op) {
    case Op::kAdd:
      if (a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
        const bool safe = a.safe || b.safe;  // Markup + str escapes the str, both ways round.
        if (safe) {
          LLMKIT_ASSIGN_OR_RETURN(a, Escape(e, a));
          LLMKIT_ASSIGN_OR_RETURN(b, Escape(e, b));
        }
        LLMKIT_RETURN_IF_ERROR(CheckStringSize(e, a.str.size() + b.str.size()));
        char* p = arena_.AllocateChars(a.str.size() + b.str.size());
        if (!a.str.empty()) std::memcpy(p, a.str.data(), a.str.size());
        if (!b.str.empty()) std::memcpy(p + a.str.size(), b.str.data(), b.str.size());
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        Value sum = Value::String(std::string_view(p, a.str.size() + b.str.size()));
        sum.safe = safe;
        return sum;
      }
      if (a.is_sequence_like() && b.is_sequence_like()) {
        bool at = a.kind == Value::Kind::kList && a.list->tuple;
        bool bt = b.kind == Value::Kind::kList && b.list->tuple;
        if (at != bt) return type_error("+");
        std::vector<Value> x, y;
        LLMKIT_RETURN_IF_ERROR(Iterate(e, a, &x));
        LLMKIT_RETURN_IF_ERROR(Iterate(e, b, &y));
        List* list = NewList(x.size() + y.size());
        list->tuple = at;
        list->items = std::move(x);
        list->items.insert(list->items.end(), y.begin(), y.end());
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        return Value::Of(list);
      }
      break;
    case Op::kMul:
      if ((a.kind == Value::Kind::kString && b.is_integer()) ||
          (b.kind == Value::Kind::kString && a.is_integer())) {
        std::string_view s = a.kind == Value::Kind::kString ? a.str : b.str;
        int64_t times =
            std::max<int64_t>(0, a.kind == Value::Kind::kString ? b.AsInt() : a.AsInt());
        const bool safe = a.is_safe() || b.is_safe();
        if (s.empty() || times == 0) {
          Value empty = Value::String({});  // '' * 10**18 is instant
          empty.safe = safe;
          return empty;
        }
        if (static_cast<uint64_t>(times) > max_bytes / s.size()) {
          return Exhausted(e.pos, "string larger than limits.max_output_bytes");
        }
        // Refused before anything is built: the budget is checked on what the copy would take.
        LLMKIT_RETURN_IF_ERROR(CheckFits(e, s.size() * static_cast<uint64_t>(times)));
        std::string text;
        text.reserve(s.size() * static_cast<size_t>(times));
        for (int64_t i = 0; i < times; ++i) text.append(s);
        arena_.Charge(text.size());
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        Value repeated = NewString(std::move(text));
        repeated.safe = safe;
        return repeated;
      }
      if ((a.is_sequence_like() && b.is_integer()) || (b.is_sequence_like() && a.is_integer())) {
        const Value& seq = a.is_sequence_like() ? a : b;
        int64_t times = std::max<int64_t>(0, a.is_sequence_like() ? b.AsInt() : a.AsInt());
        std::vector<Value> items;
        LLMKIT_RETURN_IF_ERROR(Iterate(e, seq, &items));
        if (items.empty()) times = 0;  // [] * 10**18 is instant
        if (!items.empty() && static_cast<uint64_t>(times) >
                                  root_program_.options.limits.max_loop_iterations / items.size()) {
          return Exhausted(e.pos, "list larger than limits.max_loop_iterations items");
        }
        LLMKIT_RETURN_IF_ERROR(
            CheckFits(e, items.size() * static_cast<uint64_t>(times) * sizeof(Value)));
        List* list = NewList(items.size() * static_cast<size_t>(times));
        list->tuple = seq.kind == Value::Kind::kList && seq.list->tuple;
        for (int64_t i = 0; i < times; ++i)
          list->items.insert(list->items.end(), items.begin(), items.end());
        arena_.Charge(list->items.size() * sizeof(Value));
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        return Value::Of(list);
      }
      break;
    case Op::kMod:
      if (a.kind == Value::Kind::kString) {
        Args fargs;
        Value rb = Resolve(b);
        if (rb.kind == Value::Kind::kList && rb.list->tuple) {
          fargs.assign(rb.list->items.begin(), rb.list->items.end());
        } else {
          fargs.push_back(b);
        }
        Args call{a};
        call.insert(call.end(), fargs.begin(), fargs.end());
        Kwargs none;
        return ApplyFilter(e, "format", call, none);
      }
      break;
    default:
      break;
  }
  if (!a.is_number() || !b.is_number()) {
    static constexpr const char* kSymbols[] = {"+", "-", "*", "/", "//", "%", "**"};
    return type_error(kSymbols[static_cast<int>(op)]);
  }
  bool ints = a.is_integer() && b.is_integer();
  if (ints) {
    int64_t x = a.AsInt(), y = b.AsInt(), r = 0;
    switch (op) {
      case Op::kAdd:
        if (__builtin_add_overflow(x, y, &r)) return Error(e, "integer overflow");
        return Value::Int(r);
      case Op::kSub:
        if (__builtin_sub_overflow(x, y, &r)) return Error(e, "integer overflow");
        return Value::Int(r);
      case Op::kMul:
        if (__builtin_mul_overflow(x, y, &r)) return Error(e, "integer overflow");
        return Value::Int(r);
      case Op::kDiv:
        if (y == 0) return Error(e, "division by zero");
        return Value::Double(static_cast<double>(x) / static_cast<double>(y));
      case Op::kFloorDiv:
        if (y == 0) return Error(e, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) return Error(e, "integer overflow");
        return Value::Int(FloorDiv(x, y));
      case Op::kMod:
        if (y == 0) return Error(e, "integer division or modulo by zero");
        if (y == -1) return Value::Int(0);
        return Value::Int(FloorMod(x, y));
      case Op::kPow: {
        if (y < 0) {
          if (x == 0) return Error(e, "0.0 cannot be raised to a negative power");
          return Value::Double(std::pow(static_cast<double>(x), static_cast<double>(y)));
        }
        int64_t result = 1;
        for (int64_t i = 0; i < y; ++i) {
          if (__builtin_mul_overflow(result, x, &result)) return Error(e, "integer overflow");
          if (result == 0 || result == 1) break;
        }
        if (result == 1 && x == -1 && y % 2 == 1) result = -1;
        return Value::Int(result);
      }
      default:
        break;
    }
  }
  double x = a.AsDouble(), y = b.AsDouble();
  switch (op) {
    case Op::kAdd:
      return Value::Double(x + y);
    case Op::kSub:
      return Value::Double(x - y);
    case Op::kMul:
      return Value::Double(x * y);
    case Op::kDiv:
      if (y == 0) return Error(e, "float division by zero");
      return Value::Double(x / y);
    case Op::kFloorDiv:
      if (y == 0) return Error(e, "float floor division by zero");
      return Value::Double(std::floor(x / y));
    case Op::kMod: {
      if (y == 0) return Error(e, "float modulo");
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::Double(m);
    }
    case Op::kPow: {
      // Python raises where C's pow returns inf or NaN for finite operands.
      if (x == 0 && y < 0) return Error(e, "0.0 cannot be raised to a negative power");
      if (x < 0 && std::isfinite(y) && y != std::floor(y)) {
        return Error(e, "a negative number raised to a fractional power is complex");
      }
      double result = std::pow(x, y);
      if (std::isinf(result) && std::isfinite(x) && std::isfinite(y)) {
        return Error(e, "numerical result out of range");
      }
      return Value::Double(result);
    }
    default:
      break;
  }
  return Error(e, "unsupported operation");
}

absl::StatusOr<Value> Renderer::EvalSlice(const Expr& e, Scope* scope) {
  LLMKIT_ASSIGN_OR_RETURN(Value obj_in, Eval(*e.children[0], scope));
  Value obj = Resolve(obj_in);
  std::optional<int64_t> bounds[3];
  for (int i = 0; i < 3; ++i) {
    const ExprPtr& part = e.children[1 + i];
    if (!part) continue;
    LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*part, scope));
    if (v.is_none()) continue;
    if (!v.is_integer()) return Error(e, "slice indices must be integers or None");
    bounds[i] = v.AsInt();
  }
  int64_t step = bounds[2].value_or(1);
  if (step == 0) return Error(e, "slice step cannot be zero");
  if (obj.is_undefined()) return UndefinedError(e, obj);
  std::vector<size_t> offsets;
  int64_t n;
  bool is_string = obj.kind == Value::Kind::kString;
  bool ascii = is_string && IsAscii(obj.str);
  if (is_string) {
    if (!ascii) offsets = CodePointOffsets(obj.str);
    n = ascii ? static_cast<int64_t>(obj.str.size()) : static_cast<int64_t>(offsets.size()) - 1;
  } else if (obj.is_sequence_like()) {
    n = obj.kind == Value::Kind::kList ? static_cast<int64_t>(obj.list->items.size())
                                       : static_cast<int64_t>(obj.json->size());
  } else {
    return Error(e, absl::StrCat("'", TypeName(obj), "' object is not subscriptable"));
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t def, int64_t lo, int64_t hi) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    return std::clamp(x, lo, hi);
  };
  int64_t start, stop;
  if (step > 0) {
    start = clamp(bounds[0], 0, 0, n);
    stop = clamp(bounds[1], n, 0, n);
  } else {
    start = clamp(bounds[0], n - 1, -1, n - 1);
    stop = clamp(bounds[1], -1, -1, n - 1);
  }
  if (is_string) {
    Value slice;  // A safe string's slice stays safe (Markup's __getitem__).
    if (step == 1) {
      size_t b = ascii ? start : offsets[start], end = ascii ? stop : offsets[stop];
      slice = Value::String(stop <= start ? std::string_view() : obj.str.substr(b, end - b));
    } else {
      std::string text;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        size_t b = ascii ? i : offsets[i], end = ascii ? i + 1 : offsets[i + 1];
        text.append(obj.str.substr(b, end - b));
      }
      slice = NewString(std::move(text));
    }
    slice.safe = obj.safe;
    return slice;
  }
  List* list = NewList();
  list->tuple = obj.kind == Value::Kind::kList && obj.list->tuple;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    list->items.push_back(obj.kind == Value::Kind::kList ? obj.list->items[i]
                                                         : Wrap(obj.json->as_array()[i]));
  }
  arena_.Charge(list->items.size() * sizeof(Value));
  LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
  return Value::Of(list);
}

absl::StatusOr<Value> Renderer::Eval(const Expr& e, Scope* scope) {
  LLMKIT_RETURN_IF_ERROR(CheckStack(e.pos));
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName:
      return Lookup(e, scope);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      List* list = NewList(e.children.size());
      list->tuple = e.kind == Expr::Kind::kTuple;
      for (const ExprPtr& c : e.children) {
        LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*c, scope));
        list->items.push_back(v);
      }
      LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
      return Value::Of(list);
    }
    case Expr::Kind::kDict: {
      Dict* dict = NewDict();
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        LLMKIT_ASSIGN_OR_RETURN(Value k, Eval(*e.children[i], scope));
        LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*e.children[i + 1], scope));
        bool replaced = false;
        for (auto& [key, item] : dict->items) {
          if (Equal(key, k)) {
            item = v;
            replaced = true;
            break;
          }
        }
        if (!replaced) dict->items.emplace_back(k, v);
      }
      LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
      return Value::Of(dict);
    }
    case Expr::Kind::kGetAttr: {
      LLMKIT_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
      return GetAttr(e, obj, e.name);
    }
    case Expr::Kind::kGetItem: {
      const Expr& object_expr = *e.children[0];
      Value obj;
      if (object_expr.kind == Expr::Kind::kName) {  // message['role']: no second dispatch.
        LLMKIT_ASSIGN_OR_RETURN(obj, Lookup(object_expr, scope));
      } else {
        LLMKIT_ASSIGN_OR_RETURN(obj, Eval(object_expr, scope));
      }
      const Expr& key_expr = *e.children[1];
      if (key_expr.kind == Expr::Kind::kLiteral) {
        // message['role'] on the caller's object: one lookup, no copy.
        if (obj.kind == Value::Kind::kJsonObject && key_expr.literal.kind == Value::Kind::kString &&
            overlay_.empty()) {
          const Json* member = obj.json->Find(key_expr.literal.str);
          if (member != nullptr) return Value::FromJson(*member);
        }
        // The same on a dict (a TemplateValues object, or the template's own).
        if (obj.kind == Value::Kind::kDict && key_expr.literal.kind == Value::Kind::kString) {
          for (const auto& [key, item] : obj.dict->items) {
            if (key.kind == Value::Kind::kString && SameText(key.str, key_expr.literal.str)) {
              return item;
            }
          }
        }
        return GetItem(e, obj, key_expr.literal);
      }
      LLMKIT_ASSIGN_OR_RETURN(Value key, Eval(key_expr, scope));
      return GetItem(e, obj, key);
    }
    case Expr::Kind::kSlice:
      return EvalSlice(e, scope);
    case Expr::Kind::kCall:
      return EvalCall(e, scope);
    case Expr::Kind::kFilter: {
      Args args;
      Kwargs kwargs;
      LLMKIT_RETURN_IF_ERROR(EvalArgs(e, 0, scope, &args, &kwargs));
      if (e.fn == nullptr) return Error(e, absl::StrCat("no filter named '", ToAbsl(e.name), "'"));
      return e.fn(*this, e, args, kwargs);
    }
    case Expr::Kind::kTest: {
      Args args;
      Kwargs kwargs;
      LLMKIT_RETURN_IF_ERROR(EvalArgs(e, 0, scope, &args, &kwargs));
      if (e.fn == nullptr) return Error(e, absl::StrCat("no test named '", ToAbsl(e.name), "'"));
      LLMKIT_ASSIGN_OR_RETURN(Value result, e.fn(*this, e, args, kwargs));
      return Value::Bool(result.b != e.negate);
    }
    case Expr::Kind::kUnary: {
      LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
      if (e.op == Op::kNot) {
        LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(e, v));
        return Value::Bool(!yes);
      }
      if (v.is_undefined()) return UndefinedError(e, v);
      if (!v.is_number()) {
        return Error(e, absl::StrCat("bad operand type for unary ", e.op == Op::kNeg ? "-" : "+",
                                     ": '", TypeName(v), "'"));
      }
      if (e.op == Op::kPos) return v.kind == Value::Kind::kBool ? Value::Int(v.AsInt()) : v;
      if (v.kind == Value::Kind::kDouble) return Value::Double(-v.d);
      if (v.AsInt() == INT64_MIN) return Error(e, "integer overflow");
      return Value::Int(-v.AsInt());
    }
    case Expr::Kind::kBinary: {
      if (!e.chain.empty()) return EvalChain(e, scope, /*print=*/false);
      LLMKIT_ASSIGN_OR_RETURN(Value a, Eval(*e.children[0], scope));
      LLMKIT_ASSIGN_OR_RETURN(Value b, Eval(*e.children[1], scope));
      return EvalBinary(e, e.op, a, b);
    }
    case Expr::Kind::kCompare: {
      LLMKIT_ASSIGN_OR_RETURN(Value left, Eval(*e.children[0], scope));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        LLMKIT_ASSIGN_OR_RETURN(Value right, Eval(*e.children[i + 1], scope));
        bool ok = false;
        switch (e.ops[i]) {
          case Op::kEq:
          case Op::kNe:
            if (undefined_mode() == UndefinedMode::kStrict) {
              if (left.is_undefined()) return UndefinedError(e, left);
              if (right.is_undefined()) return UndefinedError(e, right);
            }
            ok = Equal(left, right) == (e.ops[i] == Op::kEq);
            break;
          case Op::kIn:
          case Op::kNotIn: {
            LLMKIT_ASSIGN_OR_RETURN(bool in, Contains(e, right, left));
            ok = in == (e.ops[i] == Op::kIn);
            break;
          }
          default: {
            if (left.is_undefined() || right.is_undefined()) {
              return UndefinedError(e, left.is_undefined() ? left : right);
            }
            LLMKIT_ASSIGN_OR_RETURN(int c, Compare(e, left, right));
            ok = e.ops[i] == Op::kLt   ? c < 0
                 : e.ops[i] == Op::kLe ? c <= 0
                 : e.ops[i] == Op::kGt ? c > 0
                                       : c >= 0;
          }
        }
        if (!ok) return Value::Bool(false);
        left = right;
      }
      return Value::Bool(true);
    }
    case Expr::Kind::kAnd: {
      LLMKIT_ASSIGN_OR_RETURN(Value a, Eval(*e.children[0], scope));
      LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(e, a));
      if (!yes) return a;
      return Eval(*e.children[1], scope);
    }
    case Expr::Kind::kOr: {
      LLMKIT_ASSIGN_OR_RETURN(Value a, Eval(*e.children[0], scope));
      LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(e, a));
      if (yes) return a;
      return Eval(*e.children[1], scope);
    }
    case Expr::Kind::kCond: {
      LLMKIT_ASSIGN_OR_RETURN(Value cond, Eval(*e.children[1], scope));
      LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(e, cond));
      if (yes) return Eval(*e.children[0], scope);
      if (e.children[2]) return Eval(*e.children[2], scope);
      return Value::Undefined();
    }
  }
  return Error(e, "unknown expression");
}

}  // namespace llmkit::internal::tmpl
