// Runs a fuzz target over files and seeds without libFuzzer, so ctest (and the sanitizer
// builds) exercise every target: `replay DIR_OR_FILE...`, plus built-in random inputs.
//
// `replay --seconds=N DIR...` then mutates those inputs for N seconds: byte flips, inserted
// fragments (JSON, Markdown, UTF-8 and template syntax), deleted and repeated ranges, splices.
// It is random, not coverage-guided (libFuzzer needs clang: `make fuzz`), and runs under the
// sanitizer build in `make test`. The seed is printed (`--seed=S` repeats a run); under
// AddressSanitizer an input that fails is written to fuzz-crash-<pid>.bin before the report.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

const std::string* current = nullptr;  // The input being run, for the crash callback.

void RunOne(const std::string& input) {
  current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  current = nullptr;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

#if defined(__SANITIZE_ADDRESS__)
void SaveCrashInput() {
  if (current == nullptr) return;
  char name[64];
  std::snprintf(name, sizeof(name), "fuzz-crash-%d.bin", static_cast<int>(getpid()));
  if (FILE* out = std::fopen(name, "wb")) {
    std::fwrite(current->data(), 1, current->size(), out);
    std::fclose(out);
    std::fprintf(stderr, "replay: the failing input is in %s\n", name);
  }
}
#endif

// Structure-heavy fragments for generated inputs and insertions.
constexpr const char* kFragments[] = {
    "{",         "}",        "[",        "]",        "\"",
    ":",         ",",        "1",        "-0.5e3",   "true",
    "null",      "\\u00e9",  "\n",       "\n\n",     " ",
    "# ",        "```",      "\xc3",     "\xa9",     "\xf0\x9f\x98\x80",
    "\xff",      "a",        "\\",       "{{",       "}}",
    "{%",        "%}",       "{#",       "#}",       " for x in ",
    "endfor",    " if ",     "endif",    "|",        "(",
    ")",         "'",        "~",        "*",        "**",
    "%",         ".append(", "deep",     "wide",     "mixed",
    "messages",  "|tojson",  "|sort",    "|unique",  "|list",
    "|join",     "|length",  "|string",  "|safe",    "|e",
    " == ",      " in ",     "range(",   "loop",     "namespace(",
    "set ",      "macro ",   "endmacro", "caller()", "2**63",
    "1e308",     "-",        "[0]",      ".k",       "recursive",
    "|dictsort", "|format(",
};

std::string Mutate(std::mt19937_64& random, const std::vector<std::string>& pool) {
  std::string input = pool[random() % pool.size()];
  for (int n = 1 + static_cast<int>(random() % 4); n > 0; --n) {
    const size_t at = input.empty() ? 0 : random() % (input.size() + 1);
    switch (random() % 6) {
      case 0:  // Flip a byte.
        if (!input.empty())
          input[random() % input.size()] ^= static_cast<char>(1 << (random() % 8));
        break;
      case 1:
      case 2:  // Insert a fragment.
        input.insert(at, kFragments[random() % std::size(kFragments)]);
        break;
      case 3:  // Delete a range.
        if (at < input.size())
          input.erase(at, 1 + random() % std::min<size_t>(16, input.size() - at));
        break;
      case 4:  // Repeat a range.
        if (at < input.size()) {
          std::string range = input.substr(at, 1 + random() % 32);
          for (int k = 1 + static_cast<int>(random() % 8); k > 0; --k) input.insert(at, range);
        }
        break;
      default: {  // Splice in part of another input.
        const std::string& other = pool[random() % pool.size()];
        if (!other.empty()) {
          const size_t from = random() % other.size();
          input.insert(at, other.substr(from, 1 + random() % 64));
        }
      }
    }
  }
  if (input.size() > (1 << 16)) input.resize(1 << 16);
  return input;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(SaveCrashInput);
#endif
  double seconds = 0;
  uint64_t seed =
      static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::string> pool;
  size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seconds=", 10) == 0) {
      seconds = std::atof(argv[i] + 10);
      continue;
    }
    if (std::strncmp(argv[i], "--seed=", 7) == 0) {
      seed = std::strtoull(argv[i] + 7, nullptr, 10);
      continue;
    }
    std::filesystem::path path(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) paths.push_back(entry.path());
      }
    } else if (std::filesystem::exists(path)) {
      paths.push_back(path);
    }
    for (const auto& file : paths) {
      pool.push_back(ReadFile(file));
      RunOne(pool.back());
      ++files;
    }
  }
  // Random inputs built from structure-heavy fragments.
  std::mt19937 generated(1);
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    for (int i = generated() % 64; i > 0; --i)
      input += kFragments[generated() % std::size(kFragments)];
    RunOne(input);
    if (round % 100 == 0) pool.push_back(input);
  }
  std::printf("replayed %zu files and 20000 generated inputs\n", files);
  if (seconds <= 0) return 0;
  std::printf("mutating for %.0f s with --seed=%llu\n", seconds,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 random(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  size_t runs = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::string input = Mutate(random, pool);
    RunOne(input);
    ++runs;
    if (runs % 64 == 0 && pool.size() < 4096) pool.push_back(std::move(input));
  }
  std::printf("ran %zu mutated inputs\n", runs);
  return 0;
}
