// RunEval: every prompt × provider × test × repeat, on a pool of threads, each output scored.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eval/eval_impl.h"
#include "llmkit/eval.h"
#include "llmkit/status.h"
#include "llmkit/template.h"

namespace llmkit {
namespace {

using internal::eval::Evaluate;
using internal::eval::Judges;

using CompiledPrompt = std::variant<Template, FStringTemplate>;

absl::StatusOr<CompiledPrompt> Compile(const EvalPrompt& prompt, size_t index) {
  if (prompt.format == "f-string") {
    absl::StatusOr<FStringTemplate> t = FStringTemplate::Compile(prompt.text);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompts[", index, "] (", prompt.label, "): ", t.status().message()));
    }
    return CompiledPrompt(*std::move(t));
  }
  if (prompt.format != "jinja2") {
    return absl::InvalidArgumentError(absl::StrCat("prompts[", index, "]: unknown format \"",
                                                   prompt.format, "\" (jinja2 or f-string)"));
  }
  absl::StatusOr<Template> t = Template::Compile(prompt.text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompts[", index, "] (", prompt.label, "): ", t.status().message()));
  }
  return CompiledPrompt(*std::move(t));
}

absl::StatusOr<std::string> Render(const CompiledPrompt& prompt, const Json& vars,
                                   const CallContext& call) {
  if (const Template* t = std::get_if<Template>(&prompt)) return t->Render(vars, call);
  return std::get<FStringTemplate>(prompt).Render(vars);
}

// A rendered prompt that is a JSON array of {role, content} objects is a conversation (as
// promptfoo sends it); anything else is one user message.
std::vector<Message> MessagesOf(const std::string& rendered) {
  if (!rendered.empty() &&
      (rendered.front() == '[' || std::isspace(static_cast<unsigned char>(rendered.front())))) {
    absl::StatusOr<Json> parsed = Json::Parse(rendered);
    if (parsed.ok() && parsed->is_array() && parsed->size() > 0) {
      std::vector<Message> messages;
      for (const Json& item : parsed->as_array()) {
        const Json* role = item.is_object() ? item.Find("role") : nullptr;
        const Json* content = item.is_object() ? item.Find("content") : nullptr;
        if (role == nullptr || !role->is_string() || content == nullptr || !content->is_string()) {
          messages.clear();
          break;
        }
        messages.push_back({.role = role->as_string(), .content = content->as_string()});
      }
      if (!messages.empty()) return messages;
    }
  }
  return {{.role = "user", .content = rendered}};
}

struct Job {
  int prompt, provider, test, repeat;
};

}  // namespace

