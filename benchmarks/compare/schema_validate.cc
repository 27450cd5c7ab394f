// Validates instances against JSON Schemas with llmkit and prints the best throughput as JSON:
// the llmkit side of benchmarks/compare/schemas.
//
//   schema_validate CASES.json
// CASES.json: {"cases": [{"name", "schema", "valid", "invalid"}]} (instances as JSON values).
// Prints {"name": {"compile_us", "valid_per_s", "invalid_per_s", "valid_parse_per_s",
// "invalid_parse_per_s", "valid_ok", "invalid_ok"}} — the best of 5 batches of at least 0.2 s.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "llmkit/json.h"
#include "llmkit/schema.h"

namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Calls per second of `fn`, the best of 5 batches.
template <typename Fn>
double PerSecond(Fn fn) {
  double best = 0;
  for (int batch = 0; batch < 5; ++batch) {
    long n = 0;
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
      for (int i = 0; i < 64; ++i) fn();
      n += 64;
      elapsed = Since(start);
    } while (elapsed < 0.2);
    best = std::max(best, static_cast<double>(n) / elapsed);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CASES.json\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<llmkit::Json> cases = llmkit::Json::Parse(text.str());
  if (!cases.ok()) return 1;
  llmkit::Json results = llmkit::Json::MakeObject();
  for (const llmkit::Json& c : cases->Find("cases")->as_array()) {
    const llmkit::Json& schema_json = *c.Find("schema");
    double best_compile = 1e9;
    for (int i = 0; i < 20; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::StatusOr<llmkit::JsonSchema> s = llmkit::JsonSchema::Compile(schema_json);
      best_compile = std::min(best_compile, Since(start));
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", std::string(s.status().message()).c_str());
        return 1;
      }
    }
    llmkit::SchemaOptions first;
    first.all_errors = false;  // ajv's default: stop at the first error.
    llmkit::JsonSchema schema = *llmkit::JsonSchema::Compile(schema_json, first);
    const llmkit::Json& valid = *c.Find("valid");
    const llmkit::Json& invalid = *c.Find("invalid");
    const std::string valid_text = valid.Dump();
    const std::string invalid_text = invalid.Dump();
    bool sink = false;
    llmkit::Json r = llmkit::Json::MakeObject();
    r.Set("compile_us", best_compile * 1e6);
    r.Set("valid_ok", schema.IsValid(valid));
    r.Set("invalid_ok", !schema.IsValid(invalid));
    r.Set("valid_per_s", PerSecond([&] { sink ^= schema.IsValid(valid); }));
    r.Set("invalid_per_s", PerSecond([&] { sink ^= schema.IsValid(invalid); }));
    r.Set("valid_parse_per_s",
          PerSecond([&] { sink ^= schema.IsValid(*llmkit::Json::Parse(valid_text)); }));
    r.Set("invalid_parse_per_s",
          PerSecond([&] { sink ^= schema.IsValid(*llmkit::Json::Parse(invalid_text)); }));
    r.Set("sink", sink);
    results.Set(c.Find("name")->as_string(), std::move(r));
  }
  std::printf("%s\n", results.Dump().c_str());
  return 0;
}
