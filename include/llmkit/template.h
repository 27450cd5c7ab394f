// Prompt templates: a Jinja2-compatible engine (compile once, render many), model chat templates
// rendered as transformers' `apply_chat_template` renders them, and LangChain-style `{variable}`
// f-string prompts.
//
//   absl::StatusOr<llmkit::Template> t = llmkit::Template::Compile("Hello {{ name }}!");
//   if (!t.ok()) return t.status();
//   llmkit::Json context = llmkit::Json::MakeObject();
//   context.Set("name", "Ada");
//   absl::StatusOr<std::string> text = t->Render(context);   // "Hello Ada!"
//
// The language is Jinja2's (docs/templates.md lists the subset and every difference): output and
// expressions, if/elif/else, for (loop.*, else, filters, break/continue), set (and block set),
// namespace(), macro/call, filter blocks, raw, include/import through a caller-given loader, the
// everyday filters and tests, Python's str/list/dict methods, slicing, whitespace control. Values
// print as Python prints them; `tojson` is Python's `json.dumps` (ensure_ascii=False), as in
// transformers' chat-template environment.
//
// Safety: a template reads only the variables it is given (a `Json` context or TemplateValues: no
// host objects, no attributes beyond data and the listed methods), reads files only through
// `TemplateOptions::loader`, and runs under limits (output size, loop iterations, recursion depth,
// memory) that end a runaway render with kResourceExhausted. Methods that change a list or dict
// (append, pop, update) change the render's own copy: the caller's context is never modified.
//
// Errors: compile errors and render errors are kInvalidArgument with "line L, column C" of the
// template in the message (byte offset in the kPayloadByteOffset payload). In strict mode a use
// of an undefined variable names it ("'foo' is undefined"). `raise_exception(msg)` gives
// kInvalidArgument with `msg`. Limits give kResourceExhausted; limits.max_render_time gives
// kDeadlineExceeded, as does the call context's deadline (its cancellation kCancelled).
//
// Threads: a compiled Template (and ChatTemplate, FStringTemplate) is immutable; any number of
// threads can render it at once.

#ifndef LLMKIT_TEMPLATE_H_
#define LLMKIT_TEMPLATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "llmkit/call.h"
#include "llmkit/json.h"

