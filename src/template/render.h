// The interpreter: one Renderer per Render call walks the program's tree, reading the caller's
// context in place and keeping everything it creates in its Arena.

#ifndef LLMKIT_SRC_TEMPLATE_RENDER_H_
#define LLMKIT_SRC_TEMPLATE_RENDER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/status.h"
#include "template/ast.h"
#include "template/value.h"

namespace llmkit::internal::tmpl {

struct Scope : HeapObject {
  std::vector<std::pair<std::string_view, Value>> vars;
  Scope* parent = nullptr;

  Value* Find(std::string_view name) {
    for (auto& [k, v] : vars) {
      if (SameText(k, name)) return &v;
    }
    return nullptr;
  }
  void Set(std::string_view name, Value value) {
    if (Value* v = Find(name)) {
      *v = value;
    } else {
      vars.emplace_back(name, value);
    }
  }
};

struct LoopState {
  std::vector<Value> items;
  int64_t index0 = 0;
  int depth0 = 0;
  bool has_changed = false;
  Value last_changed;
  const Stmt* stmt = nullptr;  // For recursive loops: loop(items) runs the body again.
  Scope* scope = nullptr;      // The scope the for statement runs in.
  const Program* program = nullptr;
};

struct Callable : HeapObject {
  enum class Kind : uint8_t {
    kMacro,
    kCaller,
    kGlobal,
    kMethod,
    kLoop,
    kJoiner,
    kCycler,
    kModule,
  };
  Kind kind;
  std::string_view name;             // Macro/global/method name.
  const Stmt* stmt = nullptr;        // kMacro, kCaller
  const Program* program = nullptr;  // Where stmt lives (error positions).
  Scope* scope = nullptr;            // kMacro: defining scope; kCaller: call site's.
  Value receiver;                    // kMethod
  LoopState loop;                    // kLoop
  std::vector<Value> items;          // kCycler
  size_t position = 0;               // kCycler
  bool used = false;                 // kJoiner
};

// Printing, comparing and serializing values stop at this depth with an error (Python raises
// RecursionError near it; cyclic values end here too).
inline constexpr int kMaxValueDepth = 1000;

class Renderer {
 public:
  using Bindings = std::vector<std::pair<std::string_view, const Json*>>;
  // `first` names shadow the context; `last` names are seen only where the context has none.
  // `call` (may be null) must outlive the render; its deadline and cancellation are honoured.
  // `values` (a TemplateValues' top-level object) is read after `first` and before `context`.
  Renderer(const Program& program, const Json& context, const Bindings* first = nullptr,
           const Bindings* last = nullptr, const CallContext* call = nullptr,
           const Dict* values = nullptr);
  // Puts back the items of every caller's list and dict the render changed.
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  absl::Status Run(std::string* out);
  // `hook` (must outlive the render) runs once, at the first time check (CheckTimeNow): only a
  // render that has done about a thousand steps reaches it.
  void set_long_render_hook(const std::function<void()>* hook) { long_render_hook_ = hook; }

  // --- Used by builtins.cc ---------------------------------------------------------------
  absl::Status Error(uint32_t pos, std::string_view message) const;
  absl::Status Error(const Expr& at, std::string_view message) const {
    return Error(at.pos, message);
  }
  absl::Status Exhausted(uint32_t pos, std::string_view message) const;
  absl::Status UndefinedError(const Expr& at, const Value& v) const;

  // A child of the caller's context as a value (a changed copy when the template changed it).
  Value Wrap(const Json& j);
  // The template's own copy of a context array/object when it has changed it; `v` otherwise.
  Value Resolve(const Value& v) const;
  // The list/dict behind `v`, copying a context array/object first (for changing methods; a
  // caller's TemplateValues list or dict is changed in place, its items saved first).
  List* MutableList(const Value& v);
  Dict* MutableDict(const Value& v);

