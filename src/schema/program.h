// A compiled JSON Schema: one Node per subschema with its keywords read out, the schema
// resources ($id scopes) with their anchors, and the documents they point into.

#ifndef LLMKIT_SRC_SCHEMA_PROGRAM_H_
#define LLMKIT_SRC_SCHEMA_PROGRAM_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "llmkit/json.h"
#include "llmkit/schema.h"
#include "re2/re2.h"
#include "schema/simple_pattern.h"

namespace llmkit::internal::schema {

struct Node;

// A schema resource: the root schema, a subschema with its own $id, or a remote document.
struct Resource {
  std::string uri;  // Absolute, without fragment.
  const Json* root = nullptr;
  SchemaDraft draft = SchemaDraft::kDraft2020_12;
  absl::flat_hash_map<std::string, Node*> anchors;          // $anchor, draft-07 "#name" $id.
  absl::flat_hash_map<std::string, Node*> dynamic_anchors;  // $dynamicAnchor.
};

// Bits of Node::types.
enum TypeBit : uint8_t {
  kNullType = 1,
  kBooleanType = 2,
  kIntegerType = 4,
  kNumberType = 8,
  kStringType = 16,
  kArrayType = 32,
  kObjectType = 64,
};

// A `pattern` or `patternProperties` regex: RE2 always (it checked the syntax), and the
// SimplePattern when the regex has that shape, which answers the same without RE2's per-call
// cost.
struct Pattern {
  std::string source;
  std::unique_ptr<RE2> re;
  std::optional<SimplePattern> simple;

  bool Search(std::string_view text) const {
    return simple.has_value() ? simple->Search(text) : RE2::PartialMatch(text, *re);
  }
};

struct Node {
  const Json* json = nullptr;
  Resource* resource = nullptr;
  SchemaDraft draft = SchemaDraft::kDraft2020_12;
  std::optional<bool> boolean;  // A boolean schema.

  uint8_t types = 0;  // 0: no "type".
  const Json* enum_values = nullptr;
  bool enum_only_strings = false;  // Every enum value is a string (compared as strings).
  const Json* const_value = nullptr;
  std::optional<double> multiple_of, maximum, exclusive_maximum, minimum, exclusive_minimum;
  std::optional<int64_t> max_length, min_length, max_items, min_items, max_contains, min_contains,
      max_properties, min_properties;
  std::unique_ptr<Pattern> pattern;
  bool unique_items = false;
  std::vector<std::string> required;
  // Every required name is one of `properties`: required_property[i] says whether properties[i]
  // is, and IsValid counts them while it walks the members instead of looking each one up.
  bool required_in_properties = false;
  std::vector<char> required_property;
  size_t required_properties = 0;  // Properties flagged (distinct required names).
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  std::vector<std::pair<std::string, Node*>> dependent_schemas;
  std::vector<Node*> all_of, any_of, one_of;
  Node* not_schema = nullptr;
  Node *if_schema = nullptr, *then_schema = nullptr, *else_schema = nullptr;
  std::vector<Node*> prefix_items;  // 2020-12 prefixItems; draft-07 items as an array.
  Node* items = nullptr;            // Items after prefix_items (draft-07: additionalItems).
  bool items_after_prefix = true;   // False for draft-07 "items" as a schema (every item).
  Node* contains = nullptr;
  std::vector<std::pair<std::string, Node*>> properties;
  absl::flat_hash_map<std::string, size_t> property_index;  // Name -> index in properties.
  std::vector<std::pair<Pattern, Node*>> pattern_properties;
  Node* additional_properties = nullptr;
  Node* property_names = nullptr;
  Node* unevaluated_items = nullptr;
  Node* unevaluated_properties = nullptr;
  Node* ref = nullptr;
  Node* dynamic_ref = nullptr;
  std::string ref_location;    // Where its $ref or $dynamicRef is (compile errors).
  std::string dynamic_anchor;  // $dynamicRef's anchor name when its target is a $dynamicAnchor.
  std::string format;

  // Which groups of keywords the node has (set once compiled), so validation skips the rest.
  bool has_assertions = false;   // type, enum, const, numeric, string keywords, format
  bool has_array = false;        // items, prefixItems, contains, min/maxItems, uniqueItems
  bool has_object = false;       // properties, required, dependencies, min/maxProperties, ...
  bool has_combinators = false;  // allOf, anyOf, oneOf, not, if
  bool has_numeric = false;      // multipleOf, maximum, minimum, exclusive*
  bool has_string = false;       // maxLength, minLength, pattern, format
  // How Validate takes the node: its own keywords only (no $ref, $dynamicRef, unevaluated*, not
  // boolean, no dynamic scope in the program), as its $ref's target (nothing but a $ref), or
  // through the frame that keeps scopes and annotations.
  enum class Path : uint8_t { kFramed, kLocal, kRefOnly };
  Path path = Path::kFramed;
  uint8_t type_only = 0;  // The node is nothing but a "type" (kLocal): its TypeBits.

