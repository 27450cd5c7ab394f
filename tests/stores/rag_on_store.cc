// The RAG pipeline on a remote store, compared with the same pipeline on the local store.

#include "stores/rag_on_store.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/rag.h"

namespace llmkit::testing {
namespace {

std::vector<RagDocument> Documents() {
  const char* topics[][2] = {
      {"solar", "Photovoltaic panels turn sunlight into electricity; inverters feed the grid."},
      {"wind", "Wind turbines spin generators; offshore farms see steadier wind than on land."},
      {"hydro", "Dams store water and release it through turbines when demand peaks."},
      {"nuclear", "Fission heats water into steam; reactors run for eighteen months per load."},
      {"tidal", "Tidal barrages use the height difference between high and low tide."},
      {"geothermal", "Wells tap hot rock; Iceland heats most homes with geothermal water."},
  };
  std::vector<RagDocument> docs;
  for (const auto& [name, text] : topics) {
    RagDocument d;
    d.id = std::string(name) + ".md";
    d.path = "docs/" + d.id;
    d.text = "# " + std::string(name) + "\n\n";
    for (int p = 0; p < 8; ++p) {
      d.text += std::string(text) + " Paragraph " + std::to_string(p) + " about " + name +
                " power and its costs.\n\n";
    }
    d.metadata = Json::Parse(R"({"topic": ")" + std::string(name) + R"("})").value();
    docs.push_back(std::move(d));
  }
  return docs;
}

RagOptions Options() {
  RagOptions o;
  o.local_embedder.dimensions = 256;
  o.float16 = false;  // The local side in float32, as the remote stores hold vectors.
  o.chunk_size = 300;
  o.chunk_overlap = 30;
  return o;
}

std::vector<std::string> Passages(const RagPipeline& rag, const std::string& question,
                                  const Json& where = Json()) {
  absl::StatusOr<std::vector<RagPassage>> passages = rag.Retrieve(question, 4, where);
  EXPECT_TRUE(passages.ok()) << passages.status();
  std::vector<std::string> out;
  if (passages.ok()) {
    for (const RagPassage& p : *passages) out.push_back(p.doc_id + "@" + std::to_string(p.begin));
  }
  return out;
}

}  // namespace

void CheckRagPipelineOnStore(const std::function<std::shared_ptr<VectorStore>()>& open) {
  const std::vector<RagDocument> docs = Documents();
  auto local = RagPipeline::Create(Options());
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_TRUE((*local)->Ingest(docs).ok());

  RagOptions remote_options = Options();
  remote_options.store = open();
  auto remote = RagPipeline::Create(remote_options);
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto progress = (*remote)->Ingest(docs);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(*remote_options.store->Count(), (*local)->Stats().chunks);
  const std::vector<std::string> questions = {"offshore wind farms", "Iceland geothermal homes",
                                              "reactor fuel load months", "tide height barrage"};
  for (const std::string& q : questions) {
    EXPECT_EQ(Passages(**remote, q), Passages(**local, q)) << q;
  }
  Json where = Json::Parse(R"({"topic": {"$in": ["solar", "hydro"]}})").value();
  EXPECT_EQ(Passages(**remote, "turbines", where), Passages(**local, "turbines", where));

  // Another process: a pipeline on the store alone rebuilds the lexical side and the document
  // table from the chunks, so unchanged documents are skipped and answers match.
  RagOptions second_options = Options();
  second_options.store = open();
  auto second = RagPipeline::Create(second_options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->Stats().documents, docs.size());
  for (const std::string& q : questions) {
    EXPECT_EQ(Passages(**second, q), Passages(**local, q)) << q;
  }
  auto again = (*second)->Ingest(docs);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->documents_unchanged, docs.size());
  EXPECT_EQ(again->chunks_embedded, 0u);

  // Save writes the settings only and names the store; Load needs it.
  std::string dir =
      std::filesystem::temp_directory_path() / ("llmkit-rag-store-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_TRUE((*second)->Save(dir).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/collection"));
  EXPECT_EQ(RagPipeline::Load(dir).status().code(), absl::StatusCode::kFailedPrecondition);
  RagModels models;
  models.store = open();
  auto loaded = RagPipeline::Load(dir, models);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Passages(**loaded, questions[0]), Passages(**local, questions[0]));
  std::filesystem::remove_all(dir);

  // Remove reaches the store; a changed document replaces its chunks there.
  const size_t before = *models.store->Count();
  auto removed = (*loaded)->Remove({"tidal.md"});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1u);
  EXPECT_LT(*models.store->Count(), before);
  std::vector<RagDocument> changed = {docs[0]};
  changed[0].text += "Perovskite cells are the newest kind.\n";
  auto updated = (*loaded)->Ingest(changed);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->documents_unchanged, 0u);
  auto found = (*loaded)->Retrieve("perovskite cells", 1);
  ASSERT_TRUE(found.ok() && !found->empty());
  EXPECT_EQ((*found)[0].doc_id, "solar.md");
}

}  // namespace llmkit::testing
