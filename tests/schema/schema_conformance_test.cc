// The official JSON-Schema-Test-Suite (../shared/conformance/json-schema, drafts 2020-12 and
// draft-07): every required test passes except the ones listed in kKnownFailures (each with the
// reason, also in docs/structured.md); the optional format tests are counted with formats
// asserted. Remote references (http://localhost:1234/...) are served from the suite's remotes/
// through the resolver, as SOURCE.txt asks. Skips when ../shared is absent.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/json.h"
#include "llmkit/schema.h"

namespace llmkit {
namespace {

namespace fs = std::filesystem;

// "file/group description/test description" of required tests that fail, with the reason.
// The official meta-schemas are not bundled (a $ref to one needs the caller's resolver, and the
// suite's remotes/ do not hold them); $vocabulary is not read (every vocabulary is on).
const std::set<std::string> kKnownFailures = {
    "draft2020-12:defs/validate definition against metaschema/valid definition schema",
    "draft2020-12:defs/validate definition against metaschema/invalid definition schema",
    "draft2020-12:ref/remote ref, containing refs itself/remote ref valid",
    "draft2020-12:ref/remote ref, containing refs itself/remote ref invalid",
    "draft2020-12:vocabulary/schema that uses custom metaschema with with no validation "
    "vocabulary/no validation: invalid number, but it still validates",
    "draft7:definitions/validate definition against metaschema/valid definition schema",
    "draft7:definitions/validate definition against metaschema/invalid definition schema",
    "draft7:ref/remote ref, containing refs itself/remote ref valid",
    "draft7:ref/remote ref, containing refs itself/remote ref invalid",
};

fs::path SuiteDir() {
  const char* shared = std::getenv("LLMKIT_SHARED_DIR");
  return fs::path(shared != nullptr ? shared : "../shared") / "conformance" / "json-schema";
}

absl::StatusOr<Json> ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(path.string() + " not found");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return Json::Parse(text);
}

struct Counts {
  int passed = 0, total = 0;
  std::vector<std::string> unexpected;  // Failures not in kKnownFailures.
};

Counts RunFolder(const fs::path& folder, const std::string& draft, bool formats,
                 const std::set<std::string>& known) {
  Counts counts;
  const fs::path remotes = SuiteDir() / "remotes";
  SchemaOptions options;
  options.default_draft = draft == "draft7" ? SchemaDraft::kDraft7 : SchemaDraft::kDraft2020_12;
  options.assert_formats = formats;
  options.resolver = [&](std::string_view uri) -> absl::StatusOr<Json> {
    constexpr std::string_view kPrefix = "http://localhost:1234/";
    if (uri.substr(0, kPrefix.size()) != kPrefix) {
      return absl::NotFoundError("only http://localhost:1234/ is served");
    }
    return ReadJson(remotes / std::string(uri.substr(kPrefix.size())));
  };
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    absl::StatusOr<Json> groups = ReadJson(file);
    EXPECT_TRUE(groups.ok()) << file;
    if (!groups.ok()) continue;
    for (const Json& group : groups->as_array()) {
      const std::string prefix =
          file.stem().string() + "/" + group.Find("description")->as_string() + "/";
      absl::StatusOr<JsonSchema> schema = JsonSchema::Compile(*group.Find("schema"), options);
      for (const Json& test : group.Find("tests")->as_array()) {
        const std::string name = prefix + test.Find("description")->as_string();
        ++counts.total;
        const bool expected = test.Find("valid")->as_bool();
        bool ok = false;
        std::string detail;
        if (!schema.ok()) {
          detail = "compile: " + std::string(schema.status().message());
        } else {
          const bool valid = schema->IsValid(*test.Find("data"));
          const bool reported = schema->Validate(*test.Find("data")).empty();
          ok = valid == expected && reported == valid;
          if (!ok) detail = valid == expected ? "IsValid and Validate disagree" : "wrong result";
        }
        if (ok) {
          ++counts.passed;
        } else if (known.count(draft + ":" + name) == 0) {
          counts.unexpected.push_back(name + " (" + detail + ")");
        }
      }
    }
  }
  return counts;
}

class Conformance : public ::testing::TestWithParam<const char*> {};

TEST_P(Conformance, EveryRequiredTestPassesButTheListedOnes) {
  const fs::path folder = SuiteDir() / "tests" / GetParam();
  if (!fs::exists(folder)) GTEST_SKIP() << folder << " absent (../shared beside the checkout)";
  Counts counts = RunFolder(folder, GetParam(), /*formats=*/false, kKnownFailures);
  std::printf("%s: %d of %d required tests pass\n", GetParam(), counts.passed, counts.total);
  for (const std::string& failure : counts.unexpected) ADD_FAILURE() << failure;
  // The floor: at least 1,290 of 1,299 (2020-12) and 920 of 927 (draft-07).
  EXPECT_GE(counts.passed, std::string(GetParam()) == "draft7" ? 920 : 1290);
}

TEST_P(Conformance, OptionalFormatTestsAreCounted) {
  const fs::path folder = SuiteDir() / "tests" / GetParam() / "optional" / "format";
  if (!fs::exists(folder)) GTEST_SKIP() << folder << " absent (../shared beside the checkout)";
  Counts counts = RunFolder(folder, GetParam(), /*formats=*/true, {});
  std::printf("%s optional/format (formats asserted): %d of %d pass\n", GetParam(), counts.passed,
              counts.total);
  for (const std::string& failure : counts.unexpected)
    std::printf("  fails: %s\n", failure.c_str());
  EXPECT_GT(counts.passed, 0);
}

INSTANTIATE_TEST_SUITE_P(Drafts, Conformance, ::testing::Values("draft2020-12", "draft7"));

}  // namespace
}  // namespace llmkit
