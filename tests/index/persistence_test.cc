// Collection::Save / Load: round trips for every index kind, kDataLoss naming the file for
// truncation and corruption, and a save killed at random moments leaving a loadable collection.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/index.h"

namespace llmkit {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  std::string dir =
      ::testing::TempDir() + "llmkit_persistence_" + name + "_" + std::to_string(getpid());
  fs::remove_all(dir);
  return dir;
}

std::vector<float> Random(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centers(8 * dim);
  for (float& c : centers) c = normal(rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    size_t c = rng() % 8;
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = centers[c * dim + j] + 0.3f * normal(rng);
  }
  return out;
}

std::unique_ptr<Collection> Filled(IndexKind kind, size_t n, size_t dim, bool float16 = false) {
  CollectionOptions o;
  o.dim = static_cast<int>(dim);
  o.index = kind;
  o.float16 = float16;
  o.ivf_nlist = 8;
  o.ivf_nprobe = 8;
  auto col = Collection::Create(o).value();
  std::vector<float> v = Random(n, dim, 42);
  std::vector<std::string> ids, texts;
  std::vector<Json> metas;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back("id-" + std::to_string(i));
    texts.push_back("text ünïcode " + std::to_string(i));
    Json m = Json::MakeObject();
    m.Set("i", static_cast<int64_t>(i));
    m.Set("tag", i % 2 ? "odd" : "even");
    metas.push_back(m);
  }
  EXPECT_TRUE(col->Add(ids, v, texts, metas).ok());
  std::vector<std::string> gone = {"id-3", "id-4"};
  EXPECT_TRUE(col->Delete(gone).ok());
  return col;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string FileWithRole(const std::string& dir, const std::string& role) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename();
    if (name.rfind(role + "-", 0) == 0) return entry.path();
  }
  return "";
}

TEST(Persistence, RoundTripForEveryKind) {
  const size_t n = 1200, dim = 24;
  std::vector<float> queries = Random(10, dim, 7);
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    for (bool f16 : {false, true}) {
      if (f16 && kind != IndexKind::kFlat) continue;
      auto col = Filled(kind, n, dim, f16);
      std::string dir = TempDir("roundtrip");
      ASSERT_TRUE(col->Save(dir).ok());
      absl::StatusOr<std::unique_ptr<Collection>> loaded = Collection::Load(dir);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_EQ((*loaded)->Size(), n - 2);
      EXPECT_FALSE((*loaded)->Contains("id-3"));
      EXPECT_EQ((*loaded)->Get("id-7")->text, "text ünïcode 7");
      EXPECT_EQ((*loaded)->Get("id-7")->metadata.Dump(), R"({"i":7,"tag":"odd"})");
      EXPECT_EQ((*loaded)->options().index, kind);
      Json where = Json::Parse(R"({"tag": "odd"})").value();
      for (size_t q = 0; q < 10; ++q) {
        auto span = absl::MakeSpan(&queries[q * dim], dim);
        auto a = col->Search(span, {.k = 10, .where = q % 2 ? where : Json()});
        auto b = (*loaded)->Search(span, {.k = 10, .where = q % 2 ? where : Json()});
        ASSERT_TRUE(a.ok() && b.ok());
        ASSERT_EQ(a->size(), b->size());
        for (size_t i = 0; i < a->size(); ++i) {
          EXPECT_EQ((*a)[i].id, (*b)[i].id);
          EXPECT_EQ((*a)[i].score, (*b)[i].score);
        }
      }
      // The loaded collection keeps taking writes (HNSW graph and IVF lists restored).
      std::vector<std::string> ids = {"new"};
      std::vector<float> v(dim, 1.0f);
      ASSERT_TRUE((*loaded)->Add(ids, v).ok());
      EXPECT_EQ((*loaded)->Search(v, {.k = 1})->at(0).id, "new");
      // Saving again replaces the previous generation's files.
      ASSERT_TRUE((*loaded)->Save(dir).ok());
      size_t files = 0;
      for (const auto& entry : fs::directory_iterator(dir)) {
        files += entry.path().filename() != "MANIFEST" && entry.path().filename() != "LOCK";
      }
      EXPECT_EQ(files, kind == IndexKind::kFlat ? 2u : 3u);
      EXPECT_EQ(Collection::Load(dir).value()->Size(), n - 1);
      fs::remove_all(dir);
    }
  }
}

TEST(Persistence, DamageIsDataLossNamingTheFile) {
  auto col = Filled(IndexKind::kHnsw, 500, 16);
  std::string dir = TempDir("damage");
  ASSERT_TRUE(col->Save(dir).ok());
  EXPECT_EQ(Collection::Load(dir + "/nothing").status().code(), absl::StatusCode::kNotFound);
  for (std::string role : {"documents", "vectors", "index"}) {
    std::string path = FileWithRole(dir, role);
    std::string name = fs::path(path).filename();
    std::string good = Read(path);
    // Truncated.
    for (size_t keep : {size_t{0}, size_t{5}, good.size() / 2, good.size() - 1}) {
      Write(path, good.substr(0, keep));
      absl::Status status = Collection::Load(dir).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << role << " " << keep;
      EXPECT_NE(status.message().find(name), absl::string_view::npos) << status;
    }
    // One flipped byte: the checksum catches it.
    std::string flipped = good;
    flipped[flipped.size() / 3] ^= 0x20;
    Write(path, flipped);
    absl::Status status = Collection::Load(dir).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(status.message().find(name), absl::string_view::npos) << status;
    EXPECT_NE(status.message().find("checksum"), absl::string_view::npos) << status;
    // Missing.
    fs::remove(path);
    EXPECT_EQ(Collection::Load(dir).status().code(), absl::StatusCode::kDataLoss);
    Write(path, good);
    ASSERT_TRUE(Collection::Load(dir).ok());
  }
  std::string manifest = Read(dir + "/MANIFEST");
  for (size_t keep : {size_t{0}, size_t{10}, manifest.size() / 2}) {
    Write(dir + "/MANIFEST", manifest.substr(0, keep));
    absl::Status status = Collection::Load(dir).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(status.message().find("MANIFEST"), absl::string_view::npos) << status;
  }
  std::string newer = manifest;
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 9");
  Write(dir + "/MANIFEST", newer);
  EXPECT_EQ(Collection::Load(dir).status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

// Kill a child process at random moments during Save over an existing save: every time, Load
// returns either the old collection or the new one, complete.
TEST(Persistence, CrashDuringSaveLeavesAPreviousVersion) {
  std::string dir = TempDir("crash");
  auto old_col = Filled(IndexKind::kHnsw, 2000, 32);
  ASSERT_TRUE(old_col->Save(dir).ok());
  auto new_col = Filled(IndexKind::kHnsw, 6000, 32);
  std::mt19937 rng(1);
  int saw_old = 0, saw_new = 0;
  for (int round = 0; round < 12; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      absl::Status status = new_col->Save(dir);
      _exit(status.ok() ? 0 : 1);
    }
    usleep(rng() % 60000);
    kill(child, SIGKILL);
    int wstatus;
    waitpid(child, &wstatus, 0);
    absl::StatusOr<std::unique_ptr<Collection>> loaded = Collection::Load(dir);
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.status();
    size_t size = (*loaded)->Size();
    ASSERT_TRUE(size == 1998 || size == 5998) << size;
    (size == 1998 ? saw_old : saw_new)++;
    if (size == 5998) {
      ASSERT_TRUE(old_col->Save(dir).ok());  // Back to the old one.
    }
  }
  EXPECT_GT(saw_old, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace llmkit
