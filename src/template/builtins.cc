// Jinja2's built-in filters. `format` and `tojson` are in builtin_format.cc, the tests in
// builtin_tests.cc.

#include "template/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/casts.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {
namespace {

using Result = absl::StatusOr<Value>;

// --- Filters ---------------------------------------------------------------------------------

Result FilterDefault(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value def = Param(args, kwargs, 1, "default_value", Value::String(""));
  bool boolean = IsTrue(Param(args, kwargs, 2, "boolean", Value::Bool(false)));
  const Value& v = args[0];
  if (v.is_undefined()) return def;
  if (boolean) {
    LLMKIT_ASSIGN_OR_RETURN(bool yes, r.Truthy(at, v));
    if (!yes) return def;
  }
  return v;
}

Result FilterLength(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(int64_t n, r.Length(at, args[0]));
  return Value::Int(n);
}

// Filters that go through Jinja2's soft_str (string, upper, lower, capitalize, trim, center,
// indent) keep a safe string safe; title joins its words into a plain str.
Result FilterString(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  if (args[0].is_safe()) return args[0];
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  return Value::String(s);
}

template <std::string (*Fn)(std::string_view), bool kKeepsSafe = true>
Result FilterCase(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  Value out = r.NewString(Fn(s));
  out.safe = kKeepsSafe && args[0].is_safe();
  return out;
}

// Jinja2's title filter: words start after runs of [-\s({[<].
std::string JinjaTitle(std::string_view s) {
  std::string out;
  bool start = true;
  for (size_t i = 0; i < s.size();) {
    size_t b = i;
    uint32_t cp = DecodeAt(s, &i);
    bool sep = IsPySpace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    if (sep) {
      out.append(s.substr(b, i - b));
      start = true;
    } else {
      out += start ? ToUpper(s.substr(b, i - b)) : ToLower(s.substr(b, i - b));
      start = false;
    }
  }
  return out;
}

Result FilterTrim(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  Value chars = Param(args, kwargs, 1, "chars", Value::None());
  Args margs;
  if (!chars.is_none() && !chars.is_undefined()) margs.push_back(chars);
  Kwargs none;
  bool found;
  return CallMethod(r, at, args[0].is_safe() ? args[0] : Value::String(s), "strip", margs, none,
                    &found);
}

Result FilterReplace(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  Args margs{Param(args, kwargs, 1, "old"), Param(args, kwargs, 2, "new")};
  Value count = Param(args, kwargs, 3, "count", Value::None());
  if (!count.is_none()) margs.push_back(count);
  for (Value& v : margs) {
    if (v.is_undefined()) return r.Error(at, "replace() needs old and new");
    LLMKIT_ASSIGN_OR_RETURN(std::string_view t, r.Str(at, v));
    if (!v.is_integer()) v = Value::String(t);
  }
  Kwargs none;
  bool found;
  return CallMethod(r, at, Value::String(s), "replace", margs, none, &found);
}

// A list a filter built: its items (and `nested` items of lists inside it) counted against
// limits.max_memory_bytes, which NewList() charged only for the list itself, then returned.
Result Built(Renderer& r, const Expr& at, List* list, size_t nested = 0) {
  r.Charge((list->items.size() + nested) * sizeof(Value));
  LLMKIT_RETURN_IF_ERROR(r.CheckMemory(at));
  return Value::Of(list);
}

Result FilterList(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  List* list = r.NewList();
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &list->items));
  return Built(r, at, list);
}

Result FilterFirst(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  if (items.empty()) return Value::Undefined("first", true);
  return items.front();
}

Result FilterLast(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  if (items.empty()) return Value::Undefined("last", true);
  return items.back();
}

Result FilterReverse(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  if (args[0].kind == Value::Kind::kString) {
    std::vector<Value> chars;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &chars));
    std::string out;
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out.append(it->str);
    return r.NewString(std::move(out));
  }
  List* list = r.NewList();
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &list->items));
  std::reverse(list->items.begin(), list->items.end());
  return Built(r, at, list);
}

