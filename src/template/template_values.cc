// TemplateValues: a render's variables built in place from the host's data (template.h).

#include "template/template_values.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace llmkit {

using internal::tmpl::Dict;
using internal::tmpl::List;
using internal::tmpl::Value;

namespace {

// The first key that appears twice among an object's members, or empty.
std::string_view DuplicateKey(const Dict& d) {
  const auto& items = d.items;
  if (items.size() <= 16) {
    for (size_t i = 1; i < items.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (internal::tmpl::SameText(items[i].first.str, items[j].first.str)) {
          return items[i].first.str;
        }
      }
    }
    return {};
  }
  // A hash set: sorting a million keys took about a second.
  absl::flat_hash_set<std::string_view> seen;
  seen.reserve(items.size());
  for (const auto& item : items) {
    if (!seen.insert(item.first.str).second) return item.first.str;
  }
  return {};
}

}  // namespace

[[gnu::always_inline]] inline List* TemplateValues::Impl::NewList() {
  if (lists_used == lists.size()) lists.push_back(std::make_unique<List>());
  List* list = lists[lists_used++].get();
  list->items.clear();
  list->tuple = list->group = false;
  list->owner = internal::tmpl::Owner::kCaller;
  return list;
}

[[gnu::always_inline]] inline Dict* TemplateValues::Impl::NewDict() {
  if (dicts_used == dicts.size()) dicts.push_back(std::make_unique<Dict>());
  Dict* dict = dicts[dicts_used++].get();
  dict->items.clear();
  dict->is_namespace = false;
  dict->keys_unique = false;
  dict->owner = internal::tmpl::Owner::kCaller;
  return dict;
}

void TemplateValues::Impl::AddSlow(const Value& v) {
  if (open.empty()) {
    if (!root.is_undefined())
      return Fail("a second top-level value (the variables are one object)");
    if (v.kind != Value::Kind::kDict) return Fail("the top level must be an object (BeginObject)");
    root = v;
    return;
  }
  Fail("a value in an object without a Key() before it");
}

[[gnu::always_inline]] inline void TemplateValues::Impl::Open(const Value& v) {
  Add(v);
  open.push_back(v);
  list_top = v.kind == Value::Kind::kList ? v.list : nullptr;
  dict_top = v.kind == Value::Kind::kDict ? v.dict : nullptr;
}

std::string TemplateValues::Impl::Problem() const {
  if (!error.empty()) return error;
  if (!open.empty()) return absl::StrCat(open.size(), " object(s)/array(s) not closed with End()");
  return {};
}

TemplateValues::TemplateValues() : impl_(std::make_unique<Impl>()) {}
TemplateValues::~TemplateValues() = default;
TemplateValues::TemplateValues(TemplateValues&&) noexcept = default;
TemplateValues& TemplateValues::operator=(TemplateValues&&) noexcept = default;

void TemplateValues::Clear() {
  if (impl_ == nullptr) impl_ = std::make_unique<Impl>();  // After a move.
  Impl& b = *impl_;
  for (size_t i = 0; i < b.lists_used; ++i) b.lists[i]->items.clear();
  for (size_t i = 0; i < b.dicts_used; ++i) b.dicts[i]->items.clear();
  b.lists_used = b.dicts_used = 0;
  b.open.clear();
  b.list_top = nullptr;
  b.dict_top = nullptr;
  b.root = Value();
  b.has_key = false;
  b.error.clear();
}

void TemplateValues::BeginObject(size_t size_hint, bool keys_unique) {
  Dict* dict = impl_->NewDict();
  if (size_hint > 0) dict->items.reserve(size_hint);
  dict->keys_unique = keys_unique;
  impl_->Open(Value::Of(dict));
}

void TemplateValues::BeginArray(size_t size_hint) {
  List* list = impl_->NewList();
  if (size_hint > 0) list->items.reserve(size_hint);
  impl_->Open(Value::Of(list));
}

void TemplateValues::End() {
  Impl& b = *impl_;
  if (b.open.empty()) return b.Fail("End() without an open object or array");
  if (b.dict_top != nullptr) {
    if (b.has_key) {
      b.Fail(absl::StrCat("Key(\"", internal::ToAbsl(b.key), "\") without a value"));
      b.has_key = false;
    }
    std::string_view duplicate =
        b.dict_top->keys_unique ? std::string_view() : DuplicateKey(*b.dict_top);
    if (!duplicate.empty()) {
      b.Fail(absl::StrCat("the key \"", internal::ToAbsl(duplicate), "\" twice in one object"));
    }
  }
  b.open.pop_back();
  b.list_top = nullptr;
  b.dict_top = nullptr;
  if (!b.open.empty()) {
    const Value& top = b.open.back();
    if (top.kind == Value::Kind::kList) b.list_top = top.list;
    if (top.kind == Value::Kind::kDict) b.dict_top = top.dict;
  }
}

void TemplateValues::Key(std::string_view key) {
  Impl& b = *impl_;
  if (b.dict_top == nullptr) {
    return b.Fail(absl::StrCat("Key(\"", internal::ToAbsl(key), "\") outside an object"));
  }
  if (b.has_key)
    return b.Fail(absl::StrCat("Key(\"", internal::ToAbsl(b.key), "\") without a value"));
  b.key = key;
  b.has_key = true;
}

void TemplateValues::Null() { impl_->Add(Value::None()); }
void TemplateValues::Bool(bool value) { impl_->Add(Value::Bool(value)); }
void TemplateValues::Int(int64_t value) { impl_->Add(Value::Int(value)); }
void TemplateValues::Double(double value) { impl_->Add(Value::Double(value)); }
void TemplateValues::String(std::string_view value) { impl_->Add(Value::String(value)); }

void TemplateValues::SetLongRenderHook(std::function<void()> hook) {
  if (impl_ == nullptr) impl_ = std::make_unique<Impl>();  // After a move.
  impl_->long_render_hook = std::move(hook);
}

void TemplateValues::Member(std::string_view key, std::string_view value) {
  Impl& b = *impl_;
  if (b.dict_top == nullptr || b.has_key) {
    Key(key);
    return String(value);
  }
  b.dict_top->items.emplace_back(Value::String(key), Value::String(value));
}

}  // namespace llmkit
