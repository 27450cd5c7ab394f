// IsValid's Checks (check.cc) against the full validator: random schemas built from every keyword
// the Checks hold and some they hand on (multipleOf, patternProperties, references beside
// keywords, boolean schemas), random instances aimed at their bounds, both drafts; IsValid must
// say what Validate says. And the code point count behind minLength/maxLength against a count
// byte by byte.

#include <gtest/gtest.h>

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
        const Json instance = g.Value(3);
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

}  // namespace
}  // namespace llmkit