Result FilterJoin(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value sep = Param(args, kwargs, 1, "d", Value::String(""));
  Value attribute = Param(args, kwargs, 2, "attribute", Value::None());
  LLMKIT_ASSIGN_OR_RETURN(std::string_view separator, r.Str(at, sep));
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator);
    Value item = items[i];
    if (!attribute.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view name, r.Str(at, attribute));
      LLMKIT_ASSIGN_OR_RETURN(item, r.GetItem(at, item, Value::String(name)));
    }
    LLMKIT_RETURN_IF_ERROR(r.AppendStr(at, item, &out));
  }
  return r.NewString(std::move(out));
}

// Follows a dotted attribute path ("a.b", "0") as Jinja2's make_attrgetter does.
Result GetPath(Renderer& r, const Expr& at, Value v, std::string_view path) {
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    int64_t index;
    if (!part.empty() &&
        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        ParsePyInt(part, 10, &index)) {
      LLMKIT_ASSIGN_OR_RETURN(v, r.GetItem(at, v, Value::Int(index)));
    } else {
      LLMKIT_ASSIGN_OR_RETURN(v, r.GetItem(at, v, Value::String(part)));
    }
  }
  return v;
}

Result FilterMap(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  std::vector<Value> items;
  LLMKIT_ASSIGN_OR_RETURN(bool any, r.Truthy(at, args[0]));
  if (any) LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  List* list = r.NewList(items.size());
  Value attribute = Param({}, kwargs, 99, "attribute");
  if (!attribute.is_undefined()) {
    LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
    Value def = Param({}, kwargs, 99, "default");
    for (const Value& item : items) {
      LLMKIT_ASSIGN_OR_RETURN(Value v, GetPath(r, at, item, path));
      if (v.is_undefined() && !def.is_undefined()) v = def;
      list->items.push_back(v);
    }
    return Value::Of(list);
  }
  if (args.size() < 2 || args[1].kind != Value::Kind::kString) {
    return r.Error(at, "map() needs a filter name or attribute=");
  }
  std::string_view name = args[1].str;
  for (const Value& item : items) {
    Args fargs{item};
    fargs.insert(fargs.end(), args.begin() + 2, args.end());
    Kwargs fkwargs = kwargs;
    LLMKIT_ASSIGN_OR_RETURN(Value v, r.ApplyFilter(at, name, fargs, fkwargs));
    list->items.push_back(v);
  }
  return Value::Of(list);
}

// select / reject / selectattr / rejectattr.
template <bool kSelect, bool kAttr>
Result FilterSelect(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  std::vector<Value> items;
  // Jinja2 iterates only a true value: `none | select(...)` is empty.
  LLMKIT_ASSIGN_OR_RETURN(bool any, r.Truthy(at, args[0]));
  if (any) LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  size_t next = 1;
  std::string_view path;
  if (kAttr) {
    if (args.size() < 2) return r.Error(at, "selectattr/rejectattr need an attribute name");
    LLMKIT_ASSIGN_OR_RETURN(path, r.Str(at, args[1]));
    next = 2;
  }
  std::string_view test;
  if (args.size() > next) {
    if (args[next].kind != Value::Kind::kString) return r.Error(at, "test name must be a string");
    test = args[next].str;
    ++next;
  }
  List* list = r.NewList();
  for (const Value& item : items) {
    Value subject = item;
    if (kAttr) {
      LLMKIT_ASSIGN_OR_RETURN(subject, GetPath(r, at, item, path));
    }
    bool yes;
    if (test.empty()) {
      LLMKIT_ASSIGN_OR_RETURN(yes, r.Truthy(at, subject));
    } else {
      Args targs{subject};
      targs.insert(targs.end(), args.begin() + next, args.end());
      Kwargs tkwargs = kwargs;
      LLMKIT_ASSIGN_OR_RETURN(yes, r.ApplyTest(at, test, targs, tkwargs));
    }
    if (yes == kSelect) list->items.push_back(item);
  }
  return Built(r, at, list);
}

Result FilterItems(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  Value v = r.Resolve(args[0]);
  if (v.is_undefined()) return Value::Of(r.NewList());
  if (!v.is_mapping()) return r.Error(at, "items() needs a mapping");
  Args none;
  Kwargs nokw;
  bool found;
  return CallMethod(r, at, v, "items", none, nokw, &found);
}

// Sort key: strings lowercased unless case-sensitive.
Value SortKey(Renderer& r, const Value& v, bool case_sensitive) {
  if (case_sensitive || v.kind != Value::Kind::kString) return v;
  return r.NewString(ToLower(v.str));
}

