// Fuzz target: the template engine on arbitrary bytes. The input is a template source (split at
// the first NUL: before it the source, after it a JSON context). Compile must return a status,
// never crash; a compiled template renders under tight limits in strict and lenient mode, and
// any failure is a status (kResourceExhausted for limits), never a crash or a hang.

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
