// Helpers and the list/dict methods shared by methods.cc (str methods, dispatch) and
// container_methods.cc (list and dict methods).

#ifndef LLMKIT_SRC_TEMPLATE_METHODS_H_
#define LLMKIT_SRC_TEMPLATE_METHODS_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "template/render.h"

namespace llmkit::internal::tmpl {

// Argument `i`, or `def` when not given.
inline Value Arg(const Args& args, size_t i, Value def = Value::Undefined()) {
  return i < args.size() ? args[i] : def;
}

// kInvalidArgument unless min <= args.size() <= max, as Python words it.
inline absl::Status ArgCount(Renderer& r, const Expr& at, std::string_view name, const Args& args,
                             size_t min, size_t max) {
  if (args.size() >= min && args.size() <= max) return absl::OkStatus();
  return r.Error(at, absl::StrCat(ToAbsl(name), "() takes ", min == max ? "" : "at most ", max,
                                  " argument(s) (", args.size(), " given)"));
}

// list.append/extend/insert/pop/remove/index/count/reverse/copy/clear/sort on `obj` (changing
// the render's own copy of a context array). In container_methods.cc.
absl::StatusOr<Value> ListMethod(Renderer& r, const Expr& at, const Value& obj,
                                 std::string_view name, Args& args);
// dict.items/keys/values/get/pop/update/setdefault/copy/clear/popitem. In container_methods.cc.
absl::StatusOr<Value> DictMethod(Renderer& r, const Expr& at, const Value& obj,
                                 std::string_view name, Args& args, Kwargs& kwargs);

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_METHODS_H_