  Value NewString(std::string_view text);
  // markupsafe.escape(): a safe string as it is; anything else as str(), HTML-escaped (& < > " '
  // as &amp; &lt; &gt; &#34; &#39;), marked safe.
  absl::StatusOr<Value> Escape(const Expr& at, const Value& v);
  List* NewList(size_t reserve = 0);
  Dict* NewDict();
  absl::Status CheckMemory(const Expr& at) const;
  // kResourceExhausted when `bytes` more would pass limits.max_memory_bytes (before allocating).
  absl::Status CheckFits(const Expr& at, uint64_t bytes) const;
  // kResourceExhausted naming limits.max_output_bytes when a string of `bytes` would exceed it;
  // checked before building one (a limit refuses, never truncates).
  absl::Status CheckStringSize(const Expr& at, uint64_t bytes) const;
  void Charge(size_t bytes) { arena_.Charge(bytes); }

  // Python's bool(), str(), repr(), ==, <, len() and iteration; strict mode makes undefined fail.
  absl::StatusOr<bool> Truthy(const Expr& at, const Value& v) const;
  absl::Status AppendStr(const Expr& at, const Value& v, std::string* out);
  absl::Status AppendRepr(const Expr& at, const Value& v, std::string* out, int depth = 0);
  absl::StatusOr<std::string_view> Str(const Expr& at, const Value& v);
  // Python's ==. Values nested deeper than kMaxValueDepth (or cyclic ones that are not the same
  // object) make the render fail: the error is kept and Run returns it (Python would raise).
  bool Equal(const Value& a, const Value& b, int depth = 0);
  absl::StatusOr<int> Compare(const Expr& at, const Value& a, const Value& b,
                              int depth = 0);  // <0, 0, >0
  // An error found where no status can be returned (Equal): the first one is kept, checked with
  // the render deadline, and returned by Run.
  void Defer(absl::Status status) {
    if (deferred_.ok()) deferred_ = std::move(status);
  }
  absl::StatusOr<int64_t> Length(const Expr& at, const Value& v);
  // The items iteration yields: list items, object keys, string characters.
  absl::Status Iterate(const Expr& at, const Value& v, std::vector<Value>* items);
  absl::StatusOr<bool> Contains(const Expr& at, const Value& container, const Value& item);

  absl::StatusOr<Value> GetAttr(const Expr& at, const Value& obj, std::string_view name);
  absl::StatusOr<Value> GetItem(const Expr& at, const Value& obj, const Value& key);
  absl::StatusOr<Value> CallValue(const Expr& at, const Value& callee, Args& args, Kwargs& kwargs);
  absl::StatusOr<Value> ApplyFilter(const Expr& at, std::string_view name, Args& args,
                                    Kwargs& kwargs);
  absl::StatusOr<bool> ApplyTest(const Expr& at, std::string_view name, Args& args, Kwargs& kwargs);
  absl::Status AppendJson(const Expr& at, const Value& v, int indent, std::string_view indent_str,
                          std::string_view item_sep, std::string_view key_sep, bool sort_keys,
                          bool ensure_ascii, int depth, std::string* out);

  const Program& program() const { return *program_; }
  UndefinedMode undefined_mode() const { return root_program_.options.undefined; }
  absl::Status CountIterations(const Expr& at, uint64_t n);
  // kDeadlineExceeded past limits.max_render_time or the call's deadline, kCancelled once the
  // call is cancelled. Cheap: reads the clock once every 1024 calls (or every call when
  // `units` of work were done since the last one, for filters over many items).
  absl::Status CheckTime(const Expr& at, uint64_t units = 1) {
    ticks_ += units;
    if (ticks_ < 1024) return absl::OkStatus();
    return CheckTimeNow(at);
  }
  absl::Status CheckTimeNow(const Expr& at);
  // kResourceExhausted once a render has used more than 1 MiB of stack (deep recursion of
  // macros and expressions together), well before any thread's stack runs out.
  absl::Status CheckStack(uint32_t pos) const {
    char here;
    if (stack_base_ - &here <= kMaxStackBytes) return absl::OkStatus();
    return StackExhausted(pos);
  }
  absl::Status StackExhausted(uint32_t pos) const;
  static constexpr ptrdiff_t kMaxStackBytes = ptrdiff_t{1} << 20;

