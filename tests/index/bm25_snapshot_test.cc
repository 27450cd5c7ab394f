// Bm25Index::Save / Open: an opened snapshot searches exactly like the index it was saved from
// (ids and scores), takes writes like it, and reports damage as kDataLoss naming the file — at
// Open for the layout, at the first search for the checksum verified in the background.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llmkit/bm25.h"

namespace llmkit {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "llmkit_bm25_snapshot_" + name + "_" + std::to_string(getpid());
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = {
      "file",     "files",  "reading", "read",    "line",      "lines",   "sort",    "sorted",
      "list",     "dict",   "key",     "with",    "statement", "context", "manager", "python",
      "über",     "naïve",  "日本語",  "ΣΊΣΥΦΟΣ", "the",       "and",     "running", "runs",
      "database", "vector", "index",   "search",  "query",     "hybrid",  "lexical", "semantic"};
  return words;
}

std::string Text(std::mt19937& rng, size_t words) {
  std::string out;
  for (size_t i = 0; i < words; ++i) {
    out += Words()[rng() % Words().size()];
    out += i % 7 == 6 ? ". " : " ";
  }
  return out;
}

void ExpectSameSearches(const Bm25Index& a, const Bm25Index& b, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int q = 0; q < 40; ++q) {
    const std::string query = Text(rng, 1 + rng() % 4);
    auto x = a.Search(query, {.k = 15});
    auto y = b.Search(query, {.k = 15});
    ASSERT_TRUE(x.ok() && y.ok()) << x.status() << y.status();
    ASSERT_EQ(x->size(), y->size()) << query;
    for (size_t i = 0; i < x->size(); ++i) {
      EXPECT_EQ((*x)[i].id, (*y)[i].id) << query;
      EXPECT_EQ((*x)[i].score, (*y)[i].score) << query;
    }
  }
  EXPECT_EQ(a.Size(), b.Size());
}

std::unique_ptr<Bm25Index> Built(const Bm25Options& options, size_t n) {
  auto index = Bm25Index::Create(options).value();
  std::mt19937 rng(3);
  std::vector<std::string> ids, texts;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back("doc-" + std::to_string(i));
    texts.push_back(Text(rng, 5 + rng() % 60));
  }
  EXPECT_TRUE(index->Add(ids, texts).ok());
  // Tombstones and a replaced document, below the compaction threshold.
  index->Delete(std::vector<std::string>{"doc-1", "doc-5"});
  EXPECT_TRUE(index->Upsert({"doc-2"}, {"sorted list of files"}).ok());
  return index;
}

TEST(Bm25Snapshot, OpenedSearchesLikeTheOriginal) {
  for (bool stemming : {true, false}) {
    Bm25Options options{.k1 = 1.5, .b = 0.6, .english_stop_words = stemming, .stemming = stemming};
    auto original = Built(options, 800);
    const std::string path = TempPath("roundtrip");
    ASSERT_TRUE(original->Save(path).ok());
    absl::StatusOr<std::unique_ptr<Bm25Index>> opened = Bm25Index::Open(path);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_TRUE((*opened)->Verify().ok()) << (*opened)->Verify();
    EXPECT_EQ((*opened)->options().k1, 1.5);
    EXPECT_EQ((*opened)->options().b, 0.6);
    EXPECT_EQ((*opened)->options().stemming, stemming);
    EXPECT_TRUE((*opened)->Contains("doc-2"));
    EXPECT_FALSE((*opened)->Contains("doc-1"));
    ExpectSameSearches(*original, **opened, 11);
    auto filtered = (*opened)->Search("file", {.k = 5, .filter = [](std::string_view id) {
                                                 return id.size() == 5;  // doc-0 .. doc-9
                                               }});
    ASSERT_TRUE(filtered.ok());
    for (const Bm25Hit& hit : *filtered) EXPECT_EQ(hit.id.size(), 5u) << hit.id;
    // Saving an unchanged snapshot writes the same bytes.
    ASSERT_TRUE((*opened)->Save(path + ".again").ok());
    EXPECT_EQ(Read(path + ".again"), Read(path));
    fs::remove(path);
    fs::remove(path + ".again");
  }
}

TEST(Bm25Snapshot, WritesAfterOpenMatchTheOriginal) {
  auto original = Built({}, 600);
  const std::string path = TempPath("writes");
  ASSERT_TRUE(original->Save(path).ok());
  auto opened = Bm25Index::Open(path).value();
  fs::remove(path);  // The mapping outlives the file, as when a save replaces it.
  std::mt19937 rng(5);
  for (Bm25Index* index : {original.get(), opened.get()}) {
    std::mt19937 same(9);
    ASSERT_TRUE(index->Upsert({"doc-10", "new-1"}, {Text(same, 20), Text(same, 30)}).ok());
    EXPECT_EQ(index->Delete(std::vector<std::string>{"doc-11", "doc-1", "absent"}), 1u);
    EXPECT_EQ(index->Add({"doc-12"}, {"x"}).code(), absl::StatusCode::kAlreadyExists);
  }
  ExpectSameSearches(*original, *opened, 12);
  // Enough deletes to compact, then saved and opened again.
  std::vector<std::string> many;
  for (int i = 100; i < 400; ++i) many.push_back("doc-" + std::to_string(i));
  EXPECT_EQ(original->Delete(many), opened->Delete(many));
  ExpectSameSearches(*original, *opened, 13);
  ASSERT_TRUE(opened->Save(path).ok());
  auto again = Bm25Index::Open(path).value();
  ExpectSameSearches(*original, *again, 14);
  fs::remove(path);
}

TEST(Bm25Snapshot, DamageIsDataLossNamingTheFile) {
  auto original = Built({}, 300);
  const std::string path = TempPath("damage");
  ASSERT_TRUE(original->Save(path).ok());
  const std::string good = Read(path);
  EXPECT_EQ(Bm25Index::Open(path + ".absent").status().code(), absl::StatusCode::kNotFound);
  for (size_t keep : {size_t{0}, size_t{7}, size_t{40}, good.size() / 2, good.size() - 1}) {
    Write(path, good.substr(0, keep));
    absl::Status status = Bm25Index::Open(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << keep;
    EXPECT_NE(status.message().find(path), absl::string_view::npos) << status;
  }
  // A flipped byte anywhere: Open rejects the layout, or the checksum fails the first search,
  // every write and Save.
  size_t caught_later = 0;
  for (size_t at = 8; at < good.size(); at += good.size() / 23) {
    std::string damaged = good;
    damaged[at] ^= 0x04;
    Write(path, damaged);
    absl::StatusOr<std::unique_ptr<Bm25Index>> opened = Bm25Index::Open(path);
    absl::Status status = opened.status();
    if (opened.ok()) {
      ++caught_later;
      status = (*opened)->Search("file lines", {.k = 3}).status();
      EXPECT_EQ((*opened)->Verify(), status);
      EXPECT_EQ((*opened)->Upsert({"more"}, {"text"}).code(), absl::StatusCode::kDataLoss);
      EXPECT_EQ((*opened)->Save(path + ".copy").code(), absl::StatusCode::kDataLoss);
      EXPECT_FALSE((*opened)->Contains("doc-0"));
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << at;
    EXPECT_NE(status.message().find(path), absl::string_view::npos) << status;
  }
  EXPECT_GT(caught_later, 5u);
  std::string other_version = good;
  other_version[4] = 9;
  Write(path, other_version);
  EXPECT_EQ(Bm25Index::Open(path).status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove(path);
}

}  // namespace
}  // namespace llmkit
