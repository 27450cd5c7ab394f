// The interpreter: statements, expressions, Python value semantics, limits.

#include "template/render.h"

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
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {

Value Value::FromJson(const Json& j) {
  switch (j.type()) {
    case Json::Type::kNull:
      return None();
    case Json::Type::kBool:
      return Bool(j.as_bool());
    case Json::Type::kInt:
      return Int(j.as_int());
    case Json::Type::kDouble:
      return Double(j.as_double());
    case Json::Type::kString:
      return String(j.as_string());
    case Json::Type::kArray: {
      Value v = Make(Kind::kJsonArray);
      v.json = &j;
      return v;
    }
    case Json::Type::kObject: {
      Value v = Make(Kind::kJsonObject);
      v.json = &j;
      return v;
    }
  }
  return None();
}

namespace {

const char* TypeName(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined:
      return "Undefined";
    case Value::Kind::kNone:
      return "NoneType";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kDouble:
      return "float";
    case Value::Kind::kString:
      return "str";
    case Value::Kind::kJsonArray:
      return "list";
    case Value::Kind::kList:
      return v.list->tuple ? "tuple" : "list";
    case Value::Kind::kJsonObject:
      return "dict";
    case Value::Kind::kDict:
      return v.dict->is_namespace ? "Namespace" : "dict";
    case Value::Kind::kCallable:
      return "function";
  }
  return "object";
}

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

bool IsGlobalFunction(std::string_view name) {
  return name == "range" || name == "namespace" || name == "dict" || name == "joiner" ||
         name == "cycler" || name == "raise_exception" || name == "strftime_now";
}

Renderer::Renderer(const Program& program, const Json& context, const Bindings* first,
                   const Bindings* last)
    : root_program_(program),
      program_(&program),
      context_(context),
      first_(first),
      last_(last),
      arena_(program.options.limits.max_memory_bytes) {}

absl::Status Renderer::Run(std::string* out) {
  char base;
  stack_base_ = &base;
  out_ = out;
  Scope* root = arena_.New<Scope>();
  return Exec(root_program_.body, root);
}

// --- Errors --------------------------------------------------------------------------------

absl::Status Renderer::Error(uint32_t pos, std::string_view message) const {
  return TemplateError(absl::StatusCode::kInvalidArgument, *program_, pos, message);
}

absl::Status Renderer::Exhausted(uint32_t pos, std::string_view message) const {
  return TemplateError(absl::StatusCode::kResourceExhausted, *program_, pos, message);
}

absl::Status Renderer::UndefinedError(const Expr& at, const Value& v) const {
  if (v.str.empty()) return Error(at, "undefined value");
  if (v.attr)
    return Error(at,
                 absl::StrCat("'", ToAbsl(v.str), "' is undefined (no such attribute or item)"));
  return Error(at, absl::StrCat("'", ToAbsl(v.str), "' is undefined"));
}

absl::Status Renderer::CheckMemory(const Expr& at) const {
  if (!arena_.exhausted()) return absl::OkStatus();
  return Exhausted(
      at.pos, absl::StrCat("render used more than ", root_program_.options.limits.max_memory_bytes,
                           " bytes of memory (limits.max_memory_bytes)"));
}

absl::Status Renderer::CheckStack(uint32_t pos) const {
  char here;
  constexpr ptrdiff_t kMaxStackBytes = ptrdiff_t{1} << 20;
  if (stack_base_ - &here <= kMaxStackBytes) return absl::OkStatus();
  return Exhausted(pos,
                   "template recursion too deep (macro calls and nested expressions use "
                   "more than 1 MiB of stack)");
}

absl::Status Renderer::CountIterations(const Expr& at, uint64_t n) {
  iterations_ += n;
  if (iterations_ <= root_program_.options.limits.max_loop_iterations) return absl::OkStatus();
  return Exhausted(at.pos,
                   absl::StrCat("more than ", root_program_.options.limits.max_loop_iterations,
                                " loop iterations (limits.max_loop_iterations)"));
}

absl::Status Renderer::Append(std::string_view text, uint32_t pos) {
  out_->append(text);
  if (out_->size() <= root_program_.options.limits.max_output_bytes) return absl::OkStatus();
  return Exhausted(
      pos, absl::StrCat("output larger than ", root_program_.options.limits.max_output_bytes,
                        " bytes (limits.max_output_bytes)"));
}

// --- Values --------------------------------------------------------------------------------

Value Renderer::Wrap(const Json& j) {
  if (!overlay_.empty() && (j.is_array() || j.is_object())) {
    auto it = overlay_.find(&j);
    if (it != overlay_.end()) return it->second;
  }
  return Value::FromJson(j);
}

Value Renderer::Resolve(const Value& v) const {
  if (!overlay_.empty() &&
      (v.kind == Value::Kind::kJsonArray || v.kind == Value::Kind::kJsonObject)) {
    auto it = overlay_.find(v.json);
    if (it != overlay_.end()) return it->second;
  }
  return v;
}

List* Renderer::MutableList(const Value& v) {
  Value r = Resolve(v);
  if (r.kind == Value::Kind::kList) return r.list;
  List* list = NewList(r.json->size());
  for (const Json& item : r.json->as_array()) list->items.push_back(Wrap(item));
  overlay_[r.json] = Value::Of(list);
  return list;
}

Dict* Renderer::MutableDict(const Value& v) {
  Value r = Resolve(v);
  if (r.kind == Value::Kind::kDict) return r.dict;
  Dict* dict = NewDict();
  for (const auto& [key, item] : r.json->as_object()) {
    dict->items.emplace_back(Value::String(key), Wrap(item));
  }
  overlay_[r.json] = Value::Of(dict);
  return dict;
}

Value Renderer::NewString(std::string_view text) { return Value::String(arena_.Copy(text)); }

List* Renderer::NewList(size_t reserve) {
  List* list = arena_.New<List>(sizeof(List) + reserve * sizeof(Value));
  list->items.reserve(reserve);
  return list;
}

Dict* Renderer::NewDict() { return arena_.New<Dict>(sizeof(Dict) + 64); }

absl::StatusOr<bool> Renderer::Truthy(const Expr& at, const Value& v) const {
  switch (v.kind) {
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
      return false;
    case Value::Kind::kNone:
      return false;
    case Value::Kind::kBool:
      return v.b;
    case Value::Kind::kInt:
      return v.i != 0;
    case Value::Kind::kDouble:
      return v.d != 0;
    case Value::Kind::kString:
      return !v.str.empty();
    case Value::Kind::kJsonArray:
    case Value::Kind::kJsonObject: {
      Value r = Resolve(v);
      if (r.kind == Value::Kind::kList) return !r.list->items.empty();
      if (r.kind == Value::Kind::kDict) return !r.dict->items.empty();
      return r.json->size() != 0;
    }
    case Value::Kind::kList:
      return !v.list->items.empty();
    case Value::Kind::kDict:
      return v.dict->is_namespace || !v.dict->items.empty();
    case Value::Kind::kCallable:
      return true;
  }
  return false;
}

absl::Status Renderer::AppendStr(const Expr& at, const Value& v, std::string* out) {
  switch (v.kind) {
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
      return absl::OkStatus();
    case Value::Kind::kString:
      out->append(v.str);
      return absl::OkStatus();
    case Value::Kind::kInt:
      absl::StrAppend(out, v.i);
      return absl::OkStatus();
    default:
      return AppendRepr(at, v, out);
  }
}

absl::StatusOr<std::string_view> Renderer::Str(const Expr& at, const Value& v) {
  if (v.kind == Value::Kind::kString) return v.str;
  std::string text;
  LLMKIT_RETURN_IF_ERROR(AppendStr(at, v, &text));
  return NewString(std::move(text)).str;
}

absl::Status Renderer::AppendRepr(const Expr& at, const Value& value, std::string* out, int depth) {
  if (depth > 1000) return Exhausted(at.pos, "value nests too deeply to print (a cycle?)");
  Value v = Resolve(value);
  switch (v.kind) {
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
      if (depth > 0) out->append("Undefined");
      return absl::OkStatus();
    case Value::Kind::kNone:
      out->append("None");
      return absl::OkStatus();
    case Value::Kind::kBool:
      out->append(v.b ? "True" : "False");
      return absl::OkStatus();
    case Value::Kind::kInt:
      absl::StrAppend(out, v.i);
      return absl::OkStatus();
    case Value::Kind::kDouble:
      if (std::isnan(v.d)) {
        out->append("nan");
      } else if (std::isinf(v.d)) {
        out->append(v.d > 0 ? "inf" : "-inf");
      } else {
        AppendDouble(v.d, out);
      }
      return absl::OkStatus();
    case Value::Kind::kString:
      if (depth == 0) {
        out->append(v.str);
      } else {
        AppendPyRepr(v.str, out);
      }
      return absl::OkStatus();
    case Value::Kind::kJsonArray:
    case Value::Kind::kList: {
      bool tuple = v.kind == Value::Kind::kList && v.list->tuple;
      out->push_back(tuple ? '(' : '[');
      size_t n = v.kind == Value::Kind::kList ? v.list->items.size() : v.json->size();
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) out->append(", ");
        Value item = v.kind == Value::Kind::kList ? v.list->items[i] : Wrap(v.json->as_array()[i]);
        LLMKIT_RETURN_IF_ERROR(AppendRepr(at, item, out, depth + 1));
      }
      if (tuple && n == 1) out->push_back(',');
      out->push_back(tuple ? ')' : ']');
      return absl::OkStatus();
    }
    case Value::Kind::kJsonObject:
    case Value::Kind::kDict: {
      bool ns = v.kind == Value::Kind::kDict && v.dict->is_namespace;
      out->append(ns ? "<Namespace {" : "{");
      if (v.kind == Value::Kind::kDict) {
        bool first = true;
        for (const auto& [key, item] : v.dict->items) {
          if (!first) out->append(", ");
          first = false;
          LLMKIT_RETURN_IF_ERROR(AppendRepr(at, key, out, depth + 1));
          out->append(": ");
          LLMKIT_RETURN_IF_ERROR(AppendRepr(at, item, out, depth + 1));
        }
      } else {
        bool first = true;
        for (const auto& [key, item] : v.json->as_object()) {
          if (!first) out->append(", ");
          first = false;
          AppendPyRepr(key, out);
          out->append(": ");
          LLMKIT_RETURN_IF_ERROR(AppendRepr(at, Wrap(item), out, depth + 1));
        }
      }
      out->append(ns ? "}>" : "}");
      return absl::OkStatus();
    }
    case Value::Kind::kCallable:
      absl::StrAppend(out, "<", v.callable->kind == Callable::Kind::kMacro ? "Macro" : "function",
                      " '", ToAbsl(v.callable->name), "'>");
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

bool Renderer::Equal(const Value& a_in, const Value& b_in, int depth) {
  if (depth > 1000) return false;
  Value a = Resolve(a_in), b = Resolve(b_in);
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::kDouble || b.kind == Value::Kind::kDouble) {
      return a.AsDouble() == b.AsDouble();
    }
    return a.AsInt() == b.AsInt();
  }
  if (a.kind == Value::Kind::kString || b.kind == Value::Kind::kString) {
    return a.kind == b.kind && a.str == b.str;
  }
  if (a.is_sequence_like() && b.is_sequence_like()) {
    bool at = a.kind == Value::Kind::kList && a.list->tuple;
    bool bt = b.kind == Value::Kind::kList && b.list->tuple;
    if (at != bt) return false;
    size_t na = a.kind == Value::Kind::kList ? a.list->items.size() : a.json->size();
    size_t nb = b.kind == Value::Kind::kList ? b.list->items.size() : b.json->size();
    if (na != nb) return false;
    for (size_t i = 0; i < na; ++i) {
      Value x = a.kind == Value::Kind::kList ? a.list->items[i] : Wrap(a.json->as_array()[i]);
      Value y = b.kind == Value::Kind::kList ? b.list->items[i] : Wrap(b.json->as_array()[i]);
      if (!Equal(x, y, depth + 1)) return false;
    }
    return true;
  }
  if (a.is_mapping() && b.is_mapping()) {
    std::vector<Value> keys;
    Expr dummy{};
    if (!Iterate(dummy, a, &keys).ok()) return false;
    std::vector<Value> other;
    if (!Iterate(dummy, b, &other).ok() || other.size() != keys.size()) return false;
    for (const Value& k : keys) {
      absl::StatusOr<Value> x = GetItem(dummy, a, k);
      absl::StatusOr<bool> has = Contains(dummy, b, k);
      if (!x.ok() || !has.ok() || !*has) return false;
      absl::StatusOr<Value> y = GetItem(dummy, b, k);
      if (!y.ok() || !Equal(*x, *y, depth + 1)) return false;
    }
    return true;
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kDict:
      return a.dict == b.dict;  // namespaces: identity
    case Value::Kind::kCallable:
      return a.callable == b.callable;
    default:
      return false;
  }
}