absl::Status SortValues(Renderer& r, const Expr& at, std::vector<Value>* items,
                        std::vector<Value>* keys, bool reverse) {
  std::vector<size_t> order(items->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  absl::Status status;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!status.ok()) return false;
    absl::StatusOr<int> c = r.Compare(at, (*keys)[a], (*keys)[b]);
    if (!c.ok()) {
      status = c.status();
      return false;
    }
    return reverse ? *c > 0 : *c < 0;
  });
  LLMKIT_RETURN_IF_ERROR(status);
  std::vector<Value> sorted;
  sorted.reserve(items->size());
  for (size_t i : order) sorted.push_back((*items)[i]);
  *items = std::move(sorted);
  return absl::OkStatus();
}

Result FilterDictsort(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  bool case_sensitive = IsTrue(Param(args, kwargs, 1, "case_sensitive", Value::Bool(false)));
  Value by = Param(args, kwargs, 2, "by", Value::String("key"));
  bool reverse = IsTrue(Param(args, kwargs, 3, "reverse", Value::Bool(false)));
  Kwargs nokw;
  LLMKIT_ASSIGN_OR_RETURN(Value pairs, FilterItems(r, at, args, nokw));
  std::vector<Value> items = pairs.list->items;
  size_t pos = by.kind == Value::Kind::kString && by.str == "value" ? 1 : 0;
  std::vector<Value> keys;
  for (const Value& p : items) keys.push_back(SortKey(r, p.list->items[pos], case_sensitive));
  LLMKIT_RETURN_IF_ERROR(SortValues(r, at, &items, &keys, reverse));
  List* list = r.NewList();
  list->items = std::move(items);
  return Built(r, at, list);
}

Result FilterSort(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  bool reverse = IsTrue(Param(args, kwargs, 1, "reverse", Value::Bool(false)));
  bool case_sensitive = IsTrue(Param(args, kwargs, 2, "case_sensitive", Value::Bool(false)));
  Value attribute = Param(args, kwargs, 3, "attribute", Value::None());
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  std::vector<Value> keys;
  for (const Value& item : items) {
    Value k = item;
    if (!attribute.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
      LLMKIT_ASSIGN_OR_RETURN(k, GetPath(r, at, item, path));
    }
    keys.push_back(SortKey(r, k, case_sensitive));
  }
  LLMKIT_RETURN_IF_ERROR(SortValues(r, at, &items, &keys, reverse));
  List* list = r.NewList();
  list->items = std::move(items);
  return Built(r, at, list);
}

Result FilterUnique(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  bool case_sensitive = IsTrue(Param(args, kwargs, 1, "case_sensitive", Value::Bool(false)));
  Value attribute = Param(args, kwargs, 2, "attribute", Value::None());
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  List* list = r.NewList();
  std::vector<Value> seen;
  absl::flat_hash_set<std::string> seen_scalars;
  for (const Value& item : items) {
    Value k = item;
    if (!attribute.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
      LLMKIT_ASSIGN_OR_RETURN(k, GetPath(r, at, item, path));
    }
    k = SortKey(r, k, case_sensitive);
    // Scalars by hash, as Python's set (1, 1.0 and True are one key); other values by
    // comparison with those seen before.
    std::string hashed;
    bool scalar = true;
    switch (k.kind) {
      case Value::Kind::kString:
        hashed = absl::StrCat("s", ToAbsl(k.str));
        break;
      case Value::Kind::kNone:
        hashed = "N";
        break;
      case Value::Kind::kBool:
      case Value::Kind::kInt:
        hashed = absl::StrCat("i", k.AsInt());
        break;
      case Value::Kind::kDouble:
        if (k.d == std::floor(k.d) && std::fabs(k.d) < 9.2e18) {
          hashed = absl::StrCat("i", static_cast<int64_t>(k.d));
        } else if (std::isnan(k.d)) {
          scalar = false;  // NaN equals nothing, not even itself.
        } else {
          hashed = absl::StrCat("d", absl::Hex(absl::bit_cast<uint64_t>(k.d)));
        }
        break;
      case Value::Kind::kList:
        if (!k.list->tuple) return r.Error(at, "unhashable type: 'list'");  // As Python's set.
        scalar = false;
        break;
      case Value::Kind::kJsonArray:
        return r.Error(at, "unhashable type: 'list'");
      case Value::Kind::kDict:
      case Value::Kind::kJsonObject:
        return r.Error(at, absl::StrCat("unhashable type: '", TypeName(k), "'"));
      default:
        scalar = false;
    }
    LLMKIT_RETURN_IF_ERROR(r.CheckTime(at));
    if (scalar) {
      if (!seen_scalars.insert(std::move(hashed)).second) continue;
    } else {
      bool dup = false;
      for (const Value& s : seen) {
        if (r.Equal(s, k)) {
          dup = true;
          break;
        }
      }
      if (dup) continue;
      seen.push_back(k);
    }
    list->items.push_back(item);
  }
  return Built(r, at, list);
}