absl::StatusOr<EvalReport> RunEval(const EvalSuite& suite, const EvalOptions& options,
                                   const CallContext& call) {
  if (options.repeat < 1 || options.repeat > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeat must be in [1, 1000], got ", options.repeat));
  }
  if (options.concurrency < 1 || options.concurrency > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency must be in [1, 1024], got ", options.concurrency));
  }
  if (suite.prompts.empty() || suite.providers.empty()) {
    return absl::InvalidArgumentError("a suite needs at least one prompt and one provider");
  }
  for (size_t i = 0; i < suite.providers.size(); ++i) {
    if (suite.providers[i].model == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("providers[", i, "] has no model"));
    }
  }
  std::vector<CompiledPrompt> prompts;
  for (size_t i = 0; i < suite.prompts.size(); ++i) {
    LLMKIT_ASSIGN_OR_RETURN(CompiledPrompt p, Compile(suite.prompts[i], i));
    prompts.push_back(std::move(p));
  }
  const std::shared_ptr<const PriceTable> prices =
      options.prices != nullptr ? options.prices : PriceTable::Default();
  Judges judges;
  judges.model = suite.grader != nullptr ? suite.grader : options.judge;
  judges.model_name = suite.grader != nullptr ? suite.grader_model : options.judge_model;
  judges.second = options.second_judge;
  judges.second_name = options.second_judge_model;

  EvalReport report;
  report.description = suite.description;
  report.repeat = options.repeat;
  for (const EvalPrompt& p : suite.prompts) report.prompts.push_back(p.label);
  for (const EvalProvider& p : suite.providers) report.providers.push_back(p.label);
  for (const EvalTest& t : suite.tests) report.tests.push_back(t.description);

  // Each test's assertions with their text values rendered over its vars (as promptfoo renders
  // them), once for all its runs.
  std::vector<std::vector<EvalAssertion>> asserts;
  for (const EvalTest& test : suite.tests) {
    std::vector<EvalAssertion>& rendered = asserts.emplace_back(test.asserts);
    for (EvalAssertion& a : rendered) {
      if (!a.value.is_string() || a.value.as_string().find("{{") == std::string::npos) continue;
      absl::StatusOr<Template> t = Template::Compile(a.value.as_string());
      absl::StatusOr<std::string> value =
          t.ok() ? t->Render(test.vars, call) : absl::StatusOr<std::string>(t.status());
      if (value.ok()) a.value = Json(*std::move(value));
    }
  }

  std::vector<Job> jobs;
  for (int p = 0; p < static_cast<int>(suite.prompts.size()); ++p) {
    for (int v = 0; v < static_cast<int>(suite.providers.size()); ++v) {
      for (int t = 0; t < static_cast<int>(suite.tests.size()); ++t) {
        for (int r = 0; r < options.repeat; ++r) jobs.push_back({p, v, t, r});
      }
    }
  }
  report.cases.resize(jobs.size());
  std::atomic<size_t> next{0};
  std::mutex on_case_mu;
  const auto started = std::chrono::steady_clock::now();

  auto run_one = [&](const Job& job, EvalCaseResult& c) {
    c.prompt = job.prompt;
    c.provider = job.provider;
    c.test = job.test;
    c.repeat = job.repeat;
    const EvalTest& test = suite.tests[job.test];
    const EvalProvider& provider = suite.providers[job.provider];
    absl::StatusOr<std::string> rendered = Render(prompts[job.prompt], test.vars, call);
    std::optional<ChatResponse> response;
    if (!rendered.ok()) {
      c.error = absl::StrCat("the prompt did not render: ", rendered.status().message());
    } else {
      c.rendered_prompt = *rendered;
      ChatRequest request = provider.defaults;
      request.model = provider.model_name;
      request.messages = MessagesOf(*rendered);
      const auto sent = std::chrono::steady_clock::now();
      // The run's number as a tag: a response cache keyed on it keeps each repeat's answer.
      CallContext tagged = call;
      tagged.tags[std::string(kRepeatTag)] = std::to_string(job.repeat);
      absl::StatusOr<ChatResponse> answer = provider.model->Complete(request, tagged);
      c.latency_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
              .count();
      if (answer.ok()) {
        response = *std::move(answer);
        c.output = response->text;
        c.usage = response->usage;
        c.cache_hit = response->cache_hit;
        const Cost cost = response->cost ? *response->cost : prices->Price(*response);
        if (cost.priced) c.cost = cost.total;
      } else {
        c.error = std::string(answer.status().ToString());
      }
    }
    if (!c.error.empty()) {
      c.pass = false;
      c.score = 0;
      return;
    }
    EvalOutput output;
    output.text = c.output;
    output.response = &*response;
    output.latency_ms = c.latency_ms;
    output.cost = c.cost;
    output.vars = &test.vars;
    output.prompt = c.rendered_prompt;
    double weighted = 0, weights = 0;
    bool all = true;
    for (const EvalAssertion& a : asserts[job.test]) {
      AssertionResult r = Evaluate(a, output, options, judges, call);
      all = all && r.pass;
      weighted += r.weight * r.score;
      weights += r.weight;
      c.assertions.push_back(std::move(r));
    }
    c.score = weights > 0 ? weighted / weights : (all ? 1 : 0);
    c.pass = test.threshold ? c.score >= *test.threshold : all;
  };

  auto worker = [&] {
    for (;;) {
      if (!call.Check("evaluation").ok()) return;
      const size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      run_one(jobs[i], report.cases[i]);
      if (options.on_case) {
        std::lock_guard<std::mutex> lock(on_case_mu);
        options.on_case(report.cases[i]);
      }
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(options.concurrency), jobs.size());
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
  }
  if (absl::Status stopped = call.Check("evaluation"); !stopped.ok()) return stopped;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace llmkit
