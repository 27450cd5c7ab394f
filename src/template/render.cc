// The interpreter's core: running a program, errors and limits, Python value semantics
// (truth, str, repr, equality, ordering, len, iteration) and attribute and item access.
// Statements are in render_statements.cc, expressions in render_expressions.cc and calls in
// render_calls.cc.

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

bool IsGlobalFunction(std::string_view name) {
  return name == "range" || name == "namespace" || name == "dict" || name == "joiner" ||
         name == "cycler" || name == "raise_exception" || name == "strftime_now";
}

Renderer::Renderer(const Program& program, const Json& context, const Bindings* first,
                   const Bindings* last, const CallContext* call, const Dict* values)
    : root_program_(program),
      program_(&program),
      context_(context),
      first_(first),
      last_(last),
      values_(values),
      max_output_bytes_(program.options.limits.max_output_bytes),
      arena_(program.options.limits.max_memory_bytes),
      call_(call) {
  const absl::Duration limit = program.options.limits.max_render_time;
  deadline_ = limit == absl::InfiniteDuration() || limit > absl::Hours(24 * 365)
                  ? CallContext::kNoDeadline
                  : CallContext::DeadlineAfter(absl::ToChronoNanoseconds(limit));
  if (call != nullptr && call->deadline < deadline_) deadline_ = call->deadline;
}

Renderer::~Renderer() {
  for (auto& [list, items] : saved_lists_) {
    list->items = std::move(items);
    list->owner = Owner::kCaller;
  }
  for (auto& [dict, items] : saved_dicts_) {
    dict->items = std::move(items);
    dict->owner = Owner::kCaller;
  }
}

absl::Status Renderer::Run(std::string* out) {
  char base;
  stack_base_ = &base;
  out_ = out;
  Scope* root = arena_.New<Scope>();
  LLMKIT_RETURN_IF_ERROR(Exec(root_program_.body, root));
  return deferred_;
}

// --- Errors --------------------------------------------------------------------------------

absl::Status Renderer::Error(uint32_t pos, std::string_view message) const {
  return TemplateError(absl::StatusCode::kInvalidArgument, *program_, pos, message);
}

absl::Status Renderer::Exhausted(uint32_t pos, std::string_view message) const {
  return TemplateError(absl::StatusCode::kResourceExhausted, *program_, pos, message);
}

absl::Status Renderer::CheckStringSize(const Expr& at, uint64_t bytes) const {
  if (bytes <= root_program_.options.limits.max_output_bytes) return absl::OkStatus();
  return Exhausted(at.pos,
                   absl::StrCat("string of ", bytes, " bytes larger than limits.max_output_bytes (",
                                root_program_.options.limits.max_output_bytes, ")"));
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

absl::Status Renderer::CheckFits(const Expr& at, uint64_t bytes) const {
  if (arena_.used() + bytes <= root_program_.options.limits.max_memory_bytes) {
    return absl::OkStatus();
  }
  return Exhausted(at.pos, absl::StrCat("render would use more than ",
                                        root_program_.options.limits.max_memory_bytes,
                                        " bytes of memory (limits.max_memory_bytes)"));
}

absl::Status Renderer::StackExhausted(uint32_t pos) const {
  return Exhausted(pos,
                   "template recursion too deep (macro calls and nested expressions use "
                   "more than 1 MiB of stack)");
}

absl::Status Renderer::CheckTimeNow(const Expr& at) {
  ticks_ = 0;
  if (long_render_hook_ != nullptr) {
    (*std::exchange(long_render_hook_, nullptr))();
  }
  LLMKIT_RETURN_IF_ERROR(deferred_);
  if (call_ != nullptr && call_->cancelled()) {
    return TemplateError(absl::StatusCode::kCancelled, *program_, at.pos, "render cancelled");
  }
  if (deadline_ != CallContext::kNoDeadline && CallContext::Clock::now() >= deadline_) {
    const bool call_first = call_ != nullptr && call_->deadline == deadline_;
    return TemplateError(absl::StatusCode::kDeadlineExceeded, *program_, at.pos,
                         call_first ? "render past the call's deadline"
                                    : "render longer than limits.max_render_time");
  }
  return absl::OkStatus();
}

absl::Status Renderer::CountIterations(const Expr& at, uint64_t n) {
  iterations_ += n;
  if (iterations_ <= root_program_.options.limits.max_loop_iterations) return absl::OkStatus();
  return Exhausted(at.pos,
                   absl::StrCat("more than ", root_program_.options.limits.max_loop_iterations,
                                " loop iterations (limits.max_loop_iterations)"));
}

absl::Status Renderer::OutputExhausted(uint32_t pos) const {
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
  if (r.kind == Value::Kind::kList) {
    if (r.list->owner == Owner::kCaller) {
      saved_lists_.emplace_back(r.list, r.list->items);
      r.list->owner = Owner::kCallerSaved;
    }
    return r.list;
  }
  List* list = NewList(r.json->size());
  for (const Json& item : r.json->as_array()) list->items.push_back(Wrap(item));
  overlay_[r.json] = Value::Of(list);
  return list;
}

Dict* Renderer::MutableDict(const Value& v) {
  Value r = Resolve(v);
  if (r.kind == Value::Kind::kDict) {
    if (r.dict->owner == Owner::kCaller) {
      saved_dicts_.emplace_back(r.dict, r.dict->items);
      r.dict->owner = Owner::kCallerSaved;
    }
    return r.dict;
  }
  Dict* dict = NewDict();
  for (const auto& [key, item] : r.json->as_object()) {
    dict->items.emplace_back(Value::String(key), Wrap(item));
  }
  overlay_[r.json] = Value::Of(dict);
  return dict;
}

Value Renderer::NewString(std::string_view text) { return Value::String(arena_.Copy(text)); }

absl::StatusOr<Value> Renderer::Escape(const Expr& at, const Value& v) {
  if (v.is_safe()) return v;
  LLMKIT_ASSIGN_OR_RETURN(std::string_view text, Str(at, v));
  size_t extra = 0;
  for (char c : text) {
    extra += c == '&' ? 4 : (c == '<' || c == '>') ? 3 : (c == '"' || c == '\'') ? 4 : 0;
  }
  if (extra == 0) return Value::Safe(text);
  LLMKIT_RETURN_IF_ERROR(CheckStringSize(at, text.size() + extra));
  char* p = arena_.AllocateChars(text.size() + extra);
  char* w = p;
  auto put = [&w](std::string_view s) {
    std::memcpy(w, s.data(), s.size());
    w += s.size();
  };
  for (char c : text) {
    switch (c) {
      case '&':
        put("&amp;");
        break;
      case '<':
        put("&lt;");
        break;
      case '>':
        put("&gt;");
        break;
      case '"':
        put("&#34;");
        break;
      case '\'':
        put("&#39;");
        break;
      default:
        *w++ = c;
    }
  }
  LLMKIT_RETURN_IF_ERROR(CheckMemory(at));
  return Value::Safe(std::string_view(p, text.size() + extra));
}

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
  if (depth > kMaxValueDepth) {
    return Exhausted(at.pos, absl::StrCat("value nests deeper than ", kMaxValueDepth,
                                          " levels to print (a cycle?)"));
  }
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
      } else if (v.safe) {  // Python's repr of a Markup.
        out->append("Markup(");
        AppendPyRepr(v.str, out);
        out->push_back(')');
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
      if (v.callable->kind == Callable::Kind::kMacro) {
        absl::StrAppend(out, "<Macro '", ToAbsl(v.callable->name), "'>");  // As Jinja2's repr.
        return absl::OkStatus();
      }
      if (v.callable->kind == Callable::Kind::kCaller) {
        out->append("<Macro 'caller'>");
        return absl::OkStatus();
      }
      // Jinja2 prints a Python object's repr here (with its memory address): nothing to match.
      return Error(at,
                   absl::StrCat("cannot print ", TypeName(v), v.callable->name.empty() ? "" : " '",
                                ToAbsl(v.callable->name), v.callable->name.empty() ? "" : "'",
                                " (call it, or print what it returns)"));
  }
  return absl::OkStatus();
}

