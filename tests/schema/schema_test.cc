// JsonSchema: error locations and messages, first error only, compile errors that name the
// schema location, remote references only through the resolver, regex dialect, hostile
// instances (deep, huge, non-finite, $ref loops), schemas that branch exponentially (the work
// budget) and many threads on one schema.

#include "llmkit/schema.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/json.h"

namespace llmkit {
namespace {

using ::testing::HasSubstr;

Json J(std::string_view text) {
  absl::StatusOr<Json> j = Json::Parse(text);
  EXPECT_TRUE(j.ok()) << j.status();
  return *j;
}

JsonSchema S(std::string_view text, SchemaOptions options = {}) {
  absl::StatusOr<JsonSchema> s = JsonSchema::Compile(text, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

constexpr std::string_view kToolArgs = R"({
  "type": "object",
  "properties": {"city": {"type": "string", "minLength": 1}, "when": {"type": "integer"},
                 "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}},
  "required": ["city", "when"],
  "additionalProperties": false})";

TEST(JsonSchema, ErrorsGiveInstanceAndKeywordLocations) {
  JsonSchema s = S(kToolArgs);
  EXPECT_TRUE(s.IsValid(J(R"({"city": "Oslo", "when": 1})")));
  std::vector<SchemaError> errors =
      s.Validate(J(R"({"city": "", "tags": ["a", 2, "a"], "x~/": 1})"));
  std::vector<std::string> seen;
  for (const SchemaError& e : errors) {
    seen.push_back(e.instance_path + " " + e.keyword_location + " " + e.message);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_THAT(seen, ::testing::ElementsAre(
                        " /required must have required property 'when'",
                        "/city /properties/city/minLength must NOT have fewer than 1 characters",
                        "/tags /properties/tags/uniqueItems must NOT have duplicate items (items "
                        "## 0 and 2 are identical)",
                        "/tags/1 /properties/tags/items/type must be string",
                        "/x~0~1 /additionalProperties must NOT have additional properties"));
  EXPECT_FALSE(s.IsValid(J(R"({"city": ""})")));
  SchemaOptions first;
  first.all_errors = false;
  EXPECT_EQ(S(kToolArgs, first).Validate(J(R"({"city": "", "x": 1})")).size(), 1u);
}

TEST(JsonSchema, CompileErrorsNameTheSchemaLocation) {
  auto bad = [](std::string_view text) {
    absl::StatusOr<JsonSchema> s = JsonSchema::Compile(text);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << text;
    return std::string(s.status().message());
  };
  EXPECT_THAT(bad(R"({"properties": {"a": {"maxLength": -1}}})"),
              HasSubstr("'/properties/a/maxLength': must be a non-negative integer"));
  EXPECT_THAT(bad(R"({"type": "str"})"), HasSubstr("'/type'"));
  EXPECT_THAT(bad(R"({"allOf": []})"), HasSubstr("'/allOf': must be a non-empty array"));
  EXPECT_THAT(bad(R"({"items": 3})"), HasSubstr("'/items': a schema must be an object"));
  EXPECT_THAT(bad(R"({"pattern": "(?<=a)b"})"), HasSubstr("lookbehind"));
  EXPECT_THAT(bad(R"({"pattern": "(a)\\1"})"), HasSubstr("backreferences"));
  EXPECT_THAT(bad(R"({"pattern": "(?i)a"})"), HasSubstr("inline flags"));
  EXPECT_THAT(bad(R"({"$ref": "#/$defs/missing"})"), HasSubstr("points to nothing"));
  EXPECT_THAT(bad(R"({"$ref": "#nowhere"})"), HasSubstr("no anchor 'nowhere'"));
  EXPECT_THAT(bad(R"({"$ref": "other.json"})"), HasSubstr("no resolver is set"));
  EXPECT_THAT(bad("{"), HasSubstr("offset"));
}

TEST(JsonSchema, RemoteReferencesOnlyThroughTheResolver) {
  std::vector<std::string> asked;
  SchemaOptions options;
  options.resolver = [&](std::string_view uri) -> absl::StatusOr<Json> {
    asked.emplace_back(uri);
    if (uri == "https://example.com/defs.json") {
      return J(R"({"$defs": {"positive": {"type": "integer", "exclusiveMinimum": 0}}})");
    }
    return absl::NotFoundError("unknown");
  };
  JsonSchema s = S(R"({"$id": "https://example.com/root.json",
                       "properties": {"n": {"$ref": "defs.json#/$defs/positive"},
                                      "m": {"$ref": "#/$defs/local"}},
                       "$defs": {"local": {"const": 1}}})",
                   options);
  EXPECT_THAT(asked, ::testing::ElementsAre("https://example.com/defs.json"));
  EXPECT_TRUE(s.IsValid(J(R"({"n": 3, "m": 1})")));
  std::vector<SchemaError> errors = s.Validate(J(R"({"n": 0})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].keyword_location, "/properties/n/$ref/exclusiveMinimum");
  EXPECT_FALSE(JsonSchema::Compile(R"({"$ref": "https://example.com/x.json"})", options).ok());
}

TEST(JsonSchema, EcmaRegexMeaningOnRe2) {
  JsonSchema space = S(R"({"pattern": "^\\s+$"})");
  EXPECT_TRUE(space.IsValid(Json("\xc2\xa0\xe2\x80\xa8 \t")));  // NBSP, LINE SEPARATOR.
  EXPECT_FALSE(space.IsValid(Json("x")));
  EXPECT_TRUE(S(R"({"pattern": "^\\p{Letter}\\d$"})")
                  .IsValid(Json("\xc3\xa9"
                                "7")));
  EXPECT_FALSE(S(R"({"pattern": "^\\d$"})").IsValid(Json("\xd9\xa3")));  // ASCII digits only.
  EXPECT_TRUE(S(R"({"pattern": "^(?<year>\\d{4})$"})").IsValid(Json("2025")));
  // Unanchored, as ECMA-262's RegExp.test.
  EXPECT_TRUE(S(R"({"pattern": "b"})").IsValid(Json("abc")));
}

TEST(JsonSchema, HostileInstancesNeverCrash) {
  // A reference back to where it is without descending into the instance never ends (and
  // through branching keywords took exponential time before the depth limit stopped it):
  // refused when compiling, naming the reference.
  for (const char* looping : {
           R"({"$ref": "#"})",
           R"({"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/b"}, true]},
                         "b": {"oneOf": [{"not": {"$ref": "#/$defs/a"}}, {}]}},
               "items": {"$ref": "#/$defs/a"}})",
           R"({"if": {"$ref": "#"}})",
           R"({"dependentSchemas": {"x": {"allOf": [{"$ref": "#"}]}}})",
           R"({"$dynamicAnchor": "n", "anyOf": [{"$dynamicRef": "#n"}]})",
       }) {
    absl::StatusOr<JsonSchema> s = JsonSchema::Compile(looping);
    ASSERT_FALSE(s.ok()) << looping;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr("ef':"));  // At its $ref or $dynamicRef.
    EXPECT_THAT(s.status().message(), HasSubstr("without descending into the instance"));
  }
  // Descending into members or items is recursion, not a loop.
  EXPECT_TRUE(JsonSchema::Compile(R"({"items": {"$ref": "#"}, "properties": {"x": {"$ref": "#"}},
                                      "allOf": [{"additionalProperties": {"$ref": "#"}}]})")
                  .ok());
  // 400 nested allOf around a reference that descends: every subschema counts toward the depth
  // limit, not only $refs, so a deep instance is an error, not a stack overflow.
  std::string nested;
  for (int i = 0; i < 400; ++i) nested += R"({"allOf": [)";
  nested += R"({"items": {"$ref": "#"}})";
  for (int i = 0; i < 400; ++i) nested += "]}";
  JsonSchema nested_recursion = S(nested);
  Json ten = Json::MakeArray();
  for (int i = 0; i < 10; ++i) {
    Json outer = Json::MakeArray();
    outer.push_back(std::move(ten));
    ten = std::move(outer);
  }
  EXPECT_FALSE(nested_recursion.IsValid(ten));
  EXPECT_THAT(nested_recursion.Validate(ten).back().message, HasSubstr("nest too deep"));
  // 100,000 nested arrays built in code.
  Json deep = Json::MakeArray();
  for (int i = 0; i < 100'000; ++i) {
    Json outer = Json::MakeArray();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  EXPECT_TRUE(S("{}").IsValid(deep));
  EXPECT_FALSE(S(R"({"items": {"$ref": "#"}})").IsValid(deep));  // Deeper than the limit.
  // Near the limit IsValid and Validate agree: a node that is only a $ref counts as one level in
  // both (IsValid skips its frame, not its level).
  JsonSchema via_ref = S(R"({"$ref": "#/$defs/a", "$defs": {"a": {"items": {"$ref": "#"}}}})");
  for (int levels : {200, 255, 256, 300, 600}) {
    Json nested = Json::MakeArray();
    for (int i = 0; i < levels; ++i) {
      Json outer = Json::MakeArray();
      outer.push_back(std::move(nested));
      nested = std::move(outer);
    }
    EXPECT_EQ(via_ref.IsValid(nested), via_ref.Validate(nested).empty()) << levels;
  }
  // Exponential for a backtracking engine; linear here.
  EXPECT_FALSE(S(R"({"pattern": "^(a+)+$"})").IsValid(Json(std::string(200'000, 'a') + "!")));
  // Non-finite numbers and the extremes of int64.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(S(R"({"maximum": 1})").IsValid(Json(inf)));
  EXPECT_FALSE(S(R"({"minimum": 1})").IsValid(Json(std::nan(""))));
  EXPECT_FALSE(S(R"({"type": "integer"})").IsValid(Json(inf)));
  EXPECT_FALSE(S(R"({"multipleOf": 0.5})").IsValid(Json(inf)));
  EXPECT_TRUE(S(R"({"multipleOf": 2})").IsValid(Json(std::numeric_limits<int64_t>::min())));
  EXPECT_TRUE(S(R"({"multipleOf": 0.01})").IsValid(Json(19.99)));
  EXPECT_FALSE(S(R"({"multipleOf": 0.01})").IsValid(Json(19.995)));
  // 1 and 1.0 are the same JSON number; true is not 1.
  EXPECT_FALSE(S(R"({"uniqueItems": true})").IsValid(J("[1, 1.0]")));
  EXPECT_TRUE(S(R"({"uniqueItems": true})").IsValid(J("[1, true, 0, false]")));
  EXPECT_FALSE(S(R"({"const": 1})").IsValid(Json(true)));
}

// Thirty definitions, each applying the next one twice to the same value (`keyword`: allOf or
// anyOf; `extra`: keywords beside it; `descend`: through "items", one level per definition),
// ending in `last`: 2^30 evaluations without a budget.
std::string Doubling(std::string_view keyword, std::string_view extra, bool descend,
                     std::string_view last, std::string_view root = R"("$ref": "#/$defs/d0")") {
  std::string defs;
  for (int i = 0; i < 30; ++i) {
    const std::string next = "{\"$ref\": \"#/$defs/d" + std::to_string(i + 1) + "\"}";
    std::string twice = "{" + std::string(extra) + "\"" + std::string(keyword) + "\": [" + next +
                        ", " + next + "]}";
    if (descend) twice = "{\"items\": " + twice + "}";
    defs += "\"d" + std::to_string(i) + "\": " + twice + ", ";
  }
  defs += "\"d30\": " + std::string(last);
  return "{" + std::string(root) + ", \"$defs\": {" + defs + "}}";
}

TEST(JsonSchema, ExponentialSchemasStopAtTheBudget) {
  Json deep = Json(int64_t{1});
  for (int i = 0; i < 30; ++i) {
    Json outer = Json::MakeArray();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  struct Case {
    std::string schema;
    Json instance;
  };
  const Case cases[] = {
      {Doubling("allOf", "", false, R"({"type": "integer"})"), Json(int64_t{1})},
      // multipleOf sends every definition to the full validator.
      {Doubling("allOf", R"("multipleOf": 1, )", false, R"({"type": "integer"})"),
       Json(int64_t{1})},
      {Doubling("allOf", "", true, R"({"type": "integer"})"), deep},
      // Valid only if the budget's stop inside `not` were taken for a failure of the subschema.
      {Doubling("anyOf", "", false, "false", R"("not": {"$ref": "#/$defs/d0"})"), Json(int64_t{1})},
  };
  for (const Case& c : cases) {
    for (bool all_errors : {true, false}) {
      SchemaOptions options;
      options.all_errors = all_errors;
      JsonSchema s = S(c.schema, options);
      EXPECT_FALSE(s.IsValid(c.instance)) << c.schema;
      const std::vector<SchemaError> errors = s.Validate(c.instance);
      ASSERT_EQ(errors.size(), 1u) << c.schema;
      EXPECT_THAT(errors[0].message, HasSubstr("validation stopped after 1048576 subschema "
                                               "evaluations for an instance of"));
      EXPECT_THAT(errors[0].message, HasSubstr("the schema branches exponentially"));
    }
  }
  // The allowance grows with the instance: 1.1 million items (more than 2^20), each entering
  // a subschema with two more, pass both ways (within 1,024 a value).
  JsonSchema per_item = S(R"({"items": {"allOf": [{"minimum": 0}, {"maximum": 9}]}})");
  Json many = Json::MakeArray();
  for (int i = 0; i < 1'100'000; ++i) many.push_back(Json(int64_t{i % 10}));
  EXPECT_TRUE(per_item.IsValid(many));
  EXPECT_TRUE(per_item.Validate(many).empty());
  many.push_back(Json(int64_t{10}));
  EXPECT_FALSE(per_item.IsValid(many));
  const std::vector<SchemaError> errors = per_item.Validate(many);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].instance_path, "/1100000");
  EXPECT_EQ(errors[0].keyword_location, "/items/allOf/1/maximum");
}

// IsValid takes shortcuts Validate does not (required counted in the member loop, nodes that
// are only a $ref or only a "type", the short patterns): on thousands of random mutations of a
// valid document the two must agree, with all errors and with the first.
// Every value of `doc`, the document first (addresses valid until `doc` changes).
std::vector<Json*> Values(Json& doc) {
  std::vector<Json*> nodes = {&doc};
  for (size_t i = 0; i < nodes.size(); ++i) {
    Json& node = *nodes[i];
    if (node.is_object()) {
      for (size_t m = 0; m < node.size(); ++m) nodes.push_back(&node[node.as_object()[m].first]);
    } else if (node.is_array()) {
      for (Json& item : node.as_array()) nodes.push_back(&item);
    }
  }
  return nodes;
}

Json RandomMutation(const Json& valid, std::mt19937& random) {
  Json doc = valid;
  for (int edits = 1 + static_cast<int>(random() % 2); edits > 0; --edits) {
    const std::vector<Json*> nodes = Values(doc);
    Json& target = *nodes[random() % nodes.size()];
    switch (random() % 6) {
      case 0:  // Drop a member (maybe a required one).
        if (target.is_object() && target.size() > 0) {
          Json rest = Json::MakeObject();
          const size_t drop = random() % target.size();
          for (size_t m = 0; m < target.size(); ++m) {
            if (m != drop) rest.Set(target.as_object()[m].first, target.as_object()[m].second);
          }
          target = std::move(rest);
        }
        break;
      case 1:
        target = Json(static_cast<int64_t>(random() % 5) - 1);
        break;
      case 2:
        target = Json(std::string(random() % 2 ? "EUR" : "euro"));
        break;
      case 3:
        target = Json(random() % 2 == 0);
        break;
      case 4:
        if (target.is_object()) target.Set(random() % 2 ? "extra" : "sku", Json("SK"));
        break;
      default:
        target = Json::MakeArray();
        break;
    }
  }
  return doc;
}

TEST(JsonSchema, IsValidAgreesWithValidateOnRandomDocuments) {
  const Json schema = J(R"({
    "$defs": {
      "money": {"type": "object", "properties": {"amount": {"type": "number", "minimum": 0},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
                "required": ["amount", "currency"], "additionalProperties": false},
      "item": {"type": "object", "properties": {"sku": {"type": "string", "minLength": 3},
               "quantity": {"type": "integer", "minimum": 1}, "price": {"$ref": "#/$defs/money"}},
               "required": ["sku", "quantity", "price", "sku"]}},
    "type": "object",
    "properties": {"id": {"type": "integer"}, "status": {"enum": ["new", "paid"]},
                   "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
                   "total": {"$ref": "#/$defs/money"}, "tags": {"type": "array",
                   "items": {"type": "string"}, "uniqueItems": true}},
    "required": ["id", "items", "total"]})");
  const Json valid = J(R"({"id": 7, "status": "paid", "tags": ["a", "b"],
    "items": [{"sku": "SKU-1", "quantity": 2, "price": {"amount": 9.5, "currency": "EUR"}},
              {"sku": "SKU-2", "quantity": 1, "price": {"amount": 0, "currency": "USD"}}],
    "total": {"amount": 19, "currency": "EUR"}})");
  SchemaOptions first;
  first.all_errors = false;
  const JsonSchema all = S(schema.Dump());
  const JsonSchema one = S(schema.Dump(), first);
  ASSERT_TRUE(all.IsValid(valid));
  std::mt19937 random(7);
  int invalid = 0;
  for (int i = 0; i < 3000; ++i) {
    const Json doc = RandomMutation(valid, random);
    const bool answer = all.IsValid(doc);
    ASSERT_EQ(answer, all.Validate(doc).empty()) << doc.Dump();
    ASSERT_EQ(answer, one.Validate(doc).empty()) << doc.Dump();
    ASSERT_EQ(answer, one.IsValid(doc)) << doc.Dump();
    invalid += !answer;
  }
  EXPECT_GT(invalid, 1000);  // The mutations do reach the checks.
  EXPECT_LT(invalid, 3000);
}

TEST(JsonSchema, OneSchemaManyThreads) {
  JsonSchema s = S(kToolArgs);
  const Json good = J(R"({"city": "Oslo", "when": 2, "tags": ["a", "b"]})");
  const Json bad = J(R"({"city": 1})");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!s.IsValid(good) || s.IsValid(bad) || s.Validate(bad).size() != 2) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace llmkit
