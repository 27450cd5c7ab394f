// The latent model's term table (src/rag/latent_terms.h): lookups as stored (float16-rounded),
// save and open, bad input to Make, and damaged files: a malformed layout, a changed head or
// terms out of order are refused by Open, a changed row when it is read and by Save; nothing
// reads out of bounds.

#include "rag/latent_terms.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "common/float16.h"

namespace llmkit::internal {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 70;  // Not a multiple of the 64-value conversion block.

std::vector<std::string> Names() { return {"wheel", "automobile", "oven", "bread", "é"}; }

std::vector<float> Rows(size_t n) {
  std::vector<float> rows(n * kDim);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = 0.001f * static_cast<float>(i % 997) - 0.3f;
  return rows;
}

std::string Bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/llmkit_latent_terms_XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

// Each name's vector as stored: the float16 rounding of its row, added with the weight.
void ExpectRows(const LatentTerms& table, const std::vector<std::string>& names,
                const std::vector<float>& rows) {
  for (size_t i = 0; i < names.size(); ++i) {
    std::vector<double> sum(kDim, 1.0);
    ASSERT_TRUE(table.AddTo(names[i], 2.0, sum.data()).value()) << names[i];
    for (int j = 0; j < kDim; ++j) {
      EXPECT_EQ(sum[j], 1.0 + 2.0 * HalfToFloat(FloatToHalf(rows[i * kDim + j])))
          << names[i] << " " << j;
    }
  }
}

// The bytes the trailing digest covers (latent_terms.h): the 24-byte header, the terms (n + 1
// offsets and their text, padded to 8) and the row checksums (padded to 8).
size_t HeadSize(std::string_view file) {
  uint64_t n, text;
  std::memcpy(&n, file.data() + 16, 8);
  std::memcpy(&text, file.data() + 24 + 8 * n, 8);
  auto padded = [](size_t size) { return (size + 7) / 8 * 8; };
  return 24 + 8 * (n + 1) + padded(text) + padded(4 * n);
}

TEST(LatentTerms, FindsEachTermAndOnlyThem) {
  const std::vector<std::string> names = Names();
  const std::vector<float> rows = Rows(names.size());
  auto table = LatentTerms::Make(names, rows, kDim);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->size(), names.size());
  EXPECT_EQ((*table)->dim(), kDim);
  EXPECT_EQ((*table)->digest().size(), 8u);
  ExpectRows(**table, names, rows);
  std::vector<double> sum(kDim, 0.0);
  for (const char* unknown : {"", "a", "automobiles", "autom", "zzz", "\xff"}) {
    EXPECT_FALSE((*table)->AddTo(unknown, 1.0, sum.data()).value()) << unknown;
  }
  for (double x : sum) EXPECT_EQ(x, 0.0);
}

TEST(LatentTerms, MakeRefusesBadInput) {
  const std::vector<float> rows = Rows(2);
  EXPECT_EQ(LatentTerms::Make({"a", "a"}, rows, kDim).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LatentTerms::Make({"a", ""}, rows, kDim).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LatentTerms::Make({"a", "b"}, rows, kDim + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LatentTerms::Make({"a", "b"}, {}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto empty = LatentTerms::Make({}, {}, kDim);
  ASSERT_TRUE(empty.ok()) << empty.status();
  std::vector<double> sum(kDim, 0.0);
  EXPECT_FALSE((*empty)->AddTo("a", 1.0, sum.data()).value());
}

TEST(LatentTerms, SavedAndOpenedFindsTheSameVectors) {
  TempDir dir;
  const std::vector<std::string> names = Names();
  const std::vector<float> rows = Rows(names.size());
  auto made = LatentTerms::Make(names, rows, kDim).value();
  const std::string path = dir.path + "/terms.lkt";
  ASSERT_TRUE(made->Save(path).ok());
  auto opened = LatentTerms::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->digest(), made->digest());
  ExpectRows(**opened, names, rows);
  // Saving where it was opened from writes nothing; elsewhere, the same bytes.
  const auto written = fs::last_write_time(path);
  ASSERT_TRUE((*opened)->Save(path).ok());
  EXPECT_EQ(fs::last_write_time(path), written);
  ASSERT_TRUE((*opened)->Save(dir.path + "/copy.lkt").ok());
  EXPECT_EQ(Bytes(dir.path + "/copy.lkt"), Bytes(path));
  EXPECT_EQ(LatentTerms::Open(dir.path + "/none.lkt").status().code(), absl::StatusCode::kNotFound);
}

TEST(LatentTerms, DamageIsFoundNeverRead) {
  const std::vector<std::string> names = Names();
  const std::vector<float> rows = Rows(names.size());
  TempDir dir;
  auto made = LatentTerms::Make(names, rows, kDim).value();
  ASSERT_TRUE(made->Save(dir.path + "/t.lkt").ok());
  const std::string good = Bytes(dir.path + "/t.lkt");
  ASSERT_TRUE(LatentTerms::FromBytes(good).ok());

  // Every truncation, and a later version: refused when opened.
  for (size_t size = 0; size < good.size(); ++size) {
    EXPECT_FALSE(LatentTerms::FromBytes(good.substr(0, size)).ok()) << size;
  }
  std::string later = good;
  later[4] = 2;
  EXPECT_EQ(LatentTerms::FromBytes(later).status().code(), absl::StatusCode::kInvalidArgument);

  // Any changed byte: an error when opened (the header, terms and row checksums) or when its
  // row is read (kDataLoss, naming the file), and always from Save, which reads every row.
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x5A);
    auto table = LatentTerms::FromBytes(bad);
    absl::Status found = table.status();
    if (table.ok()) {
      std::vector<double> sum(kDim, 0.0);
      for (const std::string& name : names) {
        absl::StatusOr<bool> added = (*table)->AddTo(name, 1.0, sum.data());
        if (!added.ok()) found = added.status();
      }
      EXPECT_EQ((*table)->Save(dir.path + "/bad.lkt").code(), absl::StatusCode::kDataLoss) << at;
    }
    EXPECT_FALSE(found.ok()) << at;
    if (found.code() == absl::StatusCode::kDataLoss) {
      EXPECT_NE(found.message().find("latent terms (memory)"), std::string::npos) << found;
    }
  }
  EXPECT_FALSE(fs::exists(dir.path + "/bad.lkt"));

  // Terms out of order under a valid checksum: found by Verify.
  std::string swapped = good;
  const size_t a = swapped.find("automobile"), b = swapped.find("bread");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  swapped[a] = 'c';  // "cutomobile" > "bread": out of order, same lengths.
  const size_t head = HeadSize(swapped);
  swapped.replace(swapped.size() - 8, 8, Crc32cHex(std::string_view(swapped).substr(0, head)));
  absl::Status unordered = LatentTerms::FromBytes(swapped).status();
  EXPECT_EQ(unordered.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(unordered.message().find("out of order"), std::string::npos) << unordered;
}

}  // namespace
}  // namespace llmkit::internal