// groupby(attribute, default=None, case_sensitive=False): (grouper, list) pairs sorted by key.
Result FilterGroupby(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value attribute = Param(args, kwargs, 1, "attribute");
  Value def = Param(args, kwargs, 2, "default", Value::None());
  bool case_sensitive = IsTrue(Param(args, kwargs, 3, "case_sensitive", Value::Bool(false)));
  if (attribute.kind != Value::Kind::kString && !attribute.is_integer()) {
    return r.Error(at, "groupby() needs an attribute");
  }
  LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  std::vector<Value> keys, shown;
  for (const Value& item : items) {
    LLMKIT_ASSIGN_OR_RETURN(Value k, GetPath(r, at, item, path));
    if (k.is_undefined() && !def.is_none()) k = def;
    shown.push_back(k);
    keys.push_back(SortKey(r, k, case_sensitive));
  }
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<Value> index_values;
  for (size_t i = 0; i < order.size(); ++i)
    index_values.push_back(Value::Int(static_cast<int64_t>(i)));
  std::vector<Value> sort_keys = keys;
  LLMKIT_RETURN_IF_ERROR(SortValues(r, at, &index_values, &sort_keys, false));
  List* out = r.NewList();
  List* current = nullptr;
  Value current_key;
  for (const Value& iv : index_values) {
    size_t i = static_cast<size_t>(iv.i);
    if (current == nullptr || !r.Equal(current_key, keys[i])) {
      current = r.NewList();
      current_key = keys[i];
      List* pair = r.NewList(2);
      pair->tuple = true;
      pair->group = true;
      pair->items = {shown[i], Value::Of(current)};
      out->items.push_back(Value::Of(pair));
    }
    current->items.push_back(items[i]);
  }
  return Built(r, at, out, items.size());
}

