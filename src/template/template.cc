// The public face of the engine: Template, ChatTemplate and FStringTemplate.

#include "llmkit/template.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/observe.h"
#include "llmkit/status.h"
#include "template/ast.h"
#include "template/render.h"
#include "template/template_values.h"

namespace llmkit {

struct Template::Impl {
  std::shared_ptr<internal::tmpl::Program> program;
  // The last output's size: the next render reserves that much at once.
  mutable std::atomic<size_t> size_hint{0};
};

absl::StatusOr<Template> Template::Compile(std::string_view source,
                                           const TemplateOptions& options) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<internal::tmpl::Program> program,
                          internal::tmpl::Parse(source, options));
  auto impl = std::make_shared<Impl>();
  impl->program = std::move(program);
  return Template(std::move(impl));
}

absl::Status Template::RenderLayered(const Bindings& first, const Json& context,
                                     const Bindings& last, std::string* out,
                                     const CallContext& call, TemplateValues::Impl* values) const {
  if (!context.is_object() && !context.is_null()) {
    return absl::InvalidArgumentError("template context must be a JSON object (or null)");
  }
  size_t size = out->size();
  const TemplateOptions& options = impl_->program->options;
  Span span;
  if (options.tracer != nullptr) {
    span = options.tracer->StartSpan(absl::StrCat("template render ", options.name), call.trace,
                                     SpanKind::kInternal);
    span.SetAttribute("llmkit.template.name", options.name);
  }
  const internal::tmpl::Dict* top =
      values != nullptr && values->root.kind == internal::tmpl::Value::Kind::kDict
          ? values->root.dict
          : nullptr;
  absl::Status status;
  {
    internal::tmpl::Renderer renderer(*impl_->program, context, &first, &last, &call, top);
    if (values != nullptr && values->long_render_hook) {
      renderer.set_long_render_hook(&values->long_render_hook);
    }
    status = renderer.Run(out);
  }  // The renderer puts back what it changed in `values` as it ends.
  if (!status.ok()) out->resize(size);
  if (span.active()) {
    if (status.ok()) {
      span.SetAttribute("llmkit.template.output_bytes", static_cast<int64_t>(out->size() - size));
    } else {
      span.SetError(ErrorType(status), std::string(status.message()));
    }
  }
  return status;
}

absl::Status Template::RenderTo(const Json& context, std::string* out,
                                const CallContext& call) const {
  static const Bindings kNone;
  return RenderLayered(kNone, context, kNone, out, call);
}

absl::StatusOr<std::string> Template::Render(const Json& context, const CallContext& call) const {
  std::string out;
  out.reserve(
      std::max(impl_->size_hint.load(std::memory_order_relaxed), impl_->program->source.size()) +
      64);
  LLMKIT_RETURN_IF_ERROR(RenderTo(context, &out, call));
  impl_->size_hint.store(out.size(), std::memory_order_relaxed);
  return out;
}

absl::Status Template::RenderTo(TemplateValues& values, std::string* out,
                                const CallContext& call) const {
  if (values.impl_ == nullptr) values.Clear();  // Moved from: no variables.
  std::string problem = values.impl_->Problem();
  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("TemplateValues: ", problem));
  }
  static const Bindings kNone;
  static const Json kNull;
  return RenderLayered(kNone, kNull, kNone, out, call, values.impl_.get());
}

absl::StatusOr<std::string> Template::Render(TemplateValues& values,
                                             const CallContext& call) const {
  std::string out;
  out.reserve(
      std::max(impl_->size_hint.load(std::memory_order_relaxed), impl_->program->source.size()) +
      64);
  LLMKIT_RETURN_IF_ERROR(RenderTo(values, &out, call));
  impl_->size_hint.store(out.size(), std::memory_order_relaxed);
  return out;
}

const std::vector<std::string>& Template::variables() const { return impl_->program->variables; }

const TemplateOptions& Template::options() const { return impl_->program->options; }

// --- ChatTemplate --------------------------------------------------------------------------

absl::StatusOr<ChatTemplate> ChatTemplate::Compile(std::string_view source,
                                                   const ChatTemplateOptions& options) {
  TemplateOptions t;
  t.trim_blocks = true;
  t.lstrip_blocks = true;
  t.undefined = options.undefined;
  t.limits = options.limits;
  t.now = options.now;
  t.name = "<chat_template>";
  t.tracer = options.tracer;
  LLMKIT_ASSIGN_OR_RETURN(Template compiled, Template::Compile(source, t));
  return ChatTemplate(std::move(compiled), options);
}