 private:
  friend struct Flow;
  enum class Flow : uint8_t { kNormal, kBreak, kContinue };

  absl::Status Exec(const Body& body, Scope* scope) {
    if (body.empty()) return absl::OkStatus();
    LLMKIT_RETURN_IF_ERROR(CheckStack(body.front().pos));
    for (const Stmt& s : body) {
      // A printed `a + b` (a chat template's loop body) without the statement dispatch.
      if (s.kind == Stmt::Kind::kPrint && !s.expr->chain.empty()) {
        stmt_pos_ = s.pos;
        LLMKIT_RETURN_IF_ERROR(PrintChain(*s.expr, scope));
        continue;
      }
      LLMKIT_RETURN_IF_ERROR(ExecStmt(s, scope));
      if (flow_ != Flow::kNormal) return absl::OkStatus();
    }
    return absl::OkStatus();
  }
  absl::Status ExecStmt(const Stmt& s, Scope* scope);
  absl::Status ExecFor(const Stmt& s, Scope* scope, const Value& iterable, int depth0);
  absl::Status ExecInclude(const Stmt& s, Scope* scope);
  absl::Status ExecImport(const Stmt& s, Scope* scope);
  absl::StatusOr<std::shared_ptr<Program>> Load(const Stmt& s, Scope* scope);
  // A set/filter block's body rendered, then passed through its filters.
  absl::StatusOr<Value> RenderFiltered(const Stmt& s, Scope* scope);
  absl::Status Assign(const Stmt& s, const Target& target, const Value& value, Scope* scope);
  absl::Status RenderToString(const Body& body, Scope* scope, std::string* text);
  absl::Status Append(std::string_view text, uint32_t pos) {
    out_->append(text);
    if (out_->size() <= max_output_bytes_) return absl::OkStatus();
    return OutputExhausted(pos);
  }
  absl::Status OutputExhausted(uint32_t pos) const;