template <bool kMax>
Result FilterMinMax(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  bool case_sensitive = IsTrue(Param(args, kwargs, 1, "case_sensitive", Value::Bool(false)));
  Value attribute = Param(args, kwargs, 2, "attribute", Value::None());
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  if (items.empty()) return Value::Undefined(kMax ? "max" : "min", true);
  size_t best = 0;
  Value best_key;
  for (size_t i = 0; i < items.size(); ++i) {
    Value k = items[i];
    if (!attribute.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
      LLMKIT_ASSIGN_OR_RETURN(k, GetPath(r, at, items[i], path));
    }
    k = SortKey(r, k, case_sensitive);
    if (i == 0) {
      best_key = k;
      continue;
    }
    LLMKIT_ASSIGN_OR_RETURN(int c, r.Compare(at, k, best_key));
    if (kMax ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Result FilterSum(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value attribute = Param(args, kwargs, 1, "attribute", Value::None());
  Value total = Param(args, kwargs, 2, "start", Value::Int(0));
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  for (const Value& item : items) {
    Value v = item;
    if (!attribute.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view path, r.Str(at, attribute));
      LLMKIT_ASSIGN_OR_RETURN(v, GetPath(r, at, item, path));
    }
    if (!v.is_number() || !total.is_number()) {
      return r.Error(at, "sum() of non-numbers");
    }
    if (total.is_integer() && v.is_integer()) {
      int64_t s;
      if (__builtin_add_overflow(total.AsInt(), v.AsInt(), &s))
        return r.Error(at, "integer overflow");
      total = Value::Int(s);
    } else {
      total = Value::Double(total.AsDouble() + v.AsDouble());
    }
  }
  return total;
}

Result FilterIndent(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value width = Param(args, kwargs, 1, "width", Value::Int(4));
  bool first = IsTrue(Param(args, kwargs, 2, "first", Value::Bool(false)));
  bool blank = IsTrue(Param(args, kwargs, 3, "blank", Value::Bool(false)));
  std::string indention;
  if (width.kind == Value::Kind::kString) {
    indention = std::string(width.str);
  } else if (width.is_integer()) {
    int64_t spaces = std::max<int64_t>(width.AsInt(), 0);
    LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, static_cast<uint64_t>(spaces)));
    indention.assign(static_cast<size_t>(spaces), ' ');
  } else {
    return r.Error(at, "indent width must be an integer or a string");
  }
  LLMKIT_ASSIGN_OR_RETURN(std::string_view text, r.Str(at, args[0]));
  std::string s(text);
  s.push_back('\n');
  std::vector<std::string_view> lines = SplitLines(s);
  LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, indention.size() * lines.size() + s.size()));
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out.append("\n").append(indention);
      out.append(lines[i]);
    }
  } else if (!lines.empty()) {
    out.append(lines[0]);
    if (lines.size() > 1) {
      out.push_back('\n');
      for (size_t i = 1; i < lines.size(); ++i) {
        if (i > 1) out.push_back('\n');
        if (!lines[i].empty()) out.append(indention);
        out.append(lines[i]);
      }
    }
  }
  if (first) out = indention + out;
  LLMKIT_RETURN_IF_ERROR(r.CheckMemory(at));
  Value indented = r.NewString(std::move(out));
  indented.safe = args[0].is_safe();
  return indented;
}

// |e and |escape: markupsafe.escape (a safe string stays as it is).
Result FilterEscape(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  return r.Escape(at, args[0]);
}

// |forceescape escapes str() of the value, even of a safe string.
Result FilterForceEscape(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  return r.Escape(at, Value::String(s));
}

// |safe: Markup(value), str() of it marked safe.
Result FilterSafe(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  if (args[0].is_safe()) return args[0];
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  return Value::Safe(s);
}

Result FilterCenter(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value width = Param(args, kwargs, 1, "width", Value::Int(80));
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  Args margs{width};
  Kwargs none;
  bool found;
  return CallMethod(r, at, args[0].is_safe() ? args[0] : Value::String(s), "center", margs, none,
                    &found);
}

Result FilterWordcount(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  int64_t words = 0;
  bool in_word = false;
  size_t next_check = 0;
  for (size_t i = 0; i < s.size();) {
    if (i >= next_check) {
      LLMKIT_RETURN_IF_ERROR(r.CheckTime(at, 1024));  // Reads the clock every 64 KiB.
      next_check = i + 65536;
    }
    const auto byte = static_cast<unsigned char>(s[i]);
    bool w;
    if (byte < 0x80) {
      w = byte == '_' || (byte >= '0' && byte <= '9') ||
          ((byte | 0x20) >= 'a' && (byte | 0x20) <= 'z');
      ++i;
    } else {
      uint32_t cp = DecodeAt(s, &i);
      w = IsAlphaCp(cp) || IsDigitCp(cp);
    }
    if (w && !in_word) ++words;
    in_word = w;
  }
  return Value::Int(words);
}

Result FilterTruncate(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view s, r.Str(at, args[0]));
  int64_t length = Param(args, kwargs, 1, "length", Value::Int(255)).AsInt();
  bool killwords = IsTrue(Param(args, kwargs, 2, "killwords", Value::Bool(false)));
  LLMKIT_ASSIGN_OR_RETURN(std::string_view end,
                          r.Str(at, Param(args, kwargs, 3, "end", Value::String("..."))));
  Value leeway_v = Param(args, kwargs, 4, "leeway", Value::None());
  int64_t leeway = leeway_v.is_integer() ? leeway_v.AsInt() : 5;
  std::vector<size_t> offsets = CodePointOffsets(s);
  int64_t n = static_cast<int64_t>(offsets.size()) - 1;
  int64_t end_len = static_cast<int64_t>(PyLength(end));
  if (length < end_len) return r.Error(at, absl::StrCat("expected length >= ", end_len));
  if (n <= length + leeway) return Value::String(s);
  std::string_view head = s.substr(0, offsets[length - end_len]);
  if (!killwords) {
    size_t space = head.rfind(' ');
    if (space != std::string_view::npos) head = head.substr(0, space);
  }
  return r.NewString(absl::StrCat(ToAbsl(head), ToAbsl(end)));
}