absl::StatusOr<int> Renderer::Compare(const Expr& at, const Value& a_in, const Value& b_in) {
  Value a = Resolve(a_in), b = Resolve(b_in);
  if (undefined_mode() == UndefinedMode::kStrict) {
    if (a.is_undefined()) return UndefinedError(at, a);
    if (b.is_undefined()) return UndefinedError(at, b);
  }
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::kDouble || b.kind == Value::Kind::kDouble) {
      double x = a.AsDouble(), y = b.AsDouble();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    int64_t x = a.AsInt(), y = b.AsInt();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
    int c = a.str.compare(b.str);  // UTF-8 byte order is code point order.
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_sequence_like() && b.is_sequence_like()) {
    std::vector<Value> x, y;
    LLMKIT_RETURN_IF_ERROR(Iterate(at, a, &x));
    LLMKIT_RETURN_IF_ERROR(Iterate(at, b, &y));
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equal(x[i], y[i])) continue;
      return Compare(at, x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return Error(at, absl::StrCat("'<' not supported between instances of '", TypeName(a), "' and '",
                                TypeName(b), "'"));
}

absl::StatusOr<int64_t> Renderer::Length(const Expr& at, const Value& value) {
  Value v = Resolve(value);
  switch (v.kind) {
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(IsAscii(v.str) ? v.str.size() : PyLength(v.str));
    case Value::Kind::kJsonArray:
    case Value::Kind::kJsonObject:
      return static_cast<int64_t>(v.json->size());
    case Value::Kind::kList:
      return static_cast<int64_t>(v.list->items.size());
    case Value::Kind::kDict:
      if (!v.dict->is_namespace) return static_cast<int64_t>(v.dict->items.size());
      break;
    default:
      break;
  }
  return Error(at, absl::StrCat("object of type '", TypeName(v), "' has no len()"));
}