namespace {

// Python's container == compares items with PyObject_RichCompareBool, which takes an object as
// equal to itself before comparing; so do these (same list, dict or context node).
bool SameObject(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kJsonArray:
    case Value::Kind::kJsonObject:
      return a.json == b.json;
    case Value::Kind::kList:
      return a.list == b.list;
    case Value::Kind::kDict:
      return a.dict == b.dict;
    default:
      return false;
  }
}

}  // namespace

bool Renderer::Equal(const Value& a_in, const Value& b_in, int depth) {
  Value a = Resolve(a_in), b = Resolve(b_in);
  if (SameObject(a, b)) return true;
  if (depth > kMaxValueDepth) {
    // Python raises RecursionError here; the render fails (Run returns this) instead of going
    // on with a wrong answer.
    Defer(Exhausted(stmt_pos_, absl::StrCat("values nest deeper than ", kMaxValueDepth,
                                            " levels to compare (a cycle?)")));
    return false;
  }
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

absl::StatusOr<int> Renderer::Compare(const Expr& at, const Value& a_in, const Value& b_in,
                                      int depth) {
  if (depth > kMaxValueDepth) {
    return Exhausted(at.pos, absl::StrCat("values nest deeper than ", kMaxValueDepth,
                                          " levels to compare (a cycle?)"));
  }
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
      if (Equal(x[i], y[i], depth + 1)) continue;
      LLMKIT_RETURN_IF_ERROR(deferred_);
      return Compare(at, x[i], y[i], depth + 1);
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
  // The items are built before the caller charges them: refuse what cannot fit first, and
  // count the work against the render's time.
  const size_t n = v.kind == Value::Kind::kString       ? v.str.size()
                   : v.kind == Value::Kind::kList       ? v.list->items.size()
                   : v.kind == Value::Kind::kDict       ? v.dict->items.size()
                   : v.kind == Value::Kind::kJsonArray  ? v.json->size()
                   : v.kind == Value::Kind::kJsonObject ? v.json->size()
                                                        : 0;
  LLMKIT_RETURN_IF_ERROR(CheckFits(at, n * sizeof(Value)));
  LLMKIT_RETURN_IF_ERROR(CheckTime(at, n));
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
      return FindSubstring(container.str, item.str) != std::string_view::npos;
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
        if (key.kind == Value::Kind::kString && SameText(key.str, name)) return item;
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
          Value ch = Value::String(obj.str.substr(static_cast<size_t>(index), 1));
          ch.safe = obj.safe;  // Markup's __getitem__ keeps it safe.
          return ch;
        }
        std::vector<size_t> offsets = CodePointOffsets(obj.str);
        int64_t n = static_cast<int64_t>(offsets.size()) - 1;
        if (index < 0) index += n;
        if (index < 0 || index >= n) return Value::Undefined({}, true);
        Value ch =
            Value::String(obj.str.substr(offsets[index], offsets[index + 1] - offsets[index]));
        ch.safe = obj.safe;
        return ch;
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

}  // namespace llmkit::internal::tmpl
