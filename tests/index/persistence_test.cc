// Collection::Save / Load: round trips for every index kind, reading in place with copy on
// write, version 1 files, kDataLoss naming the file for truncation and corruption (at Load or,
// for checksums verified in the background, at the first read), and a save killed at random
// moments leaving a loadable collection.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/byte_io.h"
#include "common/sha256.h"
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

// Load, then what a caller does first: the verification and a search.
absl::Status LoadAndSearch(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Collection>> loaded = Collection::Load(dir);
  if (!loaded.ok()) return loaded.status();
  std::vector<float> query((*loaded)->dim(), 1.0f);
  absl::Status searched = (*loaded)->Search(query, {.k = 3}).status();
  absl::Status verified = (*loaded)->Verify();
  EXPECT_EQ(searched.code(), verified.code()) << searched << " vs " << verified;
  return verified;
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
    // One flipped byte in the contents: Load reads in place and returns; the checksum, verified
    // meanwhile, fails every read that would return documents, and every write.
    // (Some positions hold structure, which Load checks: take the first that does not.)
    absl::StatusOr<std::unique_ptr<Collection>> opened;
    std::vector<size_t> positions = {good.size() / 2, good.size() * 2 / 3, good.size() - 9};
    // An HNSW file is mostly graph links; the vectors' bytes are somewhere among them.
    for (size_t at = good.size() / 3; at + 9 < good.size(); at += 97) positions.push_back(at);
    for (size_t at : positions) {
      std::string flipped = good;
      flipped[at] ^= 0x20;
      Write(path, flipped);
      opened = Collection::Load(dir);
      if (opened.ok()) break;
    }
    ASSERT_TRUE(opened.ok()) << role << ": " << opened.status();
    absl::Status status = (*opened)->Verify();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(status.message().find(name), absl::string_view::npos) << status;
    EXPECT_NE(status.message().find("checksum"), absl::string_view::npos) << status;
    std::vector<float> query(16, 1.0f);
    EXPECT_EQ((*opened)->Search(query, {.k = 3}).status(), status);
    EXPECT_EQ((*opened)->Get("id-7").status(), status);
    EXPECT_EQ((*opened)->ListIds().status(), status);
    EXPECT_FALSE((*opened)->Contains("id-7"));
    EXPECT_TRUE((*opened)->Ids().empty());
    std::vector<std::string> more = {"more"};
    EXPECT_EQ((*opened)->Add(more, query).code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ((*opened)->Save(dir + "/../resaved").code(), absl::StatusCode::kDataLoss);
    opened->reset();
    // Anywhere: Load fails on the structure or a read on the checksum.
    for (size_t at : {size_t{3}, good.size() / 3, good.size() / 2}) {
      std::string damaged = good;
      damaged[at] ^= 0x20;
      Write(path, damaged);
      status = LoadAndSearch(dir);
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << role << " " << at;
      EXPECT_NE(status.message().find(name), absl::string_view::npos) << status;
    }
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
  newer.replace(newer.find("\"version\": 2"), 12, "\"version\": 9");
  Write(dir + "/MANIFEST", newer);
  EXPECT_EQ(Collection::Load(dir).status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

// A loaded collection answers from its mapped files; writes copy them into memory first and
// leave the files (and other collections mapping them) as they were.
TEST(Persistence, ReadsInPlaceAndCopiesOnWrite) {
  for (bool f16 : {false, true}) {
    auto col = Filled(IndexKind::kFlat, 300, 8, f16);
    std::string dir = TempDir("in_place");
    ASSERT_TRUE(col->Save(dir).ok());
    const std::string state = col->SavedState();
    EXPECT_EQ(state.size(), 64u);
    auto a = Collection::Load(dir).value();
    auto b = Collection::Load(dir).value();
    EXPECT_EQ(a->SavedState(), state);
    ASSERT_TRUE(a->Verify().ok());
    std::vector<float> v(8, 0.25f);
    std::vector<std::string> ids = {"id-7", "fresh"};
    std::vector<float> rows = v;
    rows.insert(rows.end(), v.begin(), v.end());
    std::vector<std::string> texts = {"replaced", "new"};
    ASSERT_TRUE(a->Upsert(ids, rows, texts).ok());
    ASSERT_TRUE(a->Delete(std::vector<std::string>{"id-8"}).ok());
    EXPECT_EQ(a->Get("id-7")->text, "replaced");
    EXPECT_TRUE(a->Get("id-7")->metadata.is_null());
    EXPECT_FALSE(a->Contains("id-8"));
    EXPECT_EQ(a->Get("id-9")->metadata.Dump(), R"({"i":9,"tag":"odd"})");
    // b still reads the files as saved.
    EXPECT_EQ(b->Get("id-7")->text, "text ünïcode 7");
    EXPECT_TRUE(b->Contains("id-8"));
    EXPECT_EQ(b->Search(v, {.k = 1, .where = Json::Parse(R"({"i": 9})").value()})->at(0).id,
              "id-9");
    ASSERT_TRUE(a->Compact().ok());
    EXPECT_EQ(a->Size(), 298u);
    EXPECT_EQ(a->Get("id-9")->metadata.Dump(), R"({"i":9,"tag":"odd"})");
    ASSERT_TRUE(a->Save(dir).ok());
    EXPECT_NE(a->SavedState(), state);
    EXPECT_EQ(Collection::Load(dir).value()->Get("fresh")->text, "new");
    EXPECT_EQ(b->Get("id-7")->text, "text ünïcode 7");  // Its files were replaced, not changed.
    fs::remove_all(dir);
  }
}

// Collections saved before version 2 (records one after another, unaligned vectors, SHA-256
// checksums) still load.
TEST(Persistence, LoadsVersionOneFiles) {
  using internal::PutU32;
  using internal::PutU64;
  using internal::PutU8;
  std::string documents, vectors;
  PutU32(&documents, 0x31444b4c);  // "LKD1"
  PutU64(&documents, 3);
  const std::string metas[] = {R"({"n":0})", "", R"({"n":2})"};
  for (int i = 0; i < 3; ++i) {
    PutU8(&documents, i == 1 ? 0 : 1);  // Slot 1 is a tombstone.
    for (const std::string& s : {"v1-" + std::to_string(i), "text " + std::to_string(i)}) {
      PutU32(&documents, static_cast<uint32_t>(s.size()));
      documents += s;
    }
    PutU32(&documents, static_cast<uint32_t>(metas[i].size()));
    documents += metas[i];
  }
  PutU32(&vectors, 0x31564b4c);  // "LKV1"
  PutU64(&vectors, 3);
  PutU32(&vectors, 2);
  PutU8(&vectors, 0);
  for (float x : {1.0f, 0.0f, 0.0f, 1.0f, 0.6f, 0.8f}) {
    vectors.append(reinterpret_cast<const char*>(&x), 4);
  }
  std::string dir = TempDir("version1");
  fs::create_directories(dir);
  Write(dir + "/documents-1.bin", documents);
  Write(dir + "/vectors-1.bin", vectors);
  std::string manifest = R"({"format": "llmkit.collection", "version": 1, "generation": 1,
    "options": {"dim": 2, "metric": "cosine", "index": "flat", "float16": false, "hnsw_m": 16,
      "hnsw_ef_construction": 200, "hnsw_ef_search": 64, "ivf_nlist": 100, "ivf_nprobe": 8,
      "ivf_train_size": 0, "compact_deleted_fraction": 0.25},
    "slots": 3, "documents": 2, "files": [)";
  manifest += R"({"role": "documents", "name": "documents-1.bin", "bytes": )" +
              std::to_string(documents.size()) + R"(, "sha256": ")" +
              internal::Sha256Hex(documents) + R"("}, )";
  manifest += R"({"role": "vectors", "name": "vectors-1.bin", "bytes": )" +
              std::to_string(vectors.size()) + R"(, "sha256": ")" + internal::Sha256Hex(vectors) +
              R"("}]})";
  Write(dir + "/MANIFEST", manifest);
  absl::StatusOr<std::unique_ptr<Collection>> loaded = Collection::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE((*loaded)->Verify().ok()) << (*loaded)->Verify();
  EXPECT_EQ((*loaded)->Size(), 2u);
  EXPECT_EQ((*loaded)->Get("v1-2")->text, "text 2");
  EXPECT_EQ((*loaded)->Get("v1-2")->metadata.Dump(), R"({"n":2})");
  std::vector<float> query = {0.6f, 0.8f};
  EXPECT_EQ((*loaded)->Search(query, {.k = 1})->at(0).id, "v1-2");
  // Damage is caught by the SHA-256 these files carry.
  vectors[vectors.size() - 1] ^= 0x01;
  Write(dir + "/vectors-1.bin", vectors);
  EXPECT_EQ(LoadAndSearch(dir).code(), absl::StatusCode::kDataLoss);
  fs::remove_all(dir);
}

// Searches right after Load, on several threads, wait for the verification together.
TEST(Persistence, ConcurrentReadsRightAfterLoad) {
  auto col = Filled(IndexKind::kFlat, 3000, 32);
  std::string dir = TempDir("concurrent");
  ASSERT_TRUE(col->Save(dir).ok());
  for (int round = 0; round < 3; ++round) {
    auto loaded = Collection::Load(dir).value();
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::vector<float> query = Random(1, 32, 100 + t);
        ok +=
            loaded->Search(query, {.k = 5, .where = Json::Parse(R"({"tag": "odd"})").value()}).ok();
        ok += loaded->Get("id-" + std::to_string(t + 10)).ok();
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(ok.load(), 8);
  }
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