namespace llmkit {

class Tracer;  // observe.h

// How a template treats a name that is not defined.
enum class UndefinedMode {
  kLenient,  // Jinja2's default: prints as "", iterates as empty, is false; `x.y` of it fails.
  kStrict,   // StrictUndefined: any use other than `is defined` / `default` is an error.
};

struct TemplateLimits {
  size_t max_output_bytes = size_t{64} << 20;   // Rendered text.
  uint64_t max_loop_iterations = 10'000'000;    // Summed over every loop of one render.
  int max_recursion_depth = 200;                // Macro calls, includes, recursive loops.
  size_t max_memory_bytes = size_t{512} << 20;  // Strings, lists and dicts one render builds.
  int max_nesting_depth = 200;                  // Parser: nested expressions and blocks.
  // Wall time of one render (checked in loops, calls and long filters); a call context's
  // earlier deadline or cancellation ends it sooner.
  absl::Duration max_render_time = absl::Seconds(10);
};

struct TemplateOptions {
  bool trim_blocks = false;            // Drop the first newline after a block or comment tag.
  bool lstrip_blocks = false;          // Strip spaces/tabs before a block tag at a line's start.
  bool keep_trailing_newline = false;  // Keep the source's final newline (Jinja2 drops one).
  UndefinedMode undefined = UndefinedMode::kLenient;
  TemplateLimits limits;
  // Source of templates named by {% include %}, {% import %} and {% from ... import %}. Without
  // a loader those tags fail with kInvalidArgument: a template cannot read files on its own.
  // Called during Render, possibly from many threads at once.
  std::function<absl::StatusOr<std::string>(std::string_view name)> loader;
  // The time `strftime_now(format)` formats (in the local time zone); default: absl::Now().
  std::function<absl::Time()> now;
  // Name used in error messages (e.g. the file the source came from).
  std::string name = "<template>";
  // When set, every render is a span "template render <name>" (observe.h; a child of the call
  // context's trace) with llmkit.template.name, llmkit.template.output_bytes and, on failure,
  // error.type. Null (the default) costs one pointer test per render.
  std::shared_ptr<Tracer> tracer;
};

// A render's variables built from the host's own data without copying its strings: for hosts
// whose data is not a `Json` (the Python binding renders from a dict this way). Build it depth
// first: the top level is an object (BeginObject ... End), each member a Key then one value, each
// array value after value; containers close with End.
//
//   llmkit::TemplateValues values;
//   values.BeginObject();
//   values.Key("messages");
//   values.BeginArray();
//   for (const Message& m : history) {
//     values.BeginObject();
//     values.Key("role");
//     values.String(m.role);        // A view: m.role must outlive the renders.
//     values.Key("content");
//     values.String(m.content);
//     values.End();
//   }
//   values.End();
//   values.End();
//   absl::StatusOr<std::string> text = chatml.Render(values);
//
// The template reads them as it reads a `Json` context. Strings and keys are views, not copies:
// what they point to must stay valid and unchanged until the last render with these values.
// Misuse (a value in an object without a Key, a duplicate key, an End without an open container,
// a top level that is not an object, a container left open) is not checked per call: the first
// one is kept and Render returns it as kInvalidArgument.
//
// Threads: one render at a time. Methods that change a list or dict (append, pop, update) change
// it for the rest of that render, and the render undoes them before it returns: the values are
// as built when Render returns. Clear() starts a new build and keeps the storage, so a thread can
// reuse one TemplateValues for every render without allocating. A moved-from TemplateValues
// renders as no variables; call Clear() before building into it again.
class TemplateValues {
 public:
  TemplateValues();
  ~TemplateValues();
  TemplateValues(TemplateValues&&) noexcept;
  TemplateValues& operator=(TemplateValues&&) noexcept;

  void Clear();
  // `size_hint`: how many members/items are coming, when known (storage reserved once).
  // `keys_unique`: the caller vouches that no key repeats (the keys of a hash map or a Python
  // dict), and End() skips the duplicate check; a repeated key is then read as its first member.
  void BeginObject(size_t size_hint = 0, bool keys_unique = false);
  void BeginArray(size_t size_hint = 0);
  void End();  // Closes the innermost open object or array.
  void Key(std::string_view key);
  void Null();
  void Bool(bool value);
  void Int(int64_t value);
  void Double(double value);
  void String(std::string_view value);
  // Key(key) then String(value), in one call.
  void Member(std::string_view key, std::string_view value);

  // Runs `hook` once, on the rendering thread, when a render of these values has done about a
  // thousand steps (and not at all in a shorter render): a host that holds a lock while it
  // renders (Python's GIL) can let it go there, so that short renders never pay for releasing
  // it. Kept across Clear(); an empty function removes it. `hook` must not throw.
  void SetLongRenderHook(std::function<void()> hook);

  struct Impl;  // Internal.

 private:
  std::unique_ptr<Impl> impl_;
  friend class Template;
};

class Template {
 public:
  // Parses `source` (UTF-8). Errors: kInvalidArgument with line and column (syntax errors,
  // unknown tags, unbalanced blocks, invalid UTF-8); kResourceExhausted past
  // limits.max_nesting_depth.
  static absl::StatusOr<Template> Compile(std::string_view source,
                                          const TemplateOptions& options = {});

  // Renders with `context` (an object, or null for none) as the variables. The context is read
  // in place and never modified. Errors: see the top of this file.
  // `call`: its deadline (if earlier than limits.max_render_time) and cancellation end the render
  // with kDeadlineExceeded / kCancelled.
  absl::StatusOr<std::string> Render(const Json& context, const CallContext& call = {}) const;
  // As Render, appending to `*out` (left as it was on error).
  absl::Status RenderTo(const Json& context, std::string* out, const CallContext& call = {}) const;
  // Renders with `values` as the variables (see TemplateValues; an empty build is no variables).
  // Errors: as Render, and kInvalidArgument for a misbuilt TemplateValues.
  absl::StatusOr<std::string> Render(TemplateValues& values, const CallContext& call = {}) const;
  // As Render(values), appending to `*out` (left as it was on error): a caller rendering often
  // can reuse one string.
  absl::Status RenderTo(TemplateValues& values, std::string* out,
                        const CallContext& call = {}) const;

