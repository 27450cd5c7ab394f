#include "llmkit/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "llmkit/status.h"

namespace llmkit {
namespace {

Json MustParse(std::string_view text) {
  absl::StatusOr<Json> value = Json::Parse(text);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : Json();
}

TEST(JsonParse, ScalarsAndContainers) {
  Json doc = MustParse(R"( {"a": 1, "b": -2.5, "c": "x\u00e9\n", "d": [true, false, null],
                            "e": {}, "f": [], "big": 9223372036854775807, "f2": 1.0} )");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.size(), 8u);
  EXPECT_EQ(doc.Find("a")->as_int(), 1);
  EXPECT_TRUE(doc.Find("a")->is_int());
  EXPECT_EQ(doc.Find("b")->as_double(), -2.5);
  EXPECT_EQ(doc.Find("c")->as_string(), "x\xc3\xa9\n");
  EXPECT_TRUE(doc.Find("d")->as_array()[2].is_null());
  EXPECT_EQ(doc.Find("big")->as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(doc.Find("f2")->is_double());
  EXPECT_EQ(doc.Find("missing"), nullptr);
  EXPECT_EQ(MustParse("\"top\"").as_string(), "top");
  EXPECT_EQ(MustParse("-0").as_int(), 0);
  EXPECT_TRUE(MustParse("18446744073709551615").is_double());
}

TEST(JsonParse, KeysKeepInsertionOrderAndLastDuplicateWins) {
  Json doc = MustParse(R"({"z": 1, "a": 2, "z": 3})");
  ASSERT_EQ(doc.as_object().size(), 2u);
  EXPECT_EQ(doc.as_object()[0].first, "z");
  EXPECT_EQ(doc.as_object()[0].second.as_int(), 3);
  EXPECT_EQ(doc.Dump(), R"({"z":3,"a":2})");
}

TEST(JsonParse, ManyDuplicateKeysInLargeObjects) {
  std::string text = "{";
  for (int i = 0; i < 100; ++i)
    text += "\"k" + std::to_string(i % 40) + "\":" + std::to_string(i) + ",";
  text.back() = '}';
  Json doc = MustParse(text);
  EXPECT_EQ(doc.size(), 40u);
  EXPECT_EQ(doc.Find("k0")->as_int(), 80);
}

TEST(JsonParse, ErrorsNameTheByteOffset) {
  struct Case {
    std::string text;
    int64_t offset;
  };
  for (const Case& c : {Case{"[1, 2,]", 6}, Case{"{\"a\" 1}", 5}, Case{"[1] x", 4},
                        Case{"\"abc", 4}, Case{"", 0}, Case{"  ", 2}, Case{"[tru]", 1},
                        Case{"{\"a\":\"\xff\"}", 6}, Case{"[01]", 2}, Case{"1e400", 0}}) {
    absl::StatusOr<Json> result = Json::Parse(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(GetByteOffset(result.status()), c.offset) << c.text << " " << result.status();
  }
}

// Values built in code may be deeper than Parse accepts: freeing one never recurses (a
// million levels here would overflow any thread's stack if it did).
TEST(JsonValue, FreeingAVeryDeepValueDoesNotRecurse) {
  for (bool objects : {false, true}) {
    Json value = 1;
    for (int i = 0; i < 1'000'000; ++i) {
      Json outer = objects ? Json::MakeObject() : Json::MakeArray();
      if (objects) {
        outer.Set("a", std::move(value));
      } else {
        outer.push_back(std::move(value));
      }
      value = std::move(outer);
    }
    EXPECT_EQ(value.size(), 1u);
    Json copy = value;  // Copying, comparing and serializing do not recurse either.
    EXPECT_TRUE(copy == value);
    std::string text = value.Dump();
    EXPECT_EQ(text.size(), objects ? 6'000'001u : 2'000'001u);
    EXPECT_EQ(text.substr(0, 12), objects ? "{\"a\":{\"a\":{\"" : "[[[[[[[[[[[[");
  }  // All freed here.
  Json wide = Json::MakeArray();
  for (int i = 0; i < 1000; ++i) wide.push_back(Json::Array{Json::Array{1, 2}, Json("x")});
  Json copy = wide;
  EXPECT_EQ(copy, wide);
}

TEST(JsonParse, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  absl::StatusOr<Json> result = Json::Parse(deep);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JsonDump, EscapesExactly) {
  Json value(std::string("q\" b\\ \b\f\n\r\t \x01\x1f / \x7f \xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_EQ(value.Dump(),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f / \x7f \xc3\xa9 \xf0\x9f\x98\x80\"");
  JsonDumpOptions ascii;
  ascii.ensure_ascii = true;
  EXPECT_EQ(value.Dump(ascii),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f / \\u007f \\u00e9 \\ud83d\\ude00\"");
  EXPECT_EQ(Json(std::string("a\0b", 3)).Dump(), "\"a\\u0000b\"");
}

TEST(JsonDump, DoublesPrintAsPythonRepr) {
  struct Case {
    double value;
    const char* text;
  };
  for (const Case& c :
       {Case{1.0, "1.0"}, Case{-0.0, "-0.0"}, Case{0.1, "0.1"}, Case{1e16, "1e+16"},
        Case{1e15, "1000000000000000.0"}, Case{1e-5, "1e-05"}, Case{0.0001, "0.0001"},
        Case{1.5e-7, "1.5e-07"}, Case{123456789012345680.0, "1.2345678901234568e+17"},
        Case{2.5, "2.5"}, Case{1e300, "1e+300"}, Case{3.14159, "3.14159"}}) {
    EXPECT_EQ(Json(c.value).Dump(), c.text);
  }
  EXPECT_EQ(Json(std::nan("")).Dump(), "NaN");
  EXPECT_EQ(Json(-std::numeric_limits<double>::infinity()).Dump(), "-Infinity");
}

TEST(JsonDump, PythonStyleIndentAndSortKeys) {
  Json doc = MustParse(R"({"b": [1, {"y": null, "x": true}], "a": "s", "e": [], "o": {}})");
  EXPECT_EQ(doc.Dump(JsonDumpOptions::PythonStyle()),
            R"({"b": [1, {"y": null, "x": true}], "a": "s", "e": [], "o": {}})");
  JsonDumpOptions sorted = JsonDumpOptions::PythonStyle(2);
  sorted.sort_keys = true;
  EXPECT_EQ(doc.Dump(sorted),
            "{\n  \"a\": \"s\",\n  \"b\": [\n    1,\n    {\n      \"x\": true,\n      \"y\": "
            "null\n    }\n  ],\n  \"e\": [],\n  \"o\": {}\n}");
}

TEST(JsonValue, BuildAndCompare) {
  Json doc;
  doc["name"] = "x";
  doc["tags"].push_back(1);
  doc["tags"].push_back(2.0);
  doc.Set("name", "y");
  EXPECT_EQ(doc.Dump(), R"({"name":"y","tags":[1,2.0]})");
  EXPECT_EQ(doc, MustParse(R"({"tags": [1.0, 2], "name": "y"})"));  // 1 == 1.0; order-free.
  EXPECT_FALSE(doc == MustParse(R"({"tags": [1, 2], "name": "z"})"));
  EXPECT_FALSE(Json(true) == Json(1));
  EXPECT_EQ(Json(size_t{7}).as_int(), 7);
}

// Random documents survive dump -> parse unchanged, with every option.
Json RandomJson(std::mt19937& random, int depth) {
  int kind = random() % (depth > 3 ? 5 : 7);
  switch (kind) {
    case 0:
      return Json();
    case 1:
      return Json(random() % 2 == 0);
    case 2:
      return Json(static_cast<int64_t>(random()) - (1LL << 31));
    case 3: {
      std::uniform_real_distribution<double> d(-1e6, 1e6);
      double v = d(random);
      return Json(random() % 3 == 0 ? v * 1e-12 : v);
    }
    case 4: {
      static const char* kPieces[] = {"a",    "\"",       "\\",           "\n",
                                      "\x01", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
                                      " ",    "/",        "\t",           "\x7f"};
      std::string s;
      for (int i = random() % 8; i > 0; --i) s += kPieces[random() % std::size(kPieces)];
      return Json(s);
    }
    case 5: {
      Json array = Json::MakeArray();
      for (int i = random() % 5; i > 0; --i) array.push_back(RandomJson(random, depth + 1));
      return array;
    }
    default: {
      Json object = Json::MakeObject();
      for (int i = random() % 5; i > 0; --i) {
        object.Set("k" + std::to_string(random() % 10), RandomJson(random, depth + 1));
      }
      return object;
    }
  }
}

TEST(JsonRoundTrip, RandomDocuments) {
  std::mt19937 random(7);
  for (int i = 0; i < 2000; ++i) {
    Json value = RandomJson(random, 0);
    for (JsonDumpOptions options :
         {JsonDumpOptions{}, JsonDumpOptions::PythonStyle(), JsonDumpOptions::PythonStyle(2)}) {
      options.ensure_ascii = i % 2 == 0;
      std::string text = value.Dump(options);
      absl::StatusOr<Json> parsed = Json::Parse(text);
      ASSERT_TRUE(parsed.ok()) << text << " " << parsed.status();
      ASSERT_EQ(*parsed, value) << text;
      if (!options.ensure_ascii && options.indent < 0 && options.item_separator == ",") {
        EXPECT_EQ(parsed->Dump(options), text);  // Byte-identical second round.
      }
    }
  }
}

}  // namespace
}  // namespace llmkit

namespace llmkit {
namespace {

// FindNonFinite names the first NaN or infinity by JSON Pointer (~ and / escaped), at any depth.
TEST(JsonValue, FindNonFiniteNamesThePointer) {
  Json ok = *Json::Parse(R"({"a": [1, 2.5, {"b": -0.0}], "c": "NaN"})");
  EXPECT_EQ(FindNonFinite(ok), std::nullopt);
  Json bad = ok;
  bad["a/x~"] = Json(Json::Array{Json(1), Json(std::nan(""))});
  EXPECT_EQ(FindNonFinite(bad), "/a~1x~0/1");
  EXPECT_EQ(FindNonFinite(Json(-std::numeric_limits<double>::infinity())), "");
  Json deep(std::numeric_limits<double>::infinity());
  for (int i = 0; i < 100000; ++i) {
    Json::Array one;
    one.push_back(std::move(deep));
    deep = Json(std::move(one));
  }
  std::optional<std::string> at = FindNonFinite(deep);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->size(), 200000u);
  // Unwind without recursing 100,000 frames in the destructor.
  while (deep.is_array()) {
    Json inner = std::move(deep.as_array()[0]);
    deep = std::move(inner);
  }
}

}  // namespace
}  // namespace llmkit
