// Fuzz target: JSON Schema compilation and validation. The input is a schema, a NUL byte and an
// instance (both JSON; without a NUL, the instance is the schema itself). A schema that compiles
// must validate any instance without crashing or hanging (the work budget stops schemas that
// branch exponentially), and IsValid must agree with Validate.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "llmkit/json.h"
#include "llmkit/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t nul = text.find('\0');
  std::string_view schema_text = text.substr(0, nul);
  std::string_view instance_text = nul == std::string_view::npos ? text : text.substr(nul + 1);
  absl::StatusOr<llmkit::Json> schema_json = llmkit::Json::Parse(schema_text);
  absl::StatusOr<llmkit::Json> instance = llmkit::Json::Parse(instance_text);
  if (!schema_json.ok() || !instance.ok()) return 0;
  for (bool formats : {false, true}) {
    llmkit::SchemaOptions options;
    options.assert_formats = formats;
    absl::StatusOr<llmkit::JsonSchema> schema = llmkit::JsonSchema::Compile(*schema_json, options);
    if (!schema.ok()) {
      if (schema.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
      return 0;
    }
    const bool valid = schema->IsValid(*instance);
    const std::vector<llmkit::SchemaError> errors = schema->Validate(*instance);
    // Validate enters every subschema IsValid does and more, so it alone may run out of the
    // work budget (a schema that branches exponentially): then it says so and nothing else.
    const bool stopped = errors.size() == 1 && errors[0].message.starts_with("validation stopped");
    if (valid != errors.empty() && !stopped) __builtin_trap();
    options.all_errors = false;
    absl::StatusOr<llmkit::JsonSchema> first = llmkit::JsonSchema::Compile(*schema_json, options);
    if (!first.ok() || first->IsValid(*instance) != valid) __builtin_trap();
  }
  return 0;
}
