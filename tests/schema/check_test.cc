// IsValid's Checks (check.cc) against the full validator: random schemas built from every keyword
// the Checks hold and some they hand on (multipleOf, patternProperties, references beside
// keywords, boolean schemas), random instances aimed at their bounds, both drafts; IsValid must
// say what Validate says. And the code point count behind minLength/maxLength against a count
// byte by byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "llmkit/json.h"
#include "llmkit/schema.h"
#include "schema/values.h"

namespace llmkit {
namespace {

using internal::schema::CodePoints;
using internal::schema::LengthWithin;

size_t NaiveCodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Random UTF-8 (1 to 4 byte sequences), sometimes a stray continuation byte.
std::string RandomText(std::mt19937& random, size_t code_points) {
  static const char* kPieces[] = {"a", "Z", "7", "-", "é", "ß", "€", "中", "😀", "\x80", " "};
  std::string out;
  for (size_t i = 0; i < code_points; ++i) out += kPieces[random() % std::size(kPieces)];
  return out;
}

TEST(SchemaValues, CodePointsCountsWhatAByteLoopCounts) {
  std::mt19937 random(11);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = RandomText(random, random() % 40);
    ASSERT_EQ(CodePoints(s), NaiveCodePoints(s)) << s;
    const auto n = static_cast<int64_t>(NaiveCodePoints(s));
    for (int64_t min : {int64_t{0}, n - 1, n, n + 1, int64_t{1} << 62}) {
      for (int64_t max : {n - 1, n, n + 1, std::numeric_limits<int64_t>::max()}) {
        ASSERT_EQ(LengthWithin(s, min, max), n >= min && n <= max) << s << " " << min << " " << max;
      }
    }
  }
  // Every length and offset of the word loop and its tail, ASCII and not.
  for (size_t length = 0; length < 70; ++length) {
    for (const char* fill : {"x", "é", "😀"}) {
      std::string s;
      for (size_t i = 0; i < length; ++i) s += fill;
      EXPECT_EQ(CodePoints(s), length);
      EXPECT_EQ(CodePoints(s.substr(0, s.size() > 0 ? s.size() - 1 : 0)),
                NaiveCodePoints(s.substr(0, s.size() > 0 ? s.size() - 1 : 0)));
    }
  }
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : random_(seed) {}

  int Pick(int n) { return static_cast<int>(random_() % static_cast<uint32_t>(n)); }
  bool Coin() { return Pick(2) == 0; }