absl::Status Renderer::Iterate(const Expr& at, const Value& value, std::vector<Value>* items) {
  Value v = Resolve(value);
  switch (v.kind) {
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
      return absl::OkStatus();
    case Value::Kind::kString:
      items->reserve(v.str.size());
      for (size_t i = 0; i < v.str.size();) {
        size_t start = i;
        DecodeAt(v.str, &i);
        items->push_back(Value::String(v.str.substr(start, i - start)));
      }
      return absl::OkStatus();
    case Value::Kind::kJsonArray:
      items->reserve(v.json->size());
      for (const Json& item : v.json->as_array()) items->push_back(Wrap(item));
      return absl::OkStatus();
    case Value::Kind::kJsonObject:
      items->reserve(v.json->size());
      for (const auto& [key, item] : v.json->as_object()) items->push_back(Value::String(key));
      return absl::OkStatus();
    case Value::Kind::kList:
      *items = v.list->items;
      return absl::OkStatus();
    case Value::Kind::kDict:
      if (v.dict->is_namespace) break;
      items->reserve(v.dict->items.size());
      for (const auto& [key, item] : v.dict->items) items->push_back(key);
      return absl::OkStatus();
    default:
      break;
  }
  return Error(at, absl::StrCat("'", TypeName(v), "' object is not iterable"));
}

absl::StatusOr<bool> Renderer::Contains(const Expr& at, const Value& container_in,
                                        const Value& item) {
  Value container = Resolve(container_in);
  switch (container.kind) {
    case Value::Kind::kString:
      if (item.kind != Value::Kind::kString) {
        return Error(at, absl::StrCat("'in <string>' requires string as left operand, not ",
                                      TypeName(item)));
      }
      return container.str.find(item.str) != std::string_view::npos;
    case Value::Kind::kJsonObject:
      if (item.kind != Value::Kind::kString) return false;
      return container.json->Find(item.str) != nullptr;
    case Value::Kind::kDict:
      if (container.dict->is_namespace) break;
      for (const auto& [key, v] : container.dict->items) {
        if (Equal(key, item)) return true;
      }
      return false;
    case Value::Kind::kJsonArray:
      for (const Json& j : container.json->as_array()) {
        if (Equal(Wrap(j), item)) return true;
      }
      return false;
    case Value::Kind::kList:
      for (const Value& v : container.list->items) {
        if (Equal(v, item)) return true;
      }
      return false;
    case Value::Kind::kUndefined:
      if (undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, container);
      return false;
    default:
      break;
  }
  return Error(at, absl::StrCat("argument of type '", TypeName(container), "' is not iterable"));
}

// --- Attribute and item access --------------------------------------------------------------