  // The keyword names used in keyword locations ("items" or "additionalItems", ...).
  const char* items_keyword = "items";
  const char* prefix_keyword = "prefixItems";
  const char* dependent_schemas_keyword = "dependentSchemas";
  const char* dependent_required_keyword = "dependentRequired";
};

// The yes/no form of a Node, for IsValid (check.cc): the keywords most schemas use in one compact
// record with direct pointers to the children's Checks, so that a value whose node is only a
// type, bounds, an enum or a pattern is answered where its parent walks its members or items.
// A node with anything else (a boolean schema is kTrue/kFalse; references beside other keywords,
// the dynamic scope, unevaluated*, patternProperties, propertyNames, dependencies, contains,
// multipleOf, asserted formats) is kFull: the full validator (validate.cc) answers for it.
struct Check {
  enum class Kind : uint8_t { kPlain, kRef, kTrue, kFalse, kFull };
  // Bits of `tests`: what a kPlain check reads besides the type.
  enum : uint8_t {
    kEnum = 1,
    kConst = 2,
    kNumber = 4,  // lower / upper bounds
    kLength = 8,  // minLength / maxLength
    kPattern = 16,
    kObject = 32,       // properties, required, additionalProperties, min/maxProperties
    kArray = 64,        // items, prefixItems, min/maxItems, uniqueItems
    kCombinator = 128,  // allOf, anyOf, oneOf, not, if/then/else
  };
  struct Property {
    std::string_view name;
    const Check* check = nullptr;
    bool required = false;
    uint8_t leaf_types = 0;  // `check` is nothing but these types: answered in the member loop.
  };

  Kind kind = Kind::kFull;
  uint8_t types = 0;  // Accepted TypeBits; 0: every type.
  uint8_t tests = 0;
  bool lower_exclusive = false, upper_exclusive = false;
  bool has_lower = false, has_upper = false;
  bool enum_only_strings = false;
  bool closed = false;  // additionalProperties: false.
  bool unique_items = false;
  bool items_after_prefix = true;
  double lower = 0, upper = 0;  // minimum/exclusiveMinimum, maximum/exclusiveMaximum folded.
  int64_t min_length = 0, max_length = INT64_MAX;
  const Pattern* pattern = nullptr;
  const Json* enum_values = nullptr;
  const Json* const_value = nullptr;
  const Check* target = nullptr;  // kRef: the first Check down the $ref chain that is not kRef,
  int hops = 0;                   // the references followed to reach it.
  const Node* node = nullptr;     // kFull: what the full validator reads.

  // kObject.
  std::vector<Property> properties;
  const absl::flat_hash_map<std::string, size_t>* property_index = nullptr;
  size_t required_count = 0;  // Distinct required names when all are properties.
  const std::vector<std::string>* required_lookup = nullptr;  // Else: each looked up.
  const Check* additional = nullptr;
  int64_t min_properties = 0, max_properties = INT64_MAX;

  // kArray.
  std::vector<const Check*> prefix;
  const Check* items = nullptr;
  uint8_t items_leaf_types = 0;  // As Property::leaf_types.
  int64_t min_items = 0, max_items = INT64_MAX;

  // kCombinator.
  std::vector<const Check*> all_of, any_of, one_of;
  const Check *not_check = nullptr, *if_check = nullptr, *then_check = nullptr,
              *else_check = nullptr;
};

struct Program {
  SchemaOptions options;
  std::deque<Json> documents;  // The root schema and the remote ones (stable addresses).
  std::deque<Resource> resources;
  std::deque<Node> nodes;
  Node* root = nullptr;
  bool dynamic_scope = false;  // Some $dynamicRef reads the dynamic scope.
  std::vector<Check> checks;   // One per node, in the same order (check.cc).
  const Check* root_check = nullptr;
};

// Compiles `schema` (compile.cc).
absl::StatusOr<std::shared_ptr<const Program>> CompileProgram(const Json& schema,
                                                              const SchemaOptions& options);

// Fills program->checks and root_check from the compiled nodes (check.cc).
void BuildChecks(Program* program);

// The work one validation may do. A schema without a reference loop can still branch
// exponentially (thirty definitions, each an allOf of the next one twice: 2^30 evaluations of
// one value, seconds; each further definition doubles it); a validation that enters more subschemas
// than any instance of its size needs stops and fails. The allowance is kMinEvaluations, or
// kEvaluationsPerValue for each value in the instance when that is more; the values are counted
// only once the floor is reached, so ordinary validations never walk the instance twice.
class Budget {
 public:
  static constexpr uint64_t kMinEvaluations = uint64_t{1} << 20;
  static constexpr uint64_t kEvaluationsPerValue = 1024;

  explicit Budget(const Json& instance) : instance_(instance) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  // One subschema entered; false once the allowance is spent (and every call after).
  bool Spend() {
    if (++spent_ <= limit_) [[likely]] {
      return true;
    }
    return Extend();
  }
  bool exhausted() const { return exhausted_; }
  // Why validation stopped (for Validate's error).
  std::string Message() const;

 private:
  bool Extend();  // validate.cc

  const Json& instance_;
  uint64_t spent_ = 0;
  uint64_t limit_ = kMinEvaluations;
  uint64_t values_ = 0;  // Counted by the first Extend (an instance has at least one).
  bool exhausted_ = false;
};

// IsValid (check.cc): the Checks' walk, the full validator for kFull nodes; false when the
// budget runs out.
bool CheckValid(const Program& program, const Json& instance);

// The full validator's yes or no for `node` entered at reference depth `depth` (validate.cc),
// the same answer as from the root, spending `budget`.
bool FullValid(const Program& program, const Node* node, const Json& instance, int depth,
               Budget* budget);

// Nested $ref/$dynamicRef evaluations deeper than this fail (a schema such as {"$ref": "#"}
// would otherwise recurse forever on one instance).
inline constexpr int kMaxDepth = 512;

// Format checks (format.cc): true when `value` is a valid `format` or the format is unknown.
bool FormatValid(std::string_view format, std::string_view value);

// The ECMA-262 regex `source` as RE2 syntax, or an error naming the unsupported feature.
absl::StatusOr<std::string> EcmaToRe2(std::string_view source);

}  // namespace llmkit::internal::schema

#endif  // LLMKIT_SRC_SCHEMA_PROGRAM_H_
