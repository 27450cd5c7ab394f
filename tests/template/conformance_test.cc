// Renders every case of ../shared/conformance/templates (53 real chat templates, 142 syntax
// cases) and compares with Jinja2's output byte for byte, from a Json context and from the same
// variables built as TemplateValues (twice with one TemplateValues: a render undoes its changes).

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "llmkit/json.h"
#include "llmkit/template.h"

namespace llmkit {
namespace {

std::string SharedDir() {
  const char* dir = std::getenv("LLMKIT_SHARED_DIR");
  return dir == nullptr ? "../shared" : dir;
}

std::vector<Json> ReadCases(const std::string& file) {
  std::vector<Json> cases;
  std::ifstream in(SharedDir() + "/conformance/templates/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    absl::StatusOr<Json> c = Json::Parse(line);
    if (c.ok()) cases.push_back(*std::move(c));
  }
  return cases;
}

// The fixed time the conformance files were rendered at (strftime_now).
absl::Time FixedNow() {
  return absl::FromCivil(absl::CivilSecond(2025, 7, 10, 12, 0, 0), absl::LocalTimeZone());
}

TemplateOptions OptionsOf(const Json& c) {
  TemplateOptions options;
  if (const Json* o = c.Find("options")) {
    auto flag = [&](const char* name) {
      const Json* v = o->Find(name);
      return v != nullptr && v->is_bool() && v->as_bool();
    };
    options.trim_blocks = flag("trim_blocks");
    options.lstrip_blocks = flag("lstrip_blocks");
    options.keep_trailing_newline = flag("keep_trailing_newline");
  }
  options.now = FixedNow;
  return options;
}

// `j` built into `values` as a host would build it from its own data.
void Build(const Json& j, TemplateValues& values) {
  switch (j.type()) {
    case Json::Type::kNull:
      return values.Null();
    case Json::Type::kBool:
      return values.Bool(j.as_bool());
    case Json::Type::kInt:
      return values.Int(j.as_int());
    case Json::Type::kDouble:
      return values.Double(j.as_double());
    case Json::Type::kString:
      return values.String(j.as_string());
    case Json::Type::kArray:
      values.BeginArray();
      for (const Json& item : j.as_array()) Build(item, values);
      return values.End();
    case Json::Type::kObject:
      values.BeginObject();
      for (const auto& [key, member] : j.as_object()) {
        values.Key(key);
        Build(member, values);
      }
      return values.End();
  }
}

void RunAll(const std::string& file, size_t expected_count) {
  std::vector<Json> cases = ReadCases(file);
  if (cases.empty())
    GTEST_SKIP() << "no " << file << " under " << SharedDir() << " (../shared absent)";
  EXPECT_EQ(cases.size(), expected_count);
  int passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Json& c = cases[i];
    std::string name = c.Find("name") ? c.Find("name")->as_string() : "#" + std::to_string(i);
    absl::StatusOr<Template> t = Template::Compile(c.Find("template")->as_string(), OptionsOf(c));
    if (!t.ok()) {
      ADD_FAILURE() << name << ": compile: " << t.status() << "\n"
                    << c.Find("template")->as_string();
      continue;
    }
    absl::StatusOr<std::string> out = t->Render(*c.Find("context"));
    if (!out.ok()) {
      ADD_FAILURE() << name << ": render: " << out.status() << "\n"
                    << c.Find("template")->as_string();
      continue;
    }
    const std::string& expected = c.Find("expected")->as_string();
    if (*out != expected) {
      size_t at = 0;
      while (at < out->size() && at < expected.size() && (*out)[at] == expected[at]) ++at;
      ADD_FAILURE() << name << ": differs at byte " << at << "\n--- template\n"
                    << c.Find("template")->as_string().substr(0, 600) << "\n--- expected near\n"
                    << expected.substr(at > 80 ? at - 80 : 0, 200) << "\n--- got near\n"
                    << out->substr(at > 80 ? at - 80 : 0, 200);
      continue;
    }
    TemplateValues values;
    Build(*c.Find("context"), values);
    for (int round = 0; round < 2; ++round) {
      absl::StatusOr<std::string> again = t->Render(values);
      EXPECT_TRUE(again.ok() && *again == expected)
          << name << ": from TemplateValues (render " << round + 1
          << "): " << (again.ok() ? again->substr(0, 300) : again.status().ToString());
    }
    ++passed;
  }
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
  std::printf("%s: %d/%zu byte-identical\n", file.c_str(), passed, cases.size());
}

TEST(TemplateConformance, SyntaxCases) { RunAll("syntax.jsonl", 142); }
TEST(TemplateConformance, ChatTemplates) { RunAll("chat_templates.jsonl", 53); }

}  // namespace
}  // namespace llmkit