  // Top-level names the template reads but never sets (its input variables), in first-use order.
  const std::vector<std::string>& variables() const;
  const TemplateOptions& options() const;

  struct Impl;  // Internal.

 private:
  friend class ChatTemplate;
  friend class FStringTemplate;
  using Bindings = std::vector<std::pair<std::string_view, const Json*>>;
  explicit Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  // Renders with `first` names, then `context`, then `last` names as the variables.
  absl::Status RenderLayered(const Bindings& first, const Json& context, const Bindings& last,
                             std::string* out, const CallContext& call,
                             TemplateValues::Impl* values = nullptr) const;
  std::shared_ptr<const Impl> impl_;
};

// A model's chat template (the `chat_template` of its tokenizer_config.json), rendered exactly
// as transformers' `apply_chat_template` renders it: trim_blocks and lstrip_blocks on,
// `bos_token`/`eos_token` and any extra variables in the context, `raise_exception` and
// `strftime_now` available, `{% generation %}` blocks rendered as their body.
struct ChatTemplateOptions {
  std::string bos_token;
  std::string eos_token;
  UndefinedMode undefined = UndefinedMode::kLenient;
  TemplateLimits limits;
  std::function<absl::Time()> now;  // For strftime_now; default absl::Now().
  std::shared_ptr<Tracer> tracer;   // As TemplateOptions::tracer.
};

class ChatTemplate {
 public:
  static absl::StatusOr<ChatTemplate> Compile(std::string_view source,
                                              const ChatTemplateOptions& options = {});

  // `messages`: an array of message objects ({"role", "content", "tool_calls", ...}) as the
  // OpenAI wire format and transformers use them. `tools`: null or an array of tool specs.
  // `extra`: null or an object of further variables (e.g. enable_thinking, documents); its
  // members override bos_token/eos_token but not messages/tools/add_generation_prompt.
  absl::StatusOr<std::string> Apply(const Json& messages, const Json& tools = nullptr,
                                    bool add_generation_prompt = false, const Json& extra = nullptr,
                                    const CallContext& call = {}) const;

  const Template& compiled() const { return template_; }

 private:
  ChatTemplate(Template t, ChatTemplateOptions options)
      : template_(std::move(t)), bos_token_(options.bos_token), eos_token_(options.eos_token) {}
  Template template_;
  Json bos_token_, eos_token_;  // As the template reads them.
};

// A LangChain PromptTemplate in its default "f-string" format: `{name}` is replaced by the
// variable (strings as they are, other values as Python's str() prints them), `{{` and `}}` are
// literal braces. Attribute and index fields (`{a.b}`, `{a[0]}`) follow Python's str.format;
// format specs and conversions (`{x:>8}`, `{x!r}`) are rejected at compile time.
class FStringTemplate {
 public:
  // Errors: kInvalidArgument naming the offset of a lone `{` or `}`, an empty or unsupported
  // field.
  static absl::StatusOr<FStringTemplate> Compile(std::string_view source);

  // Errors: kInvalidArgument naming a missing variable (as LangChain's KeyError).
  absl::StatusOr<std::string> Render(const Json& variables) const;

  // The variable names in first-use order (LangChain's input_variables, sorted there).
  const std::vector<std::string>& variables() const { return variables_; }

 private:
  struct Piece {
    std::string literal;            // Text before the field.
    std::string field;              // Variable name; empty for the final literal.
    std::vector<std::string> path;  // Attribute/index steps after the name.
  };
  FStringTemplate() = default;
  std::vector<Piece> pieces_;
  std::vector<std::string> variables_;
};

}  // namespace llmkit

#endif  // LLMKIT_TEMPLATE_H_
