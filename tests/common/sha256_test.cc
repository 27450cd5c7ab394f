#include "common/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

namespace llmkit::internal {
namespace {

constexpr Sha256Impl kImpls[] = {Sha256Impl::kBest, Sha256Impl::kPortable};

TEST(Sha256, KnownVectorsForEachImplementation) {
  for (Sha256Impl impl : kImpls) {
    SCOPED_TRACE(impl == Sha256Impl::kBest ? "best" : "portable");
    EXPECT_EQ(Sha256Hex("", impl),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256Hex("abc", impl),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", impl),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(Sha256Hex(std::string(1000000, 'a'), impl),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  std::printf("SHA extensions on this CPU: %s\n", Sha256HasShaExtensions() ? "yes" : "no");
}

// Every length around the block and padding boundaries, random bytes: both paths agree.
TEST(Sha256, ImplementationsAgreeOnEveryLengthTo1100Bytes) {
  std::mt19937 rng(7);
  std::string data;
  for (size_t n = 0; n <= 1100; ++n) {
    data.push_back(static_cast<char>(rng()));
    std::string_view prefix(data.data(), n);
    ASSERT_EQ(Sha256Hex(prefix, Sha256Impl::kBest), Sha256Hex(prefix, Sha256Impl::kPortable))
        << "length " << n;
  }
}

// The reference: coreutils' sha256sum over a few random files.
TEST(Sha256, EqualsSha256sum) {
  if (std::system("command -v sha256sum >/dev/null 2>&1") != 0) GTEST_SKIP() << "no sha256sum";
  std::mt19937 rng(11);
  for (size_t n : {0, 55, 56, 64, 4095, 100000, 1 << 20}) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string path = testing::TempDir() + "sha256_input_" + std::to_string(getpid());
    std::ofstream(path, std::ios::binary) << data;
    FILE* pipe = popen(("sha256sum " + path).c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char digest[65] = {};
    ASSERT_EQ(std::fread(digest, 1, 64, pipe), 64u);
    pclose(pipe);
    std::remove(path.c_str());
    EXPECT_EQ(Sha256Hex(data), std::string(digest)) << "length " << n;
  }
}

}  // namespace
}  // namespace llmkit::internal
