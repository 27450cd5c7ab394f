// Python's list and dict methods as templates call them (`messages.append(m)`, `d.items()`):
// changing methods change the render's own copy, never the caller's context.

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "template/methods.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {
namespace {

using Result = absl::StatusOr<Value>;

}  // namespace

absl::StatusOr<Value> ListMethod(Renderer& r, const Expr& at, const Value& obj,
                                 std::string_view name, Args& args) {
  if (name == "index" || name == "count" || name == "copy") {
    std::vector<Value> items;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, obj, &items));
    if (name == "copy") {
      List* list = r.NewList();
      list->items = std::move(items);
      return Value::Of(list);
    }
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    int64_t count = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!r.Equal(items[i], args[0])) continue;
      if (name == "index") return Value::Int(static_cast<int64_t>(i));
      ++count;
    }
    if (name == "index") return r.Error(at, "list.index(x): x not in list");
    return Value::Int(count);
  }
  Value resolved = r.Resolve(obj);
  if (resolved.kind == Value::Kind::kList && resolved.list->tuple) {
    return r.Error(at, absl::StrCat("'tuple' object has no attribute '", ToAbsl(name), "'"));
  }
  List* list = r.MutableList(obj);
  std::vector<Value>& items = list->items;
  if (name == "append") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    items.push_back(args[0]);
    r.Charge(sizeof(Value));
    LLMKIT_RETURN_IF_ERROR(r.CheckMemory(at));
    return Value::None();
  }
  if (name == "extend") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    std::vector<Value> more;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &more));
    items.insert(items.end(), more.begin(), more.end());
    return Value::None();
  }
  if (name == "insert") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 2, 2));
    if (!args[0].is_integer()) return r.Error(at, "insert() index must be an integer");
    int64_t n = static_cast<int64_t>(items.size());
    int64_t i = args[0].AsInt();
    if (i < 0) i = std::max<int64_t>(0, i + n);
    i = std::min(i, n);
    items.insert(items.begin() + i, args[1]);
    return Value::None();
  }
  if (name == "pop") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 0, 1));
    if (items.empty()) return r.Error(at, "pop from empty list");
    int64_t n = static_cast<int64_t>(items.size());
    int64_t i = args.empty() ? -1 : args[0].AsInt();
    if (!args.empty() && !args[0].is_integer())
      return r.Error(at, "pop() index must be an integer");
    if (i < 0) i += n;
    if (i < 0 || i >= n) return r.Error(at, "pop index out of range");
    Value v = items[i];
    items.erase(items.begin() + i);
    return v;
  }
  if (name == "remove") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    for (size_t i = 0; i < items.size(); ++i) {
      if (r.Equal(items[i], args[0])) {
        items.erase(items.begin() + static_cast<int64_t>(i));
        return Value::None();
      }
    }
    return r.Error(at, "list.remove(x): x not in list");
  }
  if (name == "reverse") {
    std::reverse(items.begin(), items.end());
    return Value::None();
  }
  if (name == "clear") {
    items.clear();
    return Value::None();
  }
  if (name == "sort") {
    Args fargs{Value::Of(list)};
    Kwargs none;
    LLMKIT_ASSIGN_OR_RETURN(Value sorted, r.ApplyFilter(at, "sort", fargs, none));
    std::vector<Value> copy = sorted.list->items;
    // Python's sort is case-sensitive.
    items = std::move(copy);
    return Value::None();
  }
  return r.Error(at, absl::StrCat("'list' object has no attribute '", ToAbsl(name), "'"));
}

absl::StatusOr<Value> DictMethod(Renderer& r, const Expr& at, const Value& obj,
                                 std::string_view name, Args& args, Kwargs& kwargs) {
  Value v = r.Resolve(obj);
  if (name == "items" || name == "keys" || name == "values") {
    List* list = r.NewList(v.kind == Value::Kind::kDict ? v.dict->items.size() : v.json->size());
    auto add = [&](const Value& k, const Value& item) {
      if (name == "keys") {
        list->items.push_back(k);
      } else if (name == "values") {
        list->items.push_back(item);
      } else {
        List* pair = r.NewList(2);
        pair->tuple = true;
        pair->items = {k, item};
        list->items.push_back(Value::Of(pair));
      }
    };
    if (v.kind == Value::Kind::kDict) {
      for (const auto& [k, item] : v.dict->items) add(k, item);
    } else {
      for (const auto& [k, item] : v.json->as_object()) add(Value::String(k), r.Wrap(item));
    }
    return Value::Of(list);
  }
  if (name == "get") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 2));
    Value def = Arg(args, 1, Value::None());
    if (v.kind == Value::Kind::kJsonObject) {
      if (args[0].kind != Value::Kind::kString) return def;
      const Json* member = v.json->Find(args[0].str);
      return member != nullptr ? r.Wrap(*member) : def;
    }
    for (const auto& [k, item] : v.dict->items) {
      if (r.Equal(k, args[0])) return item;
    }
    return def;
  }
  if (name == "copy") {
    Dict* d = r.NewDict();
    Args none;
    Kwargs nokw;
    bool found;
    LLMKIT_ASSIGN_OR_RETURN(Value pairs, CallMethod(r, at, v, "items", none, nokw, &found));
    for (const Value& p : pairs.list->items)
      d->items.emplace_back(p.list->items[0], p.list->items[1]);
    return Value::Of(d);
  }
  Dict* d = r.MutableDict(obj);
  auto& items = d->items;
  auto find = [&](const Value& key) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (r.Equal(items[i].first, key)) return static_cast<int64_t>(i);
    }
    return int64_t{-1};
  };
  if (name == "pop") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 2));
    int64_t i = find(args[0]);
    if (i < 0) {
      if (args.size() > 1) return args[1];
      std::string key;
      LLMKIT_RETURN_IF_ERROR(r.AppendRepr(at, args[0], &key, 1));
      return r.Error(at, absl::StrCat("KeyError: ", key));
    }
    Value out = items[i].second;
    items.erase(items.begin() + i);
    return out;
  }
  if (name == "popitem") {
    if (items.empty()) return r.Error(at, "popitem(): dictionary is empty");
    List* pair = r.NewList(2);
    pair->tuple = true;
    pair->items = {items.back().first, items.back().second};
    items.pop_back();
    return Value::Of(pair);
  }
  if (name == "setdefault") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 2));
    int64_t i = find(args[0]);
    if (i >= 0) return items[i].second;
    Value def = Arg(args, 1, Value::None());
    items.emplace_back(args[0], def);
    return def;
  }
  if (name == "update") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 0, 1));
    std::vector<std::pair<Value, Value>> updates;
    if (!args.empty()) {
      Value other = r.Resolve(args[0]);
      if (other.kind == Value::Kind::kJsonObject) {
        for (const auto& [k, item] : other.json->as_object())
          updates.emplace_back(Value::String(k), r.Wrap(item));
      } else if (other.kind == Value::Kind::kDict) {
        updates = other.dict->items;
      } else {
        return r.Error(at, "update() needs a mapping");
      }
    }
    for (const auto& [k, item] : kwargs) updates.emplace_back(Value::String(k), item);
    for (auto& [k, item] : updates) {
      int64_t i = find(k);
      if (i >= 0) {
        items[i].second = item;
      } else {
        items.emplace_back(k, item);
      }
    }
    return Value::None();
  }
  if (name == "clear") {
    items.clear();
    return Value::None();
  }
  return r.Error(at, absl::StrCat("'dict' object has no attribute '", ToAbsl(name), "'"));
}

}  // namespace llmkit::internal::tmpl
