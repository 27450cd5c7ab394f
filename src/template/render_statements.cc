// The interpreter's statements: output, set, if, for, macro, call, filter blocks, include and
// import.

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

absl::Status Renderer::RenderToString(const Body& body, Scope* scope, std::string* text) {
  std::string* saved = out_;
  out_ = text;
  absl::Status status = Exec(body, scope);
  out_ = saved;
  return status;
}

absl::Status Renderer::ExecStmt(const Stmt& s, Scope* scope) {
  stmt_pos_ = s.pos;
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
      LLMKIT_RETURN_IF_ERROR(CheckTime(*s.expr));
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
  const bool simple_target = !s.target.unpack && s.target.attribute.empty();  // `for x in`
  for (size_t i = 0; i < state.items.size(); ++i) {
    LLMKIT_RETURN_IF_ERROR(CheckTime(*s.expr));
    state.index0 = static_cast<int64_t>(i);
    inner->vars.clear();
    if (simple_target) {
      inner->vars.emplace_back(s.target.names[0], state.items[i]);
    } else {
      LLMKIT_RETURN_IF_ERROR(Assign(s, s.target, state.items[i], inner));
    }
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

}  // namespace llmkit::internal::tmpl
