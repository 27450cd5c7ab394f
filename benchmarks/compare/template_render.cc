// Renders and compiles templates with llmkit and prints the best times as JSON: the llmkit side
// of benchmarks/compare/templates.
//
//   template_render CASES.json
// CASES.json: {"cases": [{"name", "template", "context", "trim_blocks", "lstrip_blocks"}]}.
// Prints {"name": {"render_ns", "compile_ns", "output"}} — the best of 5 batches of renders
// (each batch at least 0.2 s) and of 20 compiles.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "llmkit/json.h"
#include "llmkit/template.h"

namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  if (!cases.ok()) {
    std::fprintf(stderr, "%s\n", std::string(cases.status().message()).c_str());
    return 1;
  }
  llmkit::Json results = llmkit::Json::MakeObject();
  for (const llmkit::Json& c : cases->Find("cases")->as_array()) {
    llmkit::TemplateOptions options;
    options.trim_blocks = c.Find("trim_blocks")->as_bool();
    options.lstrip_blocks = c.Find("lstrip_blocks")->as_bool();
    const std::string& source = c.Find("template")->as_string();
    double best_compile = 1e9;
    for (int i = 0; i < 20; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::StatusOr<llmkit::Template> t = llmkit::Template::Compile(source, options);
      best_compile = std::min(best_compile, Since(start));
      if (!t.ok()) {
        std::fprintf(stderr, "%s\n", std::string(t.status().message()).c_str());
        return 1;
      }
    }
    llmkit::Template t = *llmkit::Template::Compile(source, options);
    const llmkit::Json& context = *c.Find("context");
    absl::StatusOr<std::string> output = t.Render(context);
    if (!output.ok()) {
      std::fprintf(stderr, "%s\n", std::string(output.status().message()).c_str());
      return 1;
    }
    double best = 1e9;
    for (int batch = 0; batch < 5; ++batch) {
      long n = 0;
      auto start = std::chrono::steady_clock::now();
      double elapsed = 0;
      do {
        for (int i = 0; i < 100; ++i) {
          absl::StatusOr<std::string> out = t.Render(context);
          if (!out.ok()) return 1;
        }
        n += 100;
        elapsed = Since(start);
      } while (elapsed < 0.2);
      best = std::min(best, elapsed / static_cast<double>(n));
    }
    llmkit::Json r = llmkit::Json::MakeObject();
    r.Set("render_ns", best * 1e9);
    r.Set("compile_ns", best_compile * 1e9);
    r.Set("output", *output);
    results.Set(c.Find("name")->as_string(), std::move(r));
  }
  std::printf("%s\n", results.Dump().c_str());
  return 0;
}