absl::StatusOr<Value> Renderer::GetAttr(const Expr& at, const Value& obj_in,
                                        std::string_view name) {
  Value obj = Resolve(obj_in);
  switch (obj.kind) {
    case Value::Kind::kUndefined:
      return UndefinedError(at, obj);
    case Value::Kind::kJsonObject: {
      if (HasMethod(obj, name)) break;
      const Json* member = obj.json->Find(name);
      if (member != nullptr) return Wrap(*member);
      return Value::Undefined(name, true);
    }
    case Value::Kind::kDict: {
      if (!obj.dict->is_namespace && HasMethod(obj, name)) break;
      for (const auto& [key, item] : obj.dict->items) {
        if (key.kind == Value::Kind::kString && key.str == name) return item;
      }
      return Value::Undefined(name, true);
    }
    case Value::Kind::kCallable: {
      Callable* c = obj.callable;
      if (c->kind == Callable::Kind::kLoop) {
        LoopState& l = c->loop;
        int64_t n = static_cast<int64_t>(l.items.size());
        if (name == "index") return Value::Int(l.index0 + 1);
        if (name == "index0") return Value::Int(l.index0);
        if (name == "revindex") return Value::Int(n - l.index0);
        if (name == "revindex0") return Value::Int(n - l.index0 - 1);
        if (name == "first") return Value::Bool(l.index0 == 0);
        if (name == "last") return Value::Bool(l.index0 == n - 1);
        if (name == "length") return Value::Int(n);
        if (name == "depth") return Value::Int(l.depth0 + 1);
        if (name == "depth0") return Value::Int(l.depth0);
        if (name == "previtem") {
          return l.index0 > 0 ? l.items[l.index0 - 1] : Value::Undefined("previtem", true);
        }
        if (name == "nextitem") {
          return l.index0 + 1 < n ? l.items[l.index0 + 1] : Value::Undefined("nextitem", true);
        }
        if (name == "cycle" || name == "changed") break;
        return Value::Undefined(name, true);
      }
      if (c->kind == Callable::Kind::kCycler) {
        if (name == "current") return c->items.empty() ? Value::None() : c->items[c->position];
        if (name == "next" || name == "reset") break;
        return Value::Undefined(name, true);
      }
      if (c->kind == Callable::Kind::kModule) {
        Scope* module = c->scope;
        if (Value* v = module->Find(name)) return *v;
        return Value::Undefined(name, true);
      }
      return Value::Undefined(name, true);
    }
    case Value::Kind::kList:
      if (obj.list->group && (name == "grouper" || name == "list")) {
        return obj.list->items[name == "grouper" ? 0 : 1];
      }
      if (HasMethod(obj, name)) break;
      return Value::Undefined(name, true);
    default:
      if (HasMethod(obj, name)) break;
      return Value::Undefined(name, true);
  }
  Callable* method = arena_.New<Callable>();
  method->kind = Callable::Kind::kMethod;
  method->name = name;
  method->receiver = obj;
  return Value::Of(method);
}

absl::StatusOr<Value> Renderer::GetItem(const Expr& at, const Value& obj_in, const Value& key) {
  Value obj = Resolve(obj_in);
  switch (obj.kind) {
    case Value::Kind::kUndefined:
      return UndefinedError(at, obj);
    case Value::Kind::kJsonObject:
      if (key.kind == Value::Kind::kString) {
        const Json* member = obj.json->Find(key.str);
        if (member != nullptr) return Wrap(*member);
        if (HasMethod(obj, key.str)) return GetAttr(at, obj, key.str);
        return Value::Undefined(key.str, true);
      }
      return Value::Undefined({}, true);
    case Value::Kind::kDict:
      for (const auto& [k, item] : obj.dict->items) {
        if (Equal(k, key)) return item;
      }
      if (key.kind == Value::Kind::kString) return GetAttr(at, obj, key.str);
      return Value::Undefined({}, true);
    case Value::Kind::kJsonArray:
    case Value::Kind::kList:
    case Value::Kind::kString: {
      if (!key.is_integer()) {
        if (key.kind == Value::Kind::kString) return GetAttr(at, obj, key.str);
        return Value::Undefined({}, true);
      }
      int64_t index = key.AsInt();
      if (obj.kind == Value::Kind::kString) {
        if (IsAscii(obj.str)) {
          int64_t n = static_cast<int64_t>(obj.str.size());
          if (index < 0) index += n;
          if (index < 0 || index >= n) return Value::Undefined({}, true);
          return Value::String(obj.str.substr(static_cast<size_t>(index), 1));
        }
        std::vector<size_t> offsets = CodePointOffsets(obj.str);
        int64_t n = static_cast<int64_t>(offsets.size()) - 1;
        if (index < 0) index += n;
        if (index < 0 || index >= n) return Value::Undefined({}, true);
        return Value::String(obj.str.substr(offsets[index], offsets[index + 1] - offsets[index]));
      }
      int64_t n = obj.kind == Value::Kind::kList ? static_cast<int64_t>(obj.list->items.size())
                                                 : static_cast<int64_t>(obj.json->size());
      if (index < 0) index += n;
      if (index < 0 || index >= n) return Value::Undefined({}, true);
      return obj.kind == Value::Kind::kList ? obj.list->items[index]
                                            : Wrap(obj.json->as_array()[index]);
    }
    default:
      if (key.kind == Value::Kind::kString) return GetAttr(at, obj, key.str);
      return Value::Undefined({}, true);
  }
}

// --- Statements ------------------------------------------------------------------------------