  absl::StatusOr<Value> Eval(const Expr& e, Scope* scope);
  // A name's value: the innermost scope (a loop's variable) checked here, the rest out of line.
  absl::StatusOr<Value> Lookup(const Expr& e, Scope* scope) {
    if (scope == nullptr) return LookupOuter(e, nullptr);
    for (auto& [name, value] : scope->vars) {
      if (SameText(name, e.name)) return value;
    }
    return LookupOuter(e, scope->parent);
  }
  absl::StatusOr<Value> LookupOuter(const Expr& e, Scope* scope);
  // `message['role']` where `message` is a variable of the innermost scope (a loop's item)
  // holding a dict with that key: sets *out to the item, as Eval would, without Eval's dispatch.
  // False (and *out untouched) whenever any of that does not hold; Eval then does the work.
  // An operand of a `+`/`~` chain into *v: a literal as it is, `name['key']` by FastItem,
  // anything else by Eval.
  absl::Status EvalOperand(const Expr& operand, Scope* scope, Value* v) {
    if (operand.kind == Expr::Kind::kLiteral) {
      *v = operand.literal;
      return absl::OkStatus();
    }
    if (FastItem(operand, scope, v)) return absl::OkStatus();
    LLMKIT_ASSIGN_OR_RETURN(*v, Eval(operand, scope));
    return absl::OkStatus();
  }
  bool FastItem(const Expr& e, Scope* scope, Value* out) const {
    if (e.kind != Expr::Kind::kGetItem || scope == nullptr) return false;
    const Expr& object = *e.children[0];
    const Expr& key = *e.children[1];
    if (object.kind != Expr::Kind::kName || key.kind != Expr::Kind::kLiteral ||
        key.literal.kind != Value::Kind::kString) {
      return false;
    }
    for (const auto& [name, value] : scope->vars) {
      if (!SameText(name, object.name)) continue;
      if (value.kind != Value::Kind::kDict) return false;
      for (const auto& [k, item] : value.dict->items) {
        if (k.kind == Value::Kind::kString && SameText(k.str, key.literal.str)) {
          *out = item;
          return true;
        }
      }
      return false;
    }
    return false;
  }
  absl::StatusOr<Value> EvalCall(const Expr& e, Scope* scope, const Value* caller = nullptr);
  absl::Status EvalArgs(const Expr& e, size_t first, Scope* scope, Args* args, Kwargs* kwargs);
  absl::StatusOr<Value> EvalBinary(const Expr& e, Op op, const Value& a, const Value& b);
  absl::StatusOr<Value> EvalSlice(const Expr& e, Scope* scope);
  // The operands of a `+`/`~` chain, each with the expression it came from (error positions).
  using ChainParts = absl::InlinedVector<std::pair<const Expr*, Value>, 8>;
  absl::StatusOr<Value> EvalChain(const Expr& e, Scope* scope, bool print);
  absl::StatusOr<Value> JoinChain(const Expr& e, ChainParts& parts, bool print);
  absl::Status PrintChain(const Expr& e, Scope* scope);
  absl::Status PrintExpr(const Expr& e, Scope* scope) {
    if (!e.chain.empty()) return PrintChain(e, scope);
    return PrintValue(e, scope);
  }
  absl::Status PrintValue(const Expr& e, Scope* scope);
  absl::StatusOr<Value> CallMacro(const Expr& at, Callable* macro, Args& args, Kwargs& kwargs);
  absl::StatusOr<Value> CallGlobal(const Expr& at, Callable* fn, Args& args, Kwargs& kwargs);

  const Program& root_program_;
  const Program* program_;
  const Json& context_;
  const Bindings* first_;
  const Bindings* last_;
  const Dict* values_;
  const std::function<void()>* long_render_hook_ = nullptr;  // Run once, then cleared.
  // Items of the caller's lists and dicts as they were before this render changed them.
  std::vector<std::pair<List*, std::vector<Value>>> saved_lists_;
  std::vector<std::pair<Dict*, std::vector<std::pair<Value, Value>>>> saved_dicts_;
  std::string* out_ = nullptr;
  size_t max_output_bytes_;  // limits.max_output_bytes
  Arena arena_;
  absl::flat_hash_map<const Json*, Value> overlay_;
  std::vector<std::shared_ptr<Program>> loaded_;
  uint64_t iterations_ = 0;
  const CallContext* call_;
  CallContext::Clock::time_point deadline_;  // The earlier of max_render_time and the call's.
  uint64_t ticks_ = 0;
  absl::Status deferred_;  // See Defer.
  uint32_t stmt_pos_ = 0;  // Position of the statement being executed, for deferred errors.
  const char* stack_base_ = nullptr;  // Address of a local in Run(): stack use is measured from it.
  int depth_ = 0;
  Flow flow_ = Flow::kNormal;
};

// Python's name for the type of `v` ("int", "list", "NoneType", ...), for error messages.
const char* TypeName(const Value& v);

// Methods of str, list and dict values (`'a b'.split()`, `messages.append(m)`, `d.items()`).
// Sets *found = false when `obj` has no method `name`. Defined in methods.cc.
absl::StatusOr<Value> CallMethod(Renderer& r, const Expr& at, const Value& obj,
                                 std::string_view name, Args& args, Kwargs& kwargs, bool* found);
bool HasMethod(const Value& obj, std::string_view name);

}  // namespace llmkit::internal::tmpl

#endif  // LLMKIT_SRC_TEMPLATE_RENDER_H_
