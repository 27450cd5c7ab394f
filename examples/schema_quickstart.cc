// Compile a JSON Schema once, validate many instances, read the errors.
#include <cstdio>

#include "llmkit/json.h"
#include "llmkit/schema.h"

int main() {
  absl::StatusOr<llmkit::JsonSchema> schema = llmkit::JsonSchema::Compile(R"({
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1},
                   "days": {"type": "integer", "minimum": 1, "maximum": 14}},
    "required": ["city"],
    "additionalProperties": false})");
  if (!schema.ok()) return 1;  // kInvalidArgument naming the schema location.

  absl::StatusOr<llmkit::Json> good = llmkit::Json::Parse(R"({"city": "Oslo", "days": 3})");
  absl::StatusOr<llmkit::Json> bad = llmkit::Json::Parse(R"({"days": 30, "unit": "C"})");
  if (!good.ok() || !bad.ok() || !schema->IsValid(*good)) return 1;
  for (const llmkit::SchemaError& e : schema->Validate(*bad)) {
    // " /required: must have required property 'city'"
    // "/days /properties/days/maximum: must be <= 14"
    // "/unit /additionalProperties: must NOT have additional properties"
    std::printf("%s %s: %s\n", e.instance_path.c_str(), e.keyword_location.c_str(),
                e.message.c_str());
  }
  return schema->Validate(*bad).size() == 3 ? 0 : 1;
}