absl::Status Renderer::Exec(const Body& body, Scope* scope) {
  if (!body.empty()) LLMKIT_RETURN_IF_ERROR(CheckStack(body.front().pos));
  for (const Stmt& s : body) {
    LLMKIT_RETURN_IF_ERROR(ExecStmt(s, scope));
    if (flow_ != Flow::kNormal) return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Renderer::RenderToString(const Body& body, Scope* scope, std::string* text) {
  std::string* saved = out_;
  out_ = text;
  absl::Status status = Exec(body, scope);
  out_ = saved;
  return status;
}

absl::Status Renderer::ExecStmt(const Stmt& s, Scope* scope) {
  switch (s.kind) {
    case Stmt::Kind::kData:
      return Append(s.text, s.pos);
    case Stmt::Kind::kPrint:
      return PrintExpr(*s.expr, scope);
    case Stmt::Kind::kIf: {
      LLMKIT_ASSIGN_OR_RETURN(Value cond, Eval(*s.expr, scope));
      LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(*s.expr, cond));
      return Exec(yes ? s.body : s.else_body, scope);
    }
    case Stmt::Kind::kFor: {
      LLMKIT_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, scope));
      return ExecFor(s, scope, iterable, 0);
    }
    case Stmt::Kind::kSet: {
      LLMKIT_ASSIGN_OR_RETURN(Value value, Eval(*s.expr, scope));
      return Assign(s, s.target, value, scope);
    }
    case Stmt::Kind::kSetBlock: {
      LLMKIT_ASSIGN_OR_RETURN(Value value, RenderFiltered(s, scope));
      return Assign(s, s.target, value, scope);
    }
    case Stmt::Kind::kMacro: {
      Callable* macro = arena_.New<Callable>();
      macro->kind = Callable::Kind::kMacro;
      macro->name = s.name;
      macro->stmt = &s;
      macro->program = program_;
      macro->scope = scope;
      scope->Set(s.name, Value::Of(macro));
      return absl::OkStatus();
    }
    case Stmt::Kind::kCallBlock: {
      Callable* caller = arena_.New<Callable>();
      caller->kind = Callable::Kind::kCaller;
      caller->name = "caller";
      caller->stmt = &s;
      caller->program = program_;
      caller->scope = scope;
      Value caller_value = Value::Of(caller);
      LLMKIT_ASSIGN_OR_RETURN(Value result, EvalCall(*s.expr, scope, &caller_value));
      return AppendStr(*s.expr, result, out_);
    }
    case Stmt::Kind::kFilterBlock: {
      LLMKIT_ASSIGN_OR_RETURN(Value value, RenderFiltered(s, scope));
      LLMKIT_RETURN_IF_ERROR(AppendStr(*s.filters.back(), value, out_));  // parser: >= 1 filter
      return Append({}, s.pos);
    }
    case Stmt::Kind::kBreak:
      flow_ = Flow::kBreak;
      return absl::OkStatus();
    case Stmt::Kind::kContinue:
      flow_ = Flow::kContinue;
      return absl::OkStatus();
    case Stmt::Kind::kInclude:
      return ExecInclude(s, scope);
    case Stmt::Kind::kImport:
    case Stmt::Kind::kFromImport:
      return ExecImport(s, scope);
    case Stmt::Kind::kDo:
      return Eval(*s.expr, scope).status();
    case Stmt::Kind::kWith: {
      Scope* inner = arena_.New<Scope>();
      inner->parent = scope;
      for (const auto& [target, expr] : s.assignments) {
        LLMKIT_ASSIGN_OR_RETURN(Value value, Eval(*expr, scope));
        LLMKIT_RETURN_IF_ERROR(Assign(s, target, value, inner));
      }
      return Exec(s.body, inner);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Renderer::RenderFiltered(const Stmt& s, Scope* scope) {
  std::string text;
  LLMKIT_RETURN_IF_ERROR(RenderToString(s.body, scope, &text));
  Value value = NewString(text);
  for (const ExprPtr& f : s.filters) {
    Args args{value};
    Kwargs kwargs;
    LLMKIT_RETURN_IF_ERROR(EvalArgs(*f, 1, scope, &args, &kwargs));
    LLMKIT_ASSIGN_OR_RETURN(value, ApplyFilter(*f, f->name, args, kwargs));
  }
  return value;
}

absl::Status Renderer::Assign(const Stmt& s, const Target& target, const Value& value,
                              Scope* scope) {
  if (!target.attribute.empty()) {
    Value ns = Value::Undefined(target.names[0]);
    for (Scope* sc = scope; sc != nullptr; sc = sc->parent) {
      if (Value* v = sc->Find(target.names[0])) {
        ns = *v;
        break;
      }
    }
    if (!ns.IsNamespace()) {
      return Error(s.pos, absl::StrCat("cannot assign attribute on non-namespace object '",
                                       ToAbsl(target.names[0]), "'"));
    }
    for (auto& [key, item] : ns.dict->items) {
      if (key.kind == Value::Kind::kString && key.str == target.attribute) {
        item = value;
        return absl::OkStatus();
      }
    }
    ns.dict->items.emplace_back(Value::String(target.attribute), value);
    return absl::OkStatus();
  }
  if (!target.unpack) {
    scope->Set(target.names[0], value);
    return absl::OkStatus();
  }
  Expr at{};
  at.pos = s.pos;
  std::vector<Value> parts;
  LLMKIT_RETURN_IF_ERROR(Iterate(at, value, &parts));
  if (parts.size() != target.names.size()) {
    return Error(s.pos, absl::StrCat(parts.size() < target.names.size() ? "not enough" : "too many",
                                     " values to unpack (expected ", target.names.size(), ", got ",
                                     parts.size(), ")"));
  }
  for (size_t i = 0; i < parts.size(); ++i) scope->Set(target.names[i], parts[i]);
  return absl::OkStatus();
}

absl::Status Renderer::ExecFor(const Stmt& s, Scope* scope, const Value& iterable, int depth0) {
  if (depth0 > 0 && ++depth_ > root_program_.options.limits.max_recursion_depth) {
    --depth_;
    return Exhausted(s.pos, absl::StrCat("recursion deeper than ",
                                         root_program_.options.limits.max_recursion_depth,
                                         " levels (limits.max_recursion_depth)"));
  }
  struct DepthRestore {
    Renderer* r;
    bool active;
    ~DepthRestore() {
      if (active) --r->depth_;
    }
  } restore{this, depth0 > 0};

  Callable* loop = arena_.New<Callable>();
  loop->kind = Callable::Kind::kLoop;
  loop->name = "loop";
  LoopState& state = loop->loop;
  state.depth0 = depth0;
  state.stmt = &s;
  state.scope = scope;
  state.program = program_;
  LLMKIT_RETURN_IF_ERROR(Iterate(*s.expr, iterable, &state.items));
  arena_.Charge(state.items.size() * sizeof(Value));
  LLMKIT_RETURN_IF_ERROR(CheckMemory(*s.expr));

  Scope* inner = arena_.New<Scope>();
  inner->parent = scope;
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value& item : state.items) {
      inner->vars.clear();
      LLMKIT_RETURN_IF_ERROR(Assign(s, s.target, item, inner));
      LLMKIT_ASSIGN_OR_RETURN(Value keep, Eval(*s.filter, inner));
      LLMKIT_ASSIGN_OR_RETURN(bool yes, Truthy(*s.filter, keep));
      if (yes) kept.push_back(item);
    }
    state.items = std::move(kept);
  }
  if (state.items.empty()) return Exec(s.else_body, scope);
  LLMKIT_RETURN_IF_ERROR(CountIterations(*s.expr, state.items.size()));
  Value loop_value = Value::Of(loop);
  for (size_t i = 0; i < state.items.size(); ++i) {
    state.index0 = static_cast<int64_t>(i);
    inner->vars.clear();
    LLMKIT_RETURN_IF_ERROR(Assign(s, s.target, state.items[i], inner));
    inner->vars.emplace_back("loop", loop_value);
    LLMKIT_RETURN_IF_ERROR(Exec(s.body, inner));
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Program>> Renderer::Load(const Stmt& s, Scope* scope) {
  LLMKIT_ASSIGN_OR_RETURN(Value name_value, Eval(*s.expr, scope));
  if (name_value.kind != Value::Kind::kString) {
    return Error(s.pos, "template name must be a string");
  }
  const TemplateOptions& options = root_program_.options;
  if (!options.loader) {
    return Error(s.pos, absl::StrCat("cannot load template '", ToAbsl(name_value.str),
                                     "': no loader in TemplateOptions"));
  }
  absl::StatusOr<std::string> source = options.loader(name_value.str);
  if (!source.ok()) return source.status();
  TemplateOptions child = options;
  child.name = std::string(name_value.str);
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<Program> program, Parse(*source, child));
  loaded_.push_back(program);
  return program;
}

absl::Status Renderer::ExecInclude(const Stmt& s, Scope* scope) {
  absl::StatusOr<std::shared_ptr<Program>> program = Load(s, scope);
  if (!program.ok()) {
    if (s.ignore_missing && absl::IsNotFound(program.status())) return absl::OkStatus();
    return program.status();
  }
  if (++depth_ > root_program_.options.limits.max_recursion_depth) {
    --depth_;
    return Exhausted(s.pos, "includes nest deeper than limits.max_recursion_depth");
  }
  const Program* saved = program_;
  program_ = program->get();
  Scope* inner = arena_.New<Scope>();
  inner->parent = scope;
  absl::Status status = Exec((*program)->body, inner);
  program_ = saved;
  --depth_;
  return status;
}

absl::Status Renderer::ExecImport(const Stmt& s, Scope* scope) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<Program> program, Load(s, scope));
  if (++depth_ > root_program_.options.limits.max_recursion_depth) {
    --depth_;
    return Exhausted(s.pos, "imports nest deeper than limits.max_recursion_depth");
  }
  const Program* saved = program_;
  program_ = program.get();
  Scope* module = arena_.New<Scope>();
  std::string discarded;
  absl::Status status = RenderToString(program->body, module, &discarded);
  program_ = saved;
  --depth_;
  LLMKIT_RETURN_IF_ERROR(status);
  if (s.kind == Stmt::Kind::kImport) {
    Callable* m = arena_.New<Callable>();
    m->kind = Callable::Kind::kModule;
    m->name = s.name;
    m->scope = module;
    scope->Set(s.name, Value::Of(m));
    return absl::OkStatus();
  }
  for (const auto& [name, alias] : s.imports) {
    Value* v = module->Find(name);
    if (v == nullptr) {
      return Error(s.pos, absl::StrCat("the template does not export '", ToAbsl(name), "'"));
    }
    scope->Set(alias, *v);
  }
  return absl::OkStatus();
}