  // A schema of at most `depth` levels of subschemas; its $refs go to "#/$defs/dN" for N >=
  // `first_ref` (up to d2), so that definitions refer only to later ones: no reference loop
  // (a loop through allOf/anyOf branches takes exponential time in any validator).
  Json Schema(int depth, int first_ref = 0) {
    first_ref_ = first_ref;
    if (Pick(12) == 0) return Json(Coin());
    Json s = Json::MakeObject();
    static const char* kTypes[] = {"null",   "boolean", "integer", "number",
                                   "string", "array",   "object"};
    if (Pick(3) != 0) {
      if (Coin()) {
        s.Set("type", Json(std::string(kTypes[Pick(7)])));
      } else {
        Json types = Json::MakeArray();
        types.push_back(Json(std::string(kTypes[Pick(7)])));
        types.push_back(Json(std::string(kTypes[Pick(7)])));
        s.Set("type", std::move(types));
      }
    }
    if (Pick(6) == 0) {
      Json values = Json::MakeArray();
      for (int i = Pick(4); i >= 0; --i) values.push_back(Value(1));
      s.Set("enum", std::move(values));
    }
    if (Pick(12) == 0) s.Set("const", Value(1));
    static const char* kBounds[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
    for (const char* bound : kBounds) {
      if (Pick(4) == 0) s.Set(bound, Number());
    }
    if (Pick(10) == 0) s.Set("multipleOf", Json(Coin() ? 2.0 : 0.5));
    if (Pick(4) == 0) s.Set("minLength", Json(static_cast<int64_t>(Pick(6))));
    if (Pick(4) == 0) s.Set("maxLength", Json(static_cast<int64_t>(Pick(12))));
    static const char* kPatterns[] = {"^[A-Z]{2}$", "^[a-z]+$", "é", "^\\d{2,3}", "[0-9]$"};
    if (Pick(5) == 0) s.Set("pattern", Json(std::string(kPatterns[Pick(5)])));
    if (depth > 0) Structure(&s, depth - 1);
    if (depth > 0 && first_ref_ < 3 && Pick(8) == 0) {
      s.Set("$ref", Json("#/$defs/d" + std::to_string(first_ref_ + Pick(3 - first_ref_))));
    }
    return s;
  }

  // A value aimed at the schemas' keys, bounds and lengths.
  Json Value(int depth) {
    switch (Pick(depth > 0 ? 9 : 6)) {
      case 0:
        return Json(nullptr);
      case 1:
        return Json(Coin());
      case 2:
        return Json(static_cast<int64_t>(Pick(9)) - 3);
      case 3:
        return Number();
      case 4:
      case 5: {
        static const char* kStrings[] = {"", "a", "AB", "abc", "12", "123", "é", "DE", "x9"};
        return Coin() ? Json(std::string(kStrings[Pick(9)]))
                      : Json(RandomText(random_, static_cast<size_t>(Pick(14))));
      }
      case 6: {
        Json items = Json::MakeArray();
        for (int i = Pick(5); i > 0; --i) items.push_back(Value(depth - 1));
        return items;
      }
      default: {
        Json members = Json::MakeObject();
        for (int i = Pick(5); i > 0; --i) members.Set(Key(), Value(depth - 1));
        return members;
      }
    }
  }

  // A value built to pass much of `schema` (its type, enum, bounds, properties, required names,
  // items; references followed into `root`'s $defs), so that the deeper keywords are reached;
  // sometimes a random value instead.
  Json Guided(const Json& schema, const Json& root, int depth) {
    if (!schema.is_object() || depth < 0 || Pick(10) == 0) return Value(std::max(depth, 0));
    if (const Json* ref = schema.Find("$ref"); ref != nullptr && Coin()) {
      const std::string name = ref->as_string().substr(ref->as_string().rfind('/') + 1);
      const Json* defs = root.Find("$defs");
      if (defs != nullptr && defs->Find(name) != nullptr) {
        return Guided(*defs->Find(name), root, depth - 1);
      }
    }
    if (const Json* values = schema.Find("enum"); values != nullptr && Pick(3) != 0) {
      return values->as_array()[Pick(static_cast<int>(values->size()))];
    }
    if (const Json* value = schema.Find("const"); value != nullptr && Pick(3) != 0) return *value;
    std::string type;
    if (const Json* t = schema.Find("type"); t != nullptr) {
      type = t->is_string() ? t->as_string() : t->as_array()[Pick(2)].as_string();
    } else if (schema.Find("properties") != nullptr || schema.Find("required") != nullptr) {
      type = "object";
    } else if (schema.Find("items") != nullptr || schema.Find("prefixItems") != nullptr) {
      type = "array";
    }
    if (type == "object") {
      Json members = Json::MakeObject();
      const Json* properties = schema.Find("properties");
      if (properties != nullptr) {
        for (const auto& member : properties->as_object()) {
          if (Pick(4) != 0) members.Set(member.first, Guided(member.second, root, depth - 1));
        }
      }
      if (const Json* required = schema.Find("required"); required != nullptr) {
        for (const Json& name : required->as_array()) {
          const Json* sub = properties != nullptr ? properties->Find(name.as_string()) : nullptr;
          if (Pick(8) != 0 && members.Find(name.as_string()) == nullptr) {
            members.Set(name.as_string(),
                        sub != nullptr ? Guided(*sub, root, depth - 1) : Value(depth - 1));
          }
        }
      }
      if (Pick(4) == 0) members.Set(Key(), Value(depth - 1));
      return members;
    }
    if (type == "array") {
      Json items = Json::MakeArray();
      const Json* each = schema.Find("items");
      const Json* prefix = schema.Find("prefixItems");
      if (each != nullptr && each->is_array()) prefix = each;
      if (prefix != nullptr) {
        for (const Json& p : prefix->as_array()) items.push_back(Guided(p, root, depth - 1));
      }
      for (int i = Pick(4); i > 0; --i) {
        items.push_back(each != nullptr && each->is_object() ? Guided(*each, root, depth - 1)
                                                             : Value(depth - 1));
      }
      return items;
    }
    if (type == "integer" || type == "number") {
      for (const char* bound : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
        if (const Json* b = schema.Find(bound); b != nullptr && Coin()) {
          const double nudge[] = {-1, -0.5, 0, 0.5, 1};
          const double d = b->as_double() + nudge[Pick(5)];
          if (type == "integer" && d == static_cast<double>(static_cast<int64_t>(d))) {
            return Json(static_cast<int64_t>(d));
          }
          return Json(d);
        }
      }
      return Number();
    }
    if (type == "string") return Value(0).is_string() ? Value(0) : Json(std::string("AB"));
    if (type == "null") return Json(nullptr);
    if (type == "boolean") return Json(Coin());
    return Value(std::max(depth, 0));
  }

 private:
  void Structure(Json* s, int depth) {
    if (Pick(3) == 0) {
      Json properties = Json::MakeObject();
      const int count = Coin() ? 1 + Pick(3) : 9 + Pick(3);  // Compared, or found by index.
      for (int i = 0; i < count; ++i) properties.Set(Key(), Schema(depth, first_ref_));
      s->Set("properties", std::move(properties));
    }
    if (Pick(3) == 0) {
      Json required = Json::MakeArray();
      for (int i = Pick(3); i >= 0; --i) required.push_back(Json(Key()));
      s->Set("required", std::move(required));
    }
    if (Pick(4) == 0)
      s->Set("additionalProperties", Coin() ? Json(false) : Schema(depth, first_ref_));
    if (Pick(10) == 0) {
      Json patterns = Json::MakeObject();
      patterns.Set("^k", Schema(depth, first_ref_));
      s->Set("patternProperties", std::move(patterns));
    }
    if (Pick(8) == 0) s->Set("minProperties", Json(static_cast<int64_t>(Pick(3))));
    if (Pick(8) == 0) s->Set("maxProperties", Json(static_cast<int64_t>(Pick(4))));
    if (Pick(4) == 0) s->Set("items", Schema(depth, first_ref_));
    if (Pick(6) == 0) {
      Json prefix = Json::MakeArray();
      for (int i = Pick(3); i >= 0; --i) prefix.push_back(Schema(depth, first_ref_));
      s->Set(Coin() ? "prefixItems" : "items", std::move(prefix));  // draft-07's tuple form too.
    }
    if (Pick(8) == 0) s->Set("additionalItems", Schema(depth, first_ref_));
    if (Pick(8) == 0) s->Set("minItems", Json(static_cast<int64_t>(Pick(3))));
    if (Pick(8) == 0) s->Set("maxItems", Json(static_cast<int64_t>(Pick(4))));
    if (Pick(8) == 0) s->Set("uniqueItems", Json(Coin()));
    static const char* kLists[] = {"allOf", "anyOf", "oneOf"};
    for (const char* list : kLists) {
      if (Pick(8) == 0) {
        Json branches = Json::MakeArray();
        for (int i = Pick(3); i >= 0; --i) branches.push_back(Schema(depth, first_ref_));
        s->Set(list, std::move(branches));
      }
    }
    if (Pick(10) == 0) s->Set("not", Schema(depth, first_ref_));
    if (Pick(10) == 0) {
      s->Set("if", Schema(depth, first_ref_));
      if (Coin()) s->Set("then", Schema(depth, first_ref_));
      if (Coin()) s->Set("else", Schema(depth, first_ref_));
    }
  }

  Json Number() {
    static const double kNumbers[] = {-2, -0.5, 0, 0.5, 1, 1.5, 2, 3, 3.0000001, 1e300};
    const double d = kNumbers[Pick(10)];
    if (d == static_cast<int64_t>(d) && Coin()) return Json(static_cast<int64_t>(d));
    return Json(d);  // Integral doubles (2.0) too: "integer" accepts them.
  }

  std::string Key() {
    static const char* kKeys[] = {
        "a",  "b", "name", "k1", "k2", "kk", "long_property_name_1", "long_property_name_2",
        "id", "x", "y",    "z"};
    return kKeys[Pick(12)];
  }
  std::mt19937 random_;
  int first_ref_ = 0;
};

TEST(SchemaChecks, IsValidSaysWhatValidateSaysOnRandomSchemas) {
  Generator g(2024);
  int schemas = 0, valid = 0, invalid = 0;
  for (int round = 0; round < 3000; ++round) {
    Json schema = g.Schema(3);
    if (schema.is_object()) {
      Json defs = Json::MakeObject();
      for (int d = 0; d < 3; ++d) defs.Set("d" + std::to_string(d), g.Schema(2, d + 1));
      schema.Set("$defs", std::move(defs));
      if (round % 3 == 0) {
        schema.Set("$schema", Json(std::string("http://json-schema.org/draft-07/schema#")));
      }
    }
    for (bool all : {true, false}) {
      SchemaOptions options;
      options.all_errors = all;
      absl::StatusOr<JsonSchema> compiled = JsonSchema::Compile(schema, options);
      ASSERT_TRUE(compiled.ok()) << compiled.status() << "\n" << schema.Dump();
      ++schemas;
      for (int i = 0; i < 20; ++i) {
        const Json instance = i % 2 == 0 ? g.Value(3) : g.Guided(schema, schema, 4);
        const bool answer = compiled->IsValid(instance);
        ASSERT_EQ(answer, compiled->Validate(instance).empty())
            << "schema " << schema.Dump() << "\ninstance " << instance.Dump();
        (answer ? valid : invalid)++;
      }
    }
  }
  // Both answers are common: the instances reach the keywords.
  EXPECT_GT(valid, schemas);
  EXPECT_GT(invalid, schemas);
}

// Found by schema_fuzzer: "meta" is a property and required, "nodes" required but not a property.
// The names were looked up one by one, but "meta" was also counted as a required property found
// (against a count of none), so IsValid refused what Validate accepted.
TEST(SchemaChecks, RequiredNamesOutsidePropertiesAreLookedUp) {
  const Json schema = *Json::Parse(R"({"type": "object",
    "properties": {"meta": {"type": "string"}, "other": {"type": "array"}},
    "required": ["meta", "nodes"]})");
  const JsonSchema compiled = *JsonSchema::Compile(schema);
  for (const char* text :
       {R"({"meta": "root", "nodes": []})", R"({"nodes": 1, "meta": "x"})", R"({"meta": "root"})",
        R"({"nodes": []})", R"({"meta": 1, "nodes": 1})"}) {
    const Json instance = *Json::Parse(text);
    EXPECT_EQ(compiled.IsValid(instance), compiled.Validate(instance).empty()) << text;
  }
  EXPECT_TRUE(compiled.IsValid(*Json::Parse(R"({"meta": "root", "nodes": []})")));
}

}  // namespace
}  // namespace llmkit
