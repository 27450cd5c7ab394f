// What a TemplateValues holds: the interpreter's own lists and dicts (value.h), kept between
// builds so that a reused TemplateValues allocates nothing once it has seen a context's shape.

#ifndef LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_
#define LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_

#include <cstddef>
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
  internal::tmpl::Value root;               // Undefined until the top-level object begins.
  std::string_view key;
  bool has_key = false;
  std::string error;  // The first misuse; Render returns it.

  void Fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
  // Places `v` where the build is: the top level, an object's pending key, an array's end.
  void Add(const internal::tmpl::Value& v);
  internal::tmpl::List* NewList();
  internal::tmpl::Dict* NewDict();
  // Why these values cannot be rendered (misuse, or containers left open); empty when they can.
  std::string Problem() const;
};

}  // namespace llmkit

#endif  // LLMKIT_SRC_TEMPLATE_TEMPLATE_VALUES_H_