// --- Expressions -------------------------------------------------------------------------------

absl::StatusOr<Value> Renderer::Lookup(const Expr& e, Scope* scope) {
  for (Scope* s = scope; s != nullptr; s = s->parent) {
    for (auto& [name, value] : s->vars) {
      if (name == e.name) return value;
    }
  }
  if (first_ != nullptr) {
    for (const auto& [name, j] : *first_) {
      if (name == e.name) return Wrap(*j);
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
  return Value::Undefined(e.name);
}

absl::StatusOr<Value> Renderer::EvalChain(const Expr& e, Scope* scope, bool print) {
  absl::InlinedVector<Value, 8> parts;
  bool all_strings = true;
  for (const Expr* operand : e.chain) {
    if (operand->kind == Expr::Kind::kLiteral) {
      parts.push_back(operand->literal);
    } else {
      LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*operand, scope));
      parts.push_back(v);
    }
    all_strings = all_strings && parts.back().kind == Value::Kind::kString;
  }
  if (all_strings || e.op == Op::kConcat) {
    // `a ~ b` joins str() of each side; `a + b` of strings joins them: one allocation, or none
    // when the result goes straight to the output.
    size_t total = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].kind != Value::Kind::kString) {
        LLMKIT_ASSIGN_OR_RETURN(std::string_view text, Str(*e.chain[i], parts[i]));
        parts[i] = Value::String(text);
      }
      total += parts[i].str.size();
    }
    if (print) {
      for (const Value& part : parts) out_->append(part.str);
      LLMKIT_RETURN_IF_ERROR(Append({}, e.pos));
      return Value::None();
    }
    if (total > root_program_.options.limits.max_output_bytes) {
      return Exhausted(e.pos, "string larger than limits.max_output_bytes");
    }
    if (total == 0) return Value::String({});
    char* p = arena_.AllocateChars(total);
    size_t at = 0;
    for (const Value& part : parts) {
      if (!part.str.empty()) std::memcpy(p + at, part.str.data(), part.str.size());
      at += part.str.size();
    }
    LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
    return Value::String(std::string_view(p, total));
  }
  Value acc = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    LLMKIT_ASSIGN_OR_RETURN(acc, EvalBinary(e, e.op, acc, parts[i]));
  }
  if (print) {
    LLMKIT_RETURN_IF_ERROR(AppendStr(e, acc, out_));
    LLMKIT_RETURN_IF_ERROR(Append({}, e.pos));
    return Value::None();
  }
  return acc;
}

