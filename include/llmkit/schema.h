// JSON Schema validation: drafts 2020-12 and draft-07.
//
//   absl::StatusOr<llmkit::JsonSchema> schema = llmkit::JsonSchema::Compile(R"({
//       "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})");
//   std::vector<llmkit::SchemaError> errors = schema->Validate(*llmkit::Json::Parse("{}"));
//   // errors[0]: instance_path "", keyword_location "/required",
//   //            message "must have required property 'city'"
//
// Compile a schema once and validate many instances. `$schema` selects the draft of each schema
// resource (2020-12 when absent, unless SchemaOptions::draft says otherwise). Every keyword of
// both drafts is implemented: `$ref` (to JSON Pointers, `$anchor`s and `$id`s, embedded or
// remote), `$defs`/`definitions`, `$dynamicRef`/`$dynamicAnchor`, `unevaluatedProperties`/
// `unevaluatedItems`, `if`/`then`/`else`, `dependentSchemas`/`dependencies`, boolean schemas.
// `format` is an annotation unless SchemaOptions::assert_formats; `content*` keywords are
// annotations. Unknown keywords are ignored, as the specification asks.
//
// Remote references are never fetched: a `$ref` outside the schema is resolved only through
// SchemaOptions::resolver. The official meta-schemas are not bundled, so a `$ref` to one of
// them needs the resolver too.
//
// `pattern` and `patternProperties` run with RE2 (linear time). ECMA-262 features RE2 lacks —
// lookahead and lookbehind, backreferences — fail Compile with kInvalidArgument naming the
// schema location; `\d`, `\w`, `\s` and `\b` keep their ECMA-262 (ASCII) meaning.
//
// Errors: Compile returns kInvalidArgument with the schema location for a schema that is not
// one (a keyword of the wrong type, a bad regex, an unresolvable `$ref`).
// Limits: subschemas nested deeper than 512 on one path fail ("schema references nest too
// deep"); one validation enters at most 2^20 subschemas, or 1,024 per value of the instance when
// that is more, and fails past it ("validation stopped after N subschema evaluations ...: the
// schema branches exponentially"), so a hostile schema cannot hang the caller.
// Threads: a compiled JsonSchema is immutable; any number of threads may validate with it at
// once. Copies share the compiled form.

#ifndef LLMKIT_SCHEMA_H_
#define LLMKIT_SCHEMA_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/json.h"

namespace llmkit {

namespace internal::schema {
struct Program;
}  // namespace internal::schema

enum class SchemaDraft {
  kDraft2020_12,
  kDraft7,
};

struct SchemaOptions {
  // The draft of a schema resource without `$schema`.
  SchemaDraft default_draft = SchemaDraft::kDraft2020_12;
  // Check `format` (date-time, date, time, duration, email, hostname, ipv4, ipv6, uri,
  // uri-reference, uuid, regex, json-pointer) instead of only reporting it.
  bool assert_formats = false;
  // Validate reports every error (true) or stops at the first (false).
  bool all_errors = true;
  // Returns the schema document at an absolute URI (without its fragment) that the schema
  // references but does not contain, or an error. Called during Compile only.
  std::function<absl::StatusOr<Json>(std::string_view uri)> resolver;
};

// One failed assertion, as the JSON Schema output format ("basic") and ajv report it.
struct SchemaError {
  std::string instance_path;     // JSON Pointer into the instance ("" is the whole instance).
  std::string keyword_location;  // JSON Pointer through the schema ("/properties/a/type").
  std::string message;
};

class JsonSchema {
 public:
  static absl::StatusOr<JsonSchema> Compile(const Json& schema, const SchemaOptions& options = {});
  // The schema as JSON text (kInvalidArgument with the byte offset for bad JSON).
  static absl::StatusOr<JsonSchema> Compile(std::string_view schema_text,
                                            const SchemaOptions& options = {});
  static absl::StatusOr<JsonSchema> Compile(const char* schema_text,
                                            const SchemaOptions& options = {}) {
    return Compile(std::string_view(schema_text), options);
  }

  // True when `instance` is valid. Stops at the first failure and builds no error (all_errors
  // applies to Validate only), so it is the faster of the two.
  bool IsValid(const Json& instance) const;
  // The errors (empty when valid): all of them, or the first with all_errors false.
  std::vector<SchemaError> Validate(const Json& instance) const;

 private:
  explicit JsonSchema(std::shared_ptr<const internal::schema::Program> program)
      : program_(std::move(program)) {}
  std::shared_ptr<const internal::schema::Program> program_;
};

}  // namespace llmkit

#endif  // LLMKIT_SCHEMA_H_
