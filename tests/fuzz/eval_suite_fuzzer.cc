// Fuzz target: a suite file (ParseEvalSuite, a user's promptfoo YAML) and a results file
// (EvalReport::FromJson, a --baseline) on arbitrary bytes. A suite that parses is run against a
// local model that echoes the prompt; a report that parses is written as JSON, JUnit and a table
// and compared with itself. Nothing may crash, hang or yield a non-finite score.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "llmkit/eval.h"

namespace {

class EchoModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest& request,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse response;
    response.model = request.model;
    response.text = request.messages.empty() ? "" : request.messages.back().content;
    if (response.text.size() > 200) response.text.resize(200);
    response.message.content = response.text;
    response.usage.input_tokens = 3;
    return response;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 20'000) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  llmkit::EvalSuiteOptions options;
  options.registry_dir = "/nonexistent-llmkit-registry";
  options.make_model =
      [](const std::string&,
         const llmkit::Json&) -> absl::StatusOr<std::shared_ptr<llmkit::ChatModel>> {
    return std::make_shared<EchoModel>();
  };
  absl::StatusOr<llmkit::EvalSuite> suite =
      llmkit::ParseEvalSuite(text, "/nonexistent-llmkit-dir", options);
  if (suite.ok() && suite->prompts.size() * suite->providers.size() * suite->tests.size() <= 64) {
    absl::StatusOr<llmkit::EvalReport> report = llmkit::RunEval(*suite, {.concurrency = 1});
    if (report.ok()) {
      for (const llmkit::EvalCaseResult& c : report->cases) {
        if (!std::isfinite(c.score)) std::abort();
        for (const llmkit::AssertionResult& a : c.assertions) {
          if (!std::isfinite(a.score) || a.score < 0 || a.score > 1) std::abort();
        }
      }
      absl::StatusOr<llmkit::EvalReport> back = llmkit::EvalReport::FromJson(report->ToJson());
      if (!back.ok()) std::abort();
      (void)report->ToJUnitXml();
    }
  }
  absl::StatusOr<llmkit::Json> json = llmkit::Json::Parse(text);
  if (json.ok()) {
    absl::StatusOr<llmkit::EvalReport> report = llmkit::EvalReport::FromJson(*json);
    if (report.ok()) {
      (void)report->ToJUnitXml();
      (void)report->ToTable();
      if (!llmkit::Regressions(*report, *report).empty()) std::abort();
      for (int p = 0; p < static_cast<int>(report->prompts.size()); ++p) {
        const llmkit::PassRate rate = report->Rate(p, 0);
        if (!(rate.low >= 0 && rate.high <= 1)) std::abort();
      }
    }
  }
  return 0;
}