absl::Status Renderer::PrintExpr(const Expr& e, Scope* scope) {
  if (!e.chain.empty()) return EvalChain(e, scope, /*print=*/true).status();
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

absl::StatusOr<Value> Renderer::EvalCall(const Expr& e, Scope* scope, const Value* caller) {
  Args args;
  Kwargs kwargs;
  const Expr& callee = *e.children[0];
  if (callee.kind == Expr::Kind::kGetAttr) {
    // obj.method(...): call string/list/dict methods without a bound-method object.
    LLMKIT_ASSIGN_OR_RETURN(Value obj, Eval(*callee.children[0], scope));
    Value resolved = Resolve(obj);
    if (resolved.kind != Value::Kind::kCallable && resolved.kind != Value::Kind::kUndefined &&
        !resolved.IsNamespace() && HasMethod(resolved, callee.name)) {
      LLMKIT_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args, &kwargs));
      if (caller != nullptr) kwargs.emplace_back("caller", *caller);
      bool found = false;
      return CallMethod(*this, e, obj, callee.name, args, kwargs, &found);
    }
    LLMKIT_ASSIGN_OR_RETURN(Value fn, GetAttr(callee, obj, callee.name));
    LLMKIT_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args, &kwargs));
    if (caller != nullptr) kwargs.emplace_back("caller", *caller);
    if (fn.is_undefined()) {
      return Error(e, absl::StrCat("'", TypeName(resolved), "' object has no method '",
                                   ToAbsl(callee.name), "'"));
    }
    return CallValue(e, fn, args, kwargs);
  }
  LLMKIT_ASSIGN_OR_RETURN(Value fn, Eval(callee, scope));
  LLMKIT_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args, &kwargs));
  if (caller != nullptr) kwargs.emplace_back("caller", *caller);
  return CallValue(e, fn, args, kwargs);
}

absl::StatusOr<Value> Renderer::CallValue(const Expr& at, const Value& callee, Args& args,
                                          Kwargs& kwargs) {
  if (callee.kind == Value::Kind::kUndefined) return UndefinedError(at, callee);
  if (callee.kind != Value::Kind::kCallable) {
    return Error(at, absl::StrCat("'", TypeName(callee), "' object is not callable"));
  }
  Callable* c = callee.callable;
  switch (c->kind) {
    case Callable::Kind::kMacro:
    case Callable::Kind::kCaller:
      return CallMacro(at, c, args, kwargs);
    case Callable::Kind::kGlobal:
      return CallGlobal(at, c, args, kwargs);
    case Callable::Kind::kMethod: {
      bool found = false;
      return CallMethod(*this, at, c->receiver, c->name, args, kwargs, &found);
    }
    case Callable::Kind::kLoop: {
      LoopState& l = c->loop;
      if (!l.stmt->recursive) return Error(at, "the loop is not recursive ('recursive' missing)");
      if (args.size() != 1) return Error(at, "loop() takes exactly one argument");
      std::string text;
      std::string* saved = out_;
      out_ = &text;
      const Program* saved_program = program_;
      program_ = l.program;
      absl::Status status = ExecFor(*l.stmt, l.scope, args[0], l.depth0 + 1);
      program_ = saved_program;
      out_ = saved;
      LLMKIT_RETURN_IF_ERROR(status);
      return NewString(std::move(text));
    }
    case Callable::Kind::kJoiner: {
      if (!c->used) {
        c->used = true;
        return Value::String("");
      }
      return c->receiver;
    }
    case Callable::Kind::kCycler:
    case Callable::Kind::kModule:
      break;
  }
  return Error(at, "object is not callable");
}

absl::StatusOr<Value> Renderer::CallMacro(const Expr& at, Callable* macro, Args& args,
                                          Kwargs& kwargs) {
  const Stmt& s = *macro->stmt;
  bool is_caller = macro->kind == Callable::Kind::kCaller;
  if (++depth_ > root_program_.options.limits.max_recursion_depth) {
    --depth_;
    return Exhausted(at.pos, absl::StrCat("macro calls nest deeper than ",
                                          root_program_.options.limits.max_recursion_depth,
                                          " levels (limits.max_recursion_depth)"));
  }
  struct Restore {
    Renderer* r;
    const Program* program;
    ~Restore() {
      --r->depth_;
      r->program_ = program;
    }
  } restore{this, program_};

  Scope* scope = arena_.New<Scope>();
  scope->parent = macro->scope;
  std::string_view name = is_caller ? "caller" : s.name;
  size_t n = s.params.size();
  std::vector<bool> bound(n, false);
  List* varargs = NewList();
  varargs->tuple = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i < n) {
      scope->vars.emplace_back(s.params[i].name, args[i]);
      bound[i] = true;
    } else if (s.uses_varargs || is_caller) {
      varargs->items.push_back(args[i]);
    } else {
      return Error(
          at, absl::StrCat("macro '", ToAbsl(name), "' takes not more than ", n, " argument(s)"));
    }
  }
  Dict* extra = NewDict();
  Value caller = Value::Undefined("caller");
  for (auto& [key, value] : kwargs) {
    if (key == "caller" && !is_caller) {
      if (!s.uses_caller) {
        return Error(at, absl::StrCat("macro '", ToAbsl(name),
                                      "' was called with a caller but does not use it"));
      }
      caller = value;
      continue;
    }
    size_t i = 0;
    while (i < n && s.params[i].name != key) ++i;
    if (i < n) {
      if (bound[i]) {
        return Error(at, absl::StrCat("macro '", ToAbsl(name),
                                      "' got multiple values for argument '", ToAbsl(key), "'"));
      }
      scope->vars.emplace_back(key, value);
      bound[i] = true;
    } else if (s.uses_kwargs || is_caller) {
      extra->items.emplace_back(Value::String(key), value);
    } else {
      return Error(at, absl::StrCat("macro '", ToAbsl(name), "' takes no keyword argument '",
                                    ToAbsl(key), "'"));
    }
  }
  program_ = macro->program;
  for (size_t i = 0; i < n; ++i) {
    if (bound[i]) continue;
    if (s.params[i].default_value) {
      LLMKIT_ASSIGN_OR_RETURN(Value v, Eval(*s.params[i].default_value, scope));
      scope->vars.emplace_back(s.params[i].name, v);
    } else {
      scope->vars.emplace_back(s.params[i].name, Value::Undefined(s.params[i].name));
    }
  }
  scope->vars.emplace_back("varargs", Value::Of(varargs));
  scope->vars.emplace_back("kwargs", Value::Of(extra));
  if (!is_caller) scope->vars.emplace_back("caller", caller);
  std::string text;
  Flow saved_flow = flow_;
  flow_ = Flow::kNormal;
  LLMKIT_RETURN_IF_ERROR(RenderToString(s.body, scope, &text));
  flow_ = saved_flow;
  arena_.Charge(text.size());
  LLMKIT_RETURN_IF_ERROR(CheckMemory(at));
  return NewString(std::move(text));
}

