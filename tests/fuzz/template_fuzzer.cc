// Fuzz target: the template engine on arbitrary bytes. The input is a template source (split at
// the first NUL: before it the source, after it a JSON context). Compile must return a status,
// never crash; a compiled template renders under tight limits in strict and lenient mode, and
// any failure is a status (kResourceExhausted for limits), never a crash or a hang.
// Beside the parsed context the template always sees values built in code: `deep` (a list or
// dict nested up to 20,000 levels, deeper than Parse allows), `wide` (thousands of items) and
// `mixed`; the input's length picks their shapes. Self-referencing values come from the
// template itself (`x.append(x)`, in the replay dictionary), as the C++ Json has none.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llmkit/json.h"
#include "llmkit/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view source = input.substr(0, nul);
  llmkit::Json context = llmkit::Json::MakeObject();
  if (nul != std::string_view::npos) {
    absl::StatusOr<llmkit::Json> parsed = llmkit::Json::Parse(input.substr(nul + 1));
    if (parsed.ok() && parsed->is_object()) context = *std::move(parsed);
  }
  // Values built in code, shaped by the input (so the fuzzer can steer them).
  const size_t depth = (size * 131) % (size % 8 == 0 ? 20000 : 1500);  // Deeper ones are slower.
  llmkit::Json deep = "leaf";
  for (size_t i = 0; i < depth; ++i) {
    llmkit::Json outer = i % 3 == 0 ? llmkit::Json::MakeObject() : llmkit::Json::MakeArray();
    if (outer.is_object()) {
      outer.Set("k", std::move(deep));
    } else {
      outer.push_back(std::move(deep));
    }
    deep = std::move(outer);
  }
  context.Set("deep", std::move(deep));
  llmkit::Json wide = llmkit::Json::MakeArray();
  for (size_t i = 0; i < 100 + size % 3000; ++i) {
    wide.push_back(i % 2 ? llmkit::Json(static_cast<int64_t>(i))
                         : llmkit::Json(llmkit::Json::Object{{"a", static_cast<int64_t>(i)}}));
  }
  context.Set("wide", std::move(wide));
  context.Set("mixed", *llmkit::Json::Parse(
                           R"({"s": "<b>&", "n": -9223372036854775808, "f": 1e308, "e": [],
                               "u": "\u00e9\ud83d\ude00", "z": 0, "t": true})"));
  context.Set("messages", *llmkit::Json::Parse(
                              R"([{"role": "user", "content": "hi"}, {"role": "assistant",
                                  "content": "yo", "tool_calls": [{"function": {"name": "f"}}]}])"));
  for (int mode = 0; mode < 4; ++mode) {
    llmkit::TemplateOptions options;
    options.trim_blocks = mode & 1;
    options.lstrip_blocks = mode & 2;
    options.undefined =
        mode == 3 ? llmkit::UndefinedMode::kStrict : llmkit::UndefinedMode::kLenient;
    options.limits.max_output_bytes = 1 << 16;
    options.limits.max_loop_iterations = 10000;
    options.limits.max_recursion_depth = 32;
    options.limits.max_memory_bytes = 8 << 20;
    options.loader = [](std::string_view name) -> absl::StatusOr<std::string> {
      if (name == "inc")
        return std::string("{{ messages | length }}{% macro m(x) %}{{ x }}{% endmacro %}");
      return absl::NotFoundError("no template");
    };
    absl::StatusOr<llmkit::Template> t = llmkit::Template::Compile(source, options);
    if (!t.ok()) continue;
    absl::StatusOr<std::string> out = t->Render(context);
    if (out.ok() && out->size() > options.limits.max_output_bytes) __builtin_trap();
  }
  return 0;
}
