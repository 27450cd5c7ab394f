// Runs a fuzz target over files and seeds without libFuzzer, so ctest (and the sanitizer
// builds) exercise every target: `replay DIR_OR_FILE...`, plus built-in random inputs.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void RunOne(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

void RunFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  RunOne(buffer.str());
}

}  // namespace

int main(int argc, char** argv) {
  size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) RunFile(entry.path()), ++files;
      }
    } else if (std::filesystem::exists(path)) {
      RunFile(path), ++files;
    }
  }
  // Random inputs built from structure-heavy fragments.
  static const char* kFragments[] = {
      "{",    "}",       "[",  "]",    "\"", ":",  ",",   "1",    "-0.5e3", "true",
      "null", "\\u00e9", "\n", "\n\n", " ",  "# ", "```", "\xc3", "\xa9",   "\xf0\x9f\x98\x80",
      "\xff", "a",       "\\"};
  std::mt19937 random(1);
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    for (int i = random() % 64; i > 0; --i) input += kFragments[random() % std::size(kFragments)];
    RunOne(input);
  }
  std::printf("replayed %zu files and 20000 generated inputs\n", files);
  return 0;
}