absl::StatusOr<Value> Renderer::CallGlobal(const Expr& at, Callable* fn, Args& args,
                                           Kwargs& kwargs) {
  std::string_view name = fn->name;
  if (name == "range") {
    if (args.empty() || args.size() > 3 || !kwargs.empty()) {
      return Error(at, "range() takes 1 to 3 integer arguments");
    }
    for (const Value& a : args) {
      if (!a.is_integer()) {
        return Error(
            at, absl::StrCat("'", TypeName(a), "' object cannot be interpreted as an integer"));
      }
    }
    int64_t start = 0, stop, step = 1;
    if (args.size() == 1) {
      stop = args[0].AsInt();
    } else {
      start = args[0].AsInt();
      stop = args[1].AsInt();
      if (args.size() == 3) step = args[2].AsInt();
    }
    if (step == 0) return Error(at, "range() arg 3 must not be zero");
    int64_t count = 0;
    if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
    if (step < 0 && start > stop) count = (start - stop - 1) / (-step) + 1;
    // Jinja2's sandbox caps range() at 100,000 items.
    if (count > 100000) {
      return Exhausted(at.pos, "range() larger than 100000 items");
    }
    List* list = NewList(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) list->items.push_back(Value::Int(start + i * step));
    LLMKIT_RETURN_IF_ERROR(CheckMemory(at));
    return Value::Of(list);
  }
  if (name == "namespace" || name == "dict") {
    Dict* d = NewDict();
    d->is_namespace = name == "namespace";
    for (const Value& a : args) {
      Value r = Resolve(a);
      if (r.kind == Value::Kind::kJsonObject) {
        for (const auto& [k, v] : r.json->as_object())
          d->items.emplace_back(Value::String(k), Wrap(v));
      } else if (r.kind == Value::Kind::kDict) {
        for (const auto& kv : r.dict->items) d->items.push_back(kv);
      } else {
        return Error(at, absl::StrCat(ToAbsl(name), "() takes a mapping or keyword arguments"));
      }
    }
    for (const auto& [k, v] : kwargs) {
      bool replaced = false;
      for (auto& [key, item] : d->items) {
        if (key.kind == Value::Kind::kString && key.str == k) {
          item = v;
          replaced = true;
        }
      }
      if (!replaced) d->items.emplace_back(Value::String(k), v);
    }
    return Value::Of(d);
  }
  if (name == "joiner") {
    Callable* j = arena_.New<Callable>();
    j->kind = Callable::Kind::kJoiner;
    j->name = "joiner";
    j->receiver = Value::String(", ");
    if (!args.empty()) j->receiver = args[0];
    for (const auto& [k, v] : kwargs) {
      if (k == "sep") j->receiver = v;
    }
    return Value::Of(j);
  }
  if (name == "cycler") {
    if (args.empty()) return Error(at, "cycler() needs at least one item");
    Callable* c = arena_.New<Callable>();
    c->kind = Callable::Kind::kCycler;
    c->name = "cycler";
    c->items.assign(args.begin(), args.end());
    return Value::Of(c);
  }
  if (name == "raise_exception") {
    std::string message;
    if (!args.empty()) LLMKIT_RETURN_IF_ERROR(AppendStr(at, args[0], &message));
    return Error(at, absl::StrCat("raise_exception: ", message));
  }
  if (name == "strftime_now") {
    if (args.size() != 1 || args[0].kind != Value::Kind::kString) {
      return Error(at, "strftime_now() takes one format string");
    }
    absl::Time now = root_program_.options.now ? root_program_.options.now() : absl::Now();
    return NewString(absl::FormatTime(std::string(args[0].str), now, absl::LocalTimeZone()));
  }
  return Error(at, absl::StrCat("unknown function '", ToAbsl(name), "'"));
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
        if (a.str.size() + b.str.size() > max_bytes) {
          return Exhausted(e.pos, "string larger than limits.max_output_bytes");
        }
        char* p = arena_.AllocateChars(a.str.size() + b.str.size());
        if (!a.str.empty()) std::memcpy(p, a.str.data(), a.str.size());
        if (!b.str.empty()) std::memcpy(p + a.str.size(), b.str.data(), b.str.size());
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        return Value::String(std::string_view(p, a.str.size() + b.str.size()));
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
        if (s.empty() || times == 0) return Value::String({});  // '' * 10**18 is instant
        if (static_cast<uint64_t>(times) > max_bytes / s.size()) {
          return Exhausted(e.pos, "string larger than limits.max_output_bytes");
        }
        std::string text;
        text.reserve(s.size() * static_cast<size_t>(times));
        for (int64_t i = 0; i < times; ++i) text.append(s);
        arena_.Charge(text.size());
        LLMKIT_RETURN_IF_ERROR(CheckMemory(e));
        return NewString(std::move(text));
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
        if (y < 0) return Value::Double(std::pow(static_cast<double>(x), static_cast<double>(y)));
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
    case Op::kPow:
      return Value::Double(std::pow(x, y));
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
    if (step == 1) {
      if (stop <= start) return Value::String({});
      size_t b = ascii ? start : offsets[start], end = ascii ? stop : offsets[stop];
      return Value::String(obj.str.substr(b, end - b));
    }
    std::string text;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      size_t b = ascii ? i : offsets[i], end = ascii ? i + 1 : offsets[i + 1];
      text.append(obj.str.substr(b, end - b));
    }
    return NewString(std::move(text));
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
      LLMKIT_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
      const Expr& key_expr = *e.children[1];
      if (key_expr.kind == Expr::Kind::kLiteral) {
        // message['role'] on the caller's object: one lookup, no copy.
        if (obj.kind == Value::Kind::kJsonObject && key_expr.literal.kind == Value::Kind::kString &&
            overlay_.empty()) {
          const Json* member = obj.json->Find(key_expr.literal.str);
          if (member != nullptr) return Value::FromJson(*member);
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