Result FilterBatch(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value count = Param(args, kwargs, 1, "linecount");
  Value fill = Param(args, kwargs, 2, "fill_with", Value::None());
  if (!count.is_integer() || count.AsInt() <= 0)
    return r.Error(at, "batch() needs a positive count");
  std::vector<Value> items;
  LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
  List* out = r.NewList();
  size_t n = static_cast<size_t>(count.AsInt());
  for (size_t i = 0; i < items.size(); i += n) {
    List* batch = r.NewList();
    for (size_t j = i; j < i + n && j < items.size(); ++j) batch->items.push_back(items[j]);
    if (!fill.is_none()) {
      while (batch->items.size() < n) batch->items.push_back(fill);
    }
    out->items.push_back(Value::Of(batch));
  }
  return Built(r, at, out, items.size());
}

Result FilterAttr(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value name = Param(args, kwargs, 1, "name");
  if (name.kind != Value::Kind::kString) return r.Error(at, "attr() needs a name");
  // Jinja2's attr is getattr() alone: a dict's items are not its attributes (a namespace's are).
  Value obj = r.Resolve(args[0]);
  const bool dict = obj.kind == Value::Kind::kJsonObject ||
                    (obj.kind == Value::Kind::kDict && !obj.dict->is_namespace);
  if (dict && !HasMethod(obj, name.str)) return Value::Undefined(name.str, true);
  return r.GetAttr(at, args[0], name.str);
}

const absl::flat_hash_map<std::string_view, BuiltinFn>& Filters() {
  static const auto* filters = new absl::flat_hash_map<std::string_view, BuiltinFn>{
      {"abs", FilterAbs},
      {"attr", FilterAttr},
      {"batch", FilterBatch},
      {"capitalize", FilterCase<PyCapitalize>},
      {"center", FilterCenter},
      {"count", FilterLength},
      {"d", FilterDefault},
      {"default", FilterDefault},
      {"dictsort", FilterDictsort},
      {"e", FilterEscape},
      {"escape", FilterEscape},
      {"first", FilterFirst},
      {"float", FilterFloat},
      {"forceescape", FilterForceEscape},
      {"format", FilterFormat},
      {"groupby", FilterGroupby},
      {"indent", FilterIndent},
      {"int", FilterInt},
      {"items", FilterItems},
      {"join", FilterJoin},
      {"last", FilterLast},
      {"length", FilterLength},
      {"list", FilterList},
      {"lower", FilterCase<ToLower>},
      {"map", FilterMap},
      {"max", FilterMinMax<true>},
      {"min", FilterMinMax<false>},
      {"reject", FilterSelect<false, false>},
      {"rejectattr", FilterSelect<false, true>},
      {"replace", FilterReplace},
      {"reverse", FilterReverse},
      {"round", FilterRound},
      {"safe", FilterSafe},
      {"select", FilterSelect<true, false>},
      {"selectattr", FilterSelect<true, true>},
      {"sort", FilterSort},
      {"string", FilterString},
      {"sum", FilterSum},
      {"title", FilterCase<JinjaTitle, false>},
      {"tojson", FilterToJson},
      {"trim", FilterTrim},
      {"truncate", FilterTruncate},
      {"unique", FilterUnique},
      {"upper", FilterCase<ToUpper>},
      {"wordcount", FilterWordcount},
  };
  return *filters;
}

}  // namespace

BuiltinFn FindFilter(std::string_view name) {
  auto it = Filters().find(name);
  return it == Filters().end() ? nullptr : it->second;
}

absl::StatusOr<Value> Renderer::ApplyFilter(const Expr& at, std::string_view name, Args& args,
                                            Kwargs& kwargs) {
  BuiltinFn fn = FindFilter(name);
  if (fn == nullptr) return Error(at, absl::StrCat("no filter named '", ToAbsl(name), "'"));
  return fn(*this, at, args, kwargs);
}

}  // namespace llmkit::internal::tmpl
