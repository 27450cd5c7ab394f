// PromptRegistry: versions from content, labels, promote/rollback, persistence across reopen,
// validation, corrupt files, concurrent readers during writes.

#include "llmkit/prompt_registry.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace llmkit {
namespace {

class PromptRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmkit_prompts_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void Write(const std::string& file, const std::string& content) {
    std::ofstream(dir_ + "/" + file, std::ios::binary) << content;
  }
  std::string dir_;
};

constexpr char kQaV1[] =
    "---\nname: qa\ndescription: Answer from passages\nmodel: gpt-4o-mini\ntemperature: 0.2\n"
    "max_tokens: 512\ninput_variables: question, passages\n---\n"
    "Q: {{ question }}\n{% for p in passages %}- {{ p }}\n{% endfor %}";
constexpr char kQaV2[] =
    "---\nname: qa\ninput_variables: question, passages\n---\n"
    "Answer briefly. Q: {{ question }} ({{ passages | length }} passages)";

TEST_F(PromptRegistryTest, VersionsLabelsPromoteRollbackAndPersistence) {
  Write("qa.prompt", kQaV1);
  absl::StatusOr<std::unique_ptr<PromptRegistry>> reg = PromptRegistry::Open(dir_);
  ASSERT_TRUE(reg.ok()) << reg.status();
  absl::StatusOr<PromptVersion> v1 = (*reg)->Get("qa");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->hash.size(), 64u);
  EXPECT_EQ(v1->id, "1-" + v1->hash.substr(0, 12));
  EXPECT_EQ(v1->description, "Answer from passages");
  EXPECT_EQ(v1->parameters.Find("model")->as_string(), "gpt-4o-mini");
  EXPECT_EQ(v1->parameters.Find("temperature")->as_double(), 0.2);
  EXPECT_EQ(v1->parameters.Find("max_tokens")->as_int(), 512);
  EXPECT_EQ(v1->input_variables, (std::vector<std::string>{"question", "passages"}));
  Json vars = *Json::Parse(R"({"question": "why?", "passages": ["a", "b"]})");
  EXPECT_EQ(*v1->Render(vars), "Q: why?\n- a\n- b\n");
  // Strict: a missing variable is named.
  absl::StatusOr<std::string> missing = v1->Render(*Json::Parse(R"({"question": "q"})"));
  EXPECT_NE(missing.status().message().find("'passages' is undefined"), absl::string_view::npos);

  ASSERT_TRUE((*reg)->Promote("qa", 1, "production").ok());
  // Same content again: no new version.
  EXPECT_TRUE((*reg)->Sync()->empty());
  Write("qa.prompt", kQaV2);
  absl::StatusOr<std::vector<PromptVersion>> added = (*reg)->Sync();
  ASSERT_EQ(added->size(), 1u);
  EXPECT_EQ((*added)[0].version, 2);
  EXPECT_EQ((*reg)->Get("qa", "production")->version, 1);  // labels do not move by themselves
  EXPECT_EQ((*reg)->Get("qa", "latest")->version, 2);
  ASSERT_TRUE((*reg)->Promote("qa", 2, "staging").ok());
  ASSERT_TRUE((*reg)->Promote("qa", 2, "production").ok());
  EXPECT_EQ(*(*reg)->Get("qa", "production")->Render(vars), "Answer briefly. Q: why? (2 passages)");
  // Version 1 is still there, unchanged, though the file now holds version 2.
  EXPECT_EQ(*(*reg)->GetVersion("qa", 1)->Render(vars), "Q: why?\n- a\n- b\n");

  EXPECT_EQ(*(*reg)->Rollback("qa", "production"), 1);
  EXPECT_EQ((*reg)->Get("qa", "production")->version, 1);
  EXPECT_EQ((*reg)->Rollback("qa", "production").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*reg)->Promote("qa", 1, "latest").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*reg)->Promote("qa", 9, "production").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*reg)->Get("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*reg)->Get("qa", "canary").status().code(), absl::StatusCode::kNotFound);

  std::vector<PromptEvent> history = (*reg)->History("qa");
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[3].action, "rollback");
  EXPECT_EQ(history[3].version, 1);

  // Everything survives a reopen, even with the prompt file gone.
  unlink((dir_ + "/qa.prompt").c_str());
  reg->reset();
  absl::StatusOr<std::unique_ptr<PromptRegistry>> again = PromptRegistry::Open(dir_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Get("qa", "production")->version, 1);
  EXPECT_EQ((*again)->Get("qa", "staging")->version, 2);
  EXPECT_EQ((*again)->Versions("qa").size(), 2u);
  EXPECT_EQ((*again)->History().size(), 4u);
  EXPECT_EQ(*(*again)->Get("qa", "staging")->Render(vars), "Answer briefly. Q: why? (2 passages)");
}

