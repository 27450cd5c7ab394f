// PartialJsonParser: every prefix of a valid document gives a value that is a prefix of the
// final one (property test over random documents, fed byte by byte and in random pieces), the
// final value equals Json::Parse's, and bad text fails with its offset.

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/status.h"
#include "llmkit/structured.h"

namespace llmkit {
namespace {

using ::testing::HasSubstr;

Json RandomValue(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth < 4 ? 9 : 6));
  switch (kind) {
    case 0:
      return Json();
    case 1:
      return Json(rng() % 2 == 0);
    case 2:
      return Json(static_cast<int64_t>(rng() % 200001) - 100000);
    case 3:
      return Json(static_cast<double>(static_cast<int>(rng() % 20001) - 10000) / 64.0 * 1e-3);
    case 4:
    case 5: {
      static const char* kPieces[] = {"a", "é", "\"", "\\", "\n", "😀", " ", "x1", "\x01", "}", "]"};
      std::string s;
      for (int i = static_cast<int>(rng() % 6); i > 0; --i) s += kPieces[rng() % 11];
      return Json(s);
    }
    case 6:
    case 7: {
      Json object = Json::MakeObject();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
        object.Set("k" + std::to_string(rng() % 8) + (rng() % 3 == 0 ? "\"q" : ""),
                   RandomValue(rng, depth + 1));
      }
      return object;
    }
    default: {
      Json array = Json::MakeArray();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i)
        array.push_back(RandomValue(rng, depth + 1));
      return array;
    }
  }
}

// `p` shows nothing `f` does not: members in f's order (the last may be partial), items a
// prefix (the last may be partial), scalars equal.
bool IsPrefix(const Json& p, const Json& f) {
  if (p.is_object()) {
    if (!f.is_object() || p.size() > f.size()) return false;
    const Json::Object& pm = p.as_object();
    const Json::Object& fm = f.as_object();
    for (size_t i = 0; i < pm.size(); ++i) {
      if (pm[i].first != fm[i].first || !IsPrefix(pm[i].second, fm[i].second)) return false;
    }
    return true;
  }
  if (p.is_array()) {
    if (!f.is_array() || p.size() > f.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      if (!IsPrefix(p.as_array()[i], f.as_array()[i])) return false;
    }
    return true;
  }
  return p == f && p.type() == f.type();
}

TEST(PartialJsonParser, EveryPrefixIsAPrefixOfTheFinalValue) {
  std::mt19937 rng(20261202);
  int documents = 0;
  for (int round = 0; round < 400; ++round) {
    const Json final_value = RandomValue(rng, 0);
    JsonDumpOptions options;
    if (round % 2 == 1) options.indent = 2;
    const std::string text = final_value.Dump(options);
    const Json parsed = *Json::Parse(text);
    for (int piece : {1, 0}) {  // Byte by byte, then in random pieces.
      PartialJsonParser parser;
      size_t at = 0;
      while (at < text.size()) {
        const size_t n = piece == 1 ? 1 : 1 + rng() % 9;
        ASSERT_TRUE(parser.Feed(std::string_view(text).substr(at, n)).ok()) << text;
        at += n;
        if (!parser.value().is_null() || !final_value.is_null()) {
          ASSERT_TRUE(parser.value().is_null() || IsPrefix(parser.value(), parsed))
              << "prefix " << text.substr(0, at) << " gave " << parser.value().Dump();
        }
      }
      ASSERT_TRUE(parser.Finish().ok()) << text;
      ASSERT_TRUE(parser.complete());
      ASSERT_EQ(parser.value().Dump(), parsed.Dump()) << text;
    }
    ++documents;
  }
  EXPECT_EQ(documents, 400);
}

TEST(PartialJsonParser, ShowsOnlyWhatIsWhole) {
  PartialJsonParser p;
  ASSERT_TRUE(p.Feed(R"({"city": "Par)").ok());
  EXPECT_EQ(p.value().Dump(), "{}");  // The cut string is left out.
  ASSERT_TRUE(p.Feed(R"(is", "days": 1)").ok());
  EXPECT_EQ(p.value().Dump(), R"({"city":"Paris"})");  // 1 may still become 14.
  ASSERT_TRUE(p.Feed(R"(4, "tags": ["a", {"b": tr)").ok());
  EXPECT_EQ(p.value().Dump(), R"({"city":"Paris","days":14,"tags":["a",{}]})");
  EXPECT_FALSE(p.complete());
  ASSERT_TRUE(p.Feed("ue}]}\n").ok());
  EXPECT_TRUE(p.complete());
  EXPECT_TRUE(p.Finish().ok());
}

TEST(PartialJsonParser, BadTextFailsWithItsOffset) {
  PartialJsonParser p;
  absl::Status s = p.Feed(R"({"a": tru3})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetByteOffset(s), 6);
  EXPECT_EQ(p.Feed("}").code(), absl::StatusCode::kInvalidArgument);  // Stays failed.
  PartialJsonParser after;
  EXPECT_THAT(std::string(after.Feed("{} x").message()), HasSubstr("content after the value"));
  PartialJsonParser cut;
  ASSERT_TRUE(cut.Feed(R"({"a": [1, 2)").ok());
  EXPECT_THAT(std::string(cut.Finish().message()), HasSubstr("ends early"));
  PartialJsonParser number;
  ASSERT_TRUE(number.Feed("-12.5e1").ok());
  EXPECT_TRUE(number.value().is_null());  // The number may go on...
  ASSERT_TRUE(number.Finish().ok());      // ...until the text ends.
  EXPECT_EQ(number.value().as_double(), -125.0);
  PartialJsonParser deep;
  EXPECT_EQ(deep.Feed(std::string(5000, '[')).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit
