// What a TemplateValues holds: the interpreter's own lists and dicts (value.h), kept between
// builds so that a reused TemplateValues allocates nothing once it has seen a context's shape.

#ifndef LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_
#define LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/template.h"
#include "template/value.h"

namespace llmkit {

struct TemplateValues::Impl {
  // Pools: the first `*_used` are this build's; the rest wait for the next one.
  std::vector<std::unique_ptr<internal::tmpl::List>> lists;
  std::vector<std::unique_ptr<internal::tmpl::Dict>> dicts;
  size_t lists_used = 0;
  size_t dicts_used = 0;
  std::vector<internal::tmpl::Value> open;  // Containers not yet closed, outermost first.
  // The innermost open container (at most one of the two set), read on every value added.
  internal::tmpl::List* list_top = nullptr;
  internal::tmpl::Dict* dict_top = nullptr;
  internal::tmpl::Value root;  // Undefined until the top-level object begins.
  std::string_view key;
  bool has_key = false;
  std::string error;                       // The first misuse; Render returns it.
  std::function<void()> long_render_hook;  // SetLongRenderHook's; kept across Clear().

  void Fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
  // Places `v` where the build is: an array's end, an object's pending key, the top level.
  void Add(const internal::tmpl::Value& v) {
    if (list_top != nullptr) {
      list_top->items.push_back(v);
    } else if (dict_top != nullptr && has_key) {
      dict_top->items.emplace_back(internal::tmpl::Value::String(key), v);
      has_key = false;
    } else {
      AddSlow(v);
    }
  }
  void AddSlow(const internal::tmpl::Value& v);
  void Open(const internal::tmpl::Value& v);
  internal::tmpl::List* NewList();
  internal::tmpl::Dict* NewDict();
  // Why these values cannot be rendered (misuse, or containers left open); empty when they can.
  std::string Problem() const;
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_