TEST_F(PromptRegistryTest, InvalidPromptsAreRecordedButNeverPromoted) {
  Write("broken.prompt", "---\nname: broken\n---\n{% for x in %}");
  Write("undeclared.prompt", "---\ninput_variables: a\n---\n{{ a }} {{ b }}");
  Write("fmt.prompt", "---\nformat: f-string\n---\nTell me about {topic} in {{braces}}");
  absl::StatusOr<std::unique_ptr<PromptRegistry>> reg = PromptRegistry::Open(dir_);
  ASSERT_TRUE(reg.ok()) << reg.status();
  absl::Status s = (*reg)->Promote("broken", 1, "production");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("line 1"), absl::string_view::npos) << s;
  s = (*reg)->Promote("undeclared", 1, "production");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'b'"), absl::string_view::npos) << s;
  EXPECT_EQ((*reg)->Get("broken")->Render(Json::MakeObject()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*reg)->Promote("fmt", 1, "production").ok());
  EXPECT_EQ(*(*reg)->Get("fmt", "production")->Render(*Json::Parse(R"({"topic": "owls"})")),
            "Tell me about owls in {braces}");
  EXPECT_EQ((*reg)->Get("fmt")->input_variables, (std::vector<std::string>{"topic"}));
  Write("bad_header.prompt", "---\nname qa\n---\nbody");
  absl::StatusOr<std::vector<PromptVersion>> sync = (*reg)->Sync();
  EXPECT_EQ(sync.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(sync.status().message().find("bad_header.prompt:2"), absl::string_view::npos)
      << sync.status();
}

TEST_F(PromptRegistryTest, CorruptFilesGiveDataLossNamingTheFile) {
  Write("qa.prompt", kQaV1);
  ASSERT_TRUE(PromptRegistry::Open(dir_).ok());
  const std::string manifest = dir_ + "/.registry/manifest.json";
  std::string text;
  {
    std::ifstream in(manifest);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(manifest, std::ios::trunc) << text.substr(0, text.size() / 2);
  absl::StatusOr<std::unique_ptr<PromptRegistry>> reg = PromptRegistry::Open(dir_);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reg.status().message().find("manifest.json"), absl::string_view::npos);
  std::ofstream(manifest, std::ios::trunc) << text;
  ASSERT_TRUE(PromptRegistry::Open(dir_).ok());
  // Tamper with the stored version.
  absl::StatusOr<std::unique_ptr<PromptRegistry>> ok = PromptRegistry::Open(dir_);
  std::string id = (*ok)->Get("qa")->id;
  std::ofstream(dir_ + "/.registry/versions/qa/" + id + ".prompt", std::ios::app) << "x";
  reg = PromptRegistry::Open(dir_);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(reg.status().message().find(id + ".prompt"), absl::string_view::npos) << reg.status();
  EXPECT_EQ(PromptRegistry::Open(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PromptRegistryTest, ReadersNeverSeeAHalfUpdatedRegistry) {
  Write("qa.prompt", kQaV1);
  absl::StatusOr<std::unique_ptr<PromptRegistry>> reg = PromptRegistry::Open(dir_);
  Write("qa.prompt", kQaV2);
  ASSERT_EQ((*reg)->Sync()->size(), 1u);
  ASSERT_TRUE((*reg)->Promote("qa", 1, "production").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  Json vars = *Json::Parse(R"({"question": "q", "passages": ["p"]})");
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        absl::StatusOr<PromptVersion> p = (*reg)->Get("qa", "production");
        if (!p.ok() || (p->version != 1 && p->version != 2) || !p->Render(vars).ok()) ++bad;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*reg)->Promote("qa", 2, "production").ok());
    ASSERT_TRUE((*reg)->Rollback("qa", "production").ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ((*reg)->Get("qa", "production")->version, 1);
}

}  // namespace
}  // namespace llmkit