absl::StatusOr<std::string> ChatTemplate::Apply(const Json& messages, const Json& tools,
                                                bool add_generation_prompt, const Json& extra,
                                                const CallContext& call) const {
  if (!messages.is_array()) return absl::InvalidArgumentError("messages must be a JSON array");
  if (!tools.is_null() && !tools.is_array()) {
    return absl::InvalidArgumentError("tools must be null or a JSON array");
  }
  if (!extra.is_null() && !extra.is_object()) {
    return absl::InvalidArgumentError("extra must be null or a JSON object");
  }
  // transformers renders with messages, tools and add_generation_prompt, then the caller's
  // kwargs, then the special tokens. Everything is read in place: nothing is copied.
  static const Json kTrue(true), kFalse(false);
  Template::Bindings first = {{"messages", &messages},
                              {"tools", &tools},
                              {"add_generation_prompt", add_generation_prompt ? &kTrue : &kFalse}};
  Template::Bindings last = {{"bos_token", &bos_token_}, {"eos_token", &eos_token_}};
  std::string out;
  out.reserve(std::max(template_.impl_->size_hint.load(std::memory_order_relaxed), size_t{1024}) +
              64);
  LLMKIT_RETURN_IF_ERROR(template_.RenderLayered(first, extra, last, &out, call));
  template_.impl_->size_hint.store(out.size(), std::memory_order_relaxed);
  return out;
}

// --- FStringTemplate ------------------------------------------------------------------------

absl::StatusOr<FStringTemplate> FStringTemplate::Compile(std::string_view source) {
  FStringTemplate t;
  std::string literal;
  auto error = [&](size_t pos, std::string_view what) {
    return WithPayload(absl::InvalidArgumentError(absl::StrCat("f-string prompt at byte ", pos,
                                                               ": ", internal::ToAbsl(what))),
                       kPayloadByteOffset, std::to_string(pos));
  };
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '}') {
      if (i + 1 < source.size() && source[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      return error(i, "single '}' encountered (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < source.size() && source[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    size_t close = source.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || source[close] != '}') {
      return error(i, "single '{' encountered (write '{{' for a literal brace)");
    }
    std::string_view field = source.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string_view::npos) {
      return error(i, absl::StrCat("format specs and conversions are not supported: {",
                                   internal::ToAbsl(field), "}"));
    }
    size_t end = field.find_first_of(".[");
    std::string name(field.substr(0, end));
    if (name.empty()) return error(i, "empty field name (positional fields are not supported)");
    Piece piece;
    piece.literal = std::move(literal);
    literal.clear();
    piece.field = name;
    std::string_view rest = end == std::string_view::npos ? std::string_view() : field.substr(end);
    while (!rest.empty()) {
      if (rest[0] == '.') {
        size_t n = rest.find_first_of(".[", 1);
        std::string_view step = rest.substr(1, n == std::string_view::npos ? rest.npos : n - 1);
        if (step.empty()) return error(i, "empty attribute in field");
        piece.path.emplace_back(step);
        rest = n == std::string_view::npos ? std::string_view() : rest.substr(n);
      } else {
        size_t n = rest.find(']');
        if (n == std::string_view::npos) return error(i, "missing ']' in field");
        piece.path.emplace_back(rest.substr(1, n - 1));
        rest = rest.substr(n + 1);
        if (!rest.empty() && rest[0] != '.' && rest[0] != '[') {
          return error(i, "only '.' or '[' may follow ']' in a field");
        }
      }
    }
    bool seen = false;
    for (const std::string& v : t.variables_) seen = seen || v == name;
    if (!seen) t.variables_.push_back(name);
    t.pieces_.push_back(std::move(piece));
    i = close;
  }
  Piece last;
  last.literal = std::move(literal);
  t.pieces_.push_back(std::move(last));
  return t;
}

absl::StatusOr<std::string> FStringTemplate::Render(const Json& variables) const {
  if (!variables.is_object() && !variables.is_null()) {
    return absl::InvalidArgumentError("f-string variables must be a JSON object");
  }
  std::string out;
  for (const Piece& piece : pieces_) {
    out.append(piece.literal);
    if (piece.field.empty()) continue;
    const Json* value = variables.Find(piece.field);
    if (value == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing variable '", piece.field, "' for the f-string prompt"));
    }
    for (const std::string& step : piece.path) {
      const Json* next = nullptr;
      if (value->is_object()) {
        next = value->Find(step);
      } else if (value->is_array() && !step.empty() &&
                 step.find_first_not_of("0123456789") == std::string::npos && step.size() < 10) {
        size_t index = std::stoul(step);
        if (index < value->size()) next = &value->as_array()[index];
      }
      if (next == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("variable '", piece.field, "' has no '", step, "'"));
      }
      value = next;
    }
    if (value->is_string()) {
      out.append(value->as_string());
      continue;
    }
    // Python's str() of the value: the engine's printing rules, compiled once, the value read
    // in place.
    static const Template* const kPrinter = new Template(*Template::Compile("{{ v }}"));
    static const Json kNoContext;
    static const Template::Bindings kNone;
    static const CallContext kNoCall;
    LLMKIT_RETURN_IF_ERROR(
        kPrinter->RenderLayered({{"v", value}}, kNoContext, kNone, &out, kNoCall));
  }
  return out;
}

}  // namespace llmkit
