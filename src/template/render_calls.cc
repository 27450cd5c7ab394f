// The interpreter's calls: global functions, filters, tests, macros and methods.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {

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
  LLMKIT_RETURN_IF_ERROR(CheckTime(at));
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
    // In 128 bits: stop - start overflows int64 for ranges spanning more than half of it.
    __int128 count = 0;
    const __int128 span = static_cast<__int128>(stop) - start, by = step;
    if (step > 0 && span > 0) count = (span - 1) / by + 1;
    if (step < 0 && span < 0) count = (-span - 1) / -by + 1;
    // Jinja2's sandbox caps range() at 100,000 items.
    if (count > 100000) {
      return Exhausted(at.pos, "range() larger than 100000 items");
    }
    List* list = NewList(static_cast<size_t>(count));
    for (__int128 i = 0; i < count; ++i) {
      list->items.push_back(Value::Int(static_cast<int64_t>(start + i * by)));
    }
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
    // Later keywords replace earlier keys; an index keeps dict(**large) linear.
    absl::flat_hash_map<std::string_view, size_t> index;
    for (size_t i = 0; i < d->items.size(); ++i) {
      if (d->items[i].first.kind == Value::Kind::kString) index[d->items[i].first.str] = i;
    }
    for (const auto& [k, v] : kwargs) {
      LLMKIT_RETURN_IF_ERROR(CheckTime(at));
      auto [slot, added] = index.try_emplace(k, d->items.size());
      if (added) {
        d->items.emplace_back(Value::String(k), v);
      } else {
        d->items[slot->second].second = v;
      }
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

}  // namespace llmkit::internal::tmpl
