// The primitives of llmkit's persisted indexes: CRC-32C (RFC 3720's check values, and the
// CRC32-instruction path against the portable one), files mapped read-only, and checks run on
// another thread.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "common/shared_bytes.h"
#include "gtest/gtest.h"

namespace llmkit::internal {
namespace {

TEST(Crc32c, MatchesRfc3720CheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(ascending), 0x46dd794eu);
  EXPECT_EQ(Crc32c(descending), 0x113fdb5cu);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32cHex("123456789"), "e3069283");
}

TEST(Crc32c, InstructionPathEqualsPortableAndContinues) {
  std::mt19937 rng(7);
  // Around the three-stream blocks of 3 x 4096 bytes too.
  for (size_t size : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 12287, 12288, 12289, 12296, 24576, 24583,
                      100003, 1000001}) {
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(Crc32c(data), Crc32cPortable(data)) << size;
    const size_t cut = size / 3;
    EXPECT_EQ(Crc32c(std::string_view(data).substr(cut), Crc32c(data.substr(0, cut))), Crc32c(data))
        << size;
    // Any one flipped bit changes it.
    if (size > 0) {
      std::string flipped = data;
      flipped[rng() % size] ^= static_cast<char>(1 << (rng() % 8));
      EXPECT_NE(Crc32c(flipped), Crc32c(data));
    }
  }
}

std::string TempFile(const std::string& name, const std::string& bytes) {
  std::string path = ::testing::TempDir() + "llmkit_files_" + name + std::to_string(getpid());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

TEST(SharedBytes, MapsFilesAndOutlivesTheirRemoval) {
  const std::string content = "mapped bytes\n" + std::string(10000, 'x');
  const std::string path = TempFile("map", content);
  absl::StatusOr<std::shared_ptr<const SharedBytes>> mapped = SharedBytes::Map(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  std::filesystem::remove(path);  // As a save replacing the file does: the mapping stays.
  EXPECT_EQ((*mapped)->view(), content);

  const std::string empty = TempFile("empty", "");
  absl::StatusOr<std::shared_ptr<const SharedBytes>> none = SharedBytes::Map(empty);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE((*none)->view().empty());
  std::filesystem::remove(empty);

  absl::Status missing = SharedBytes::Map(path).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.message().find(path), absl::string_view::npos) << missing;
  EXPECT_EQ(SharedBytes::Map(::testing::TempDir()).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SharedBytes::Own("owned")->view(), "owned");
}

TEST(BackgroundCheck, EveryWaiterSeesTheResult) {
  std::atomic<int> runs{0};
  BackgroundCheck check([&] {
    ++runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return absl::DataLossError("damaged");
  });
  std::vector<std::thread> waiters;
  std::atomic<int> saw{0};
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&] { saw += check.Wait().code() == absl::StatusCode::kDataLoss; });
  }
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(saw.load(), 4);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(check.Wait().message(), "damaged");
  // Destroyed before anyone waits: the destructor joins.
  {
    BackgroundCheck unwaited([] { return absl::OkStatus(); });
  }
}

}  // namespace
}  // namespace llmkit::internal
