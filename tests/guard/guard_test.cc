// Guardrails: the PII detectors on the labelled set (tests/guard/pii_cases.jsonl: 200 strings,
// true positives of every detector and the look-alikes that must not be flagged), precision and
// recall per detector, redaction and restoring, adversarial input, and WithGuard against an
// OpenAI-compatible endpoint on 127.0.0.1.

#include "llmkit/guard.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/json.h"
#include "llmkit/openai.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FindPii, LabelledSetPrecisionAndRecallPerDetector) {
  std::ifstream in(std::string(LLMKIT_SOURCE_DIR) + "/tests/guard/pii_cases.jsonl");
  ASSERT_TRUE(in) << "tests/guard/pii_cases.jsonl";
  struct Counts {
    int tp = 0, fp = 0, fn = 0;
  };
  std::map<std::string, Counts> per_kind;
  int cases = 0, negatives_flagged = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++cases;
    Json c = *Json::Parse(line);
    const std::string text = c["text"].as_string();
    std::vector<std::pair<std::string, std::string>> expected;
    for (const Json& p : c["pii"].as_array()) {
      expected.emplace_back(p.as_array()[0].as_string(), p.as_array()[1].as_string());
    }
    std::vector<PiiFinding> found = FindPii(text);
    std::vector<bool> matched(expected.size(), false);
    for (const PiiFinding& f : found) {
      const std::string kind(PiiKindName(f.kind));
      const std::string value = text.substr(f.begin, f.end - f.begin);
      bool hit = false;
      for (size_t i = 0; i < expected.size(); ++i) {
        if (!matched[i] && expected[i].first == kind && expected[i].second == value) {
          matched[i] = hit = true;
          break;
        }
      }
      if (hit) {
        ++per_kind[kind].tp;
      } else {
        ++per_kind[kind].fp;
        ADD_FAILURE() << "false positive " << kind << " '" << value << "' in: " << text;
      }
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!matched[i]) {
        ++per_kind[expected[i].first].fn;
        ADD_FAILURE() << "missed " << expected[i].first << " '" << expected[i].second
                      << "' in: " << text;
      }
    }
    if (expected.empty() && !found.empty()) ++negatives_flagged;
  }
  EXPECT_GE(cases, 200);
  std::printf("%-13s %5s %5s %5s %9s %7s\n", "detector", "tp", "fp", "fn", "precision", "recall");
  for (const auto& [kind, n] : per_kind) {
    const double precision = n.tp + n.fp == 0 ? 1.0 : double(n.tp) / (n.tp + n.fp);
    const double recall = n.tp + n.fn == 0 ? 1.0 : double(n.tp) / (n.tp + n.fn);
    std::printf("%-13s %5d %5d %5d %9.3f %7.3f\n", kind.c_str(), n.tp, n.fp, n.fn, precision,
                recall);
  }
  std::printf("%d cases; look-alikes flagged: %d\n", cases, negatives_flagged);
  EXPECT_EQ(per_kind.size(), 6u);
}

TEST(FindPii, RedactAndRestore) {
  const std::string text = "Mail ada@example.com or ada@example.com, call +44 20 7946 0958.";
  std::vector<PiiFinding> found = FindPii(text);
  ASSERT_EQ(found.size(), 3u);
  Redaction r = RedactPii(text, found);
  EXPECT_EQ(r.text, "Mail [EMAIL_1] or [EMAIL_1], call [PHONE_1].");
  EXPECT_EQ(RestorePii("Wrote to [EMAIL_1] and [PHONE_1]", r),
            "Wrote to ada@example.com and +44 20 7946 0958");
  PiiOptions only_email;
  only_email.kinds = {PiiKind::kEmail};
  EXPECT_EQ(FindPii(text, only_email).size(), 2u);
  PiiOptions gb;
  gb.phone_regions = {"GB"};
  EXPECT_EQ(FindPii("ring 020 7946 0958", gb).size(), 1u);  // A national GB number.
  EXPECT_TRUE(FindPii("ring 020 7946 0958").empty());       // Not a US one.
}

TEST(FindPii, AdversarialInputStaysLinear) {
  for (const std::string& text :
       {std::string(1 << 20, '@'), std::string(1 << 20, '7'), std::string(1 << 19, ':'),
        [] {
          std::string s;
          for (int i = 0; i < 100000; ++i) s += "a@b.";
          return s;
        }(),
        [] {
          std::string s;
          for (int i = 0; i < 100000; ++i) s += "1.2.";
          return s;
        }(),
        [] {
          std::string s = "api_key=";
          for (int i = 0; i < 50000; ++i) s += "token=";
          return s;
        }()}) {
    std::vector<PiiFinding> found = FindPii(text);  // Completes; the count does not matter.
    EXPECT_LE(found.size(), text.size());
  }
}

std::string Answer(const std::string& text) {
  Json body = *Json::Parse(R"({"id": "c", "model": "m", "choices": [{"index": 0,
      "finish_reason": "stop", "message": {"role": "assistant"}}],
      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})");
  Json::Array choices = body["choices"].as_array();
  choices[0]["message"].Set("content", text);
  body.Set("choices", Json(choices));
  return body.Dump();
}

TEST(WithGuard, RedactsInputRestoresOutputAndRefusesWithoutLeaking) {
  std::mutex mu;
  std::vector<std::string> bodies;
  std::string reply = Answer("I wrote to [EMAIL_1] as asked.");
  TestServer server([&](const ServerRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(r.body);
    return Reply(200, reply);
  });
  auto base = NewOpenAIClient({.base_url = server.Url("/v1"), .api_key = "k", .model = "m"});
  ASSERT_TRUE(base.ok());
  std::shared_ptr<ChatModel> model = std::move(*base);
  GuardOptions options;
  options.input_pii = GuardAction::kRedact;
  options.output_pii = GuardAction::kRaise;
  options.banned_terms = {"project zeus"};
  auto guarded = WithGuard(model, options);
  ASSERT_TRUE(guarded.ok());
  ChatRequest request;
  request.messages = {{.role = "user", .content = "Write to ada@example.com please."}};
  absl::StatusOr<ChatResponse> r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(bodies.back(), HasSubstr("Write to [EMAIL_1] please."));
  EXPECT_THAT(bodies.back(), Not(HasSubstr("ada@example.com")));
  // The answer repeats the placeholder: checked as written (a placeholder is not PII), then
  // restored for the caller.
  EXPECT_EQ(r->text, "I wrote to ada@example.com as asked.");
  // An address the model writes itself is refused by the output check.
  {
    std::lock_guard<std::mutex> lock(mu);
    reply = Answer("Write to grace@example.org instead.");
  }
  EXPECT_EQ((*guarded)->Complete(request).status().code(), absl::StatusCode::kFailedPrecondition);
  GuardOptions redacting;
  redacting.output_pii = GuardAction::kRedact;
  auto redacted = WithGuard(model, redacting);
  absl::StatusOr<ChatResponse> clean = (*redacted)->Complete(request);
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->text, "Write to [EMAIL REDACTED] instead.");

  // A secret in the answer with output checks raising: refused, the secret not in the error.
  {
    std::lock_guard<std::mutex> lock(mu);
    reply = Answer("Use sk-proj-Xb7kQ2mN9vR4tY6uI8oP1aS3dF5gH7jK for it.");
  }
  GuardOptions strict;
  strict.output_pii = GuardAction::kRaise;
  auto refusing = WithGuard(model, strict);
  absl::StatusOr<ChatResponse> leaked = (*refusing)->Complete(request);
  ASSERT_EQ(leaked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(leaked.status().message(), HasSubstr("pii:secret"));
  EXPECT_THAT(leaked.status().message(), Not(HasSubstr("sk-proj")));
  // Banned terms, case-insensitive, at word boundaries; the caller's validator.
  request.messages[0].content = "Tell me about Project Zeus.";
  EXPECT_EQ((*guarded)->Complete(request).status().code(), absl::StatusCode::kFailedPrecondition);
  request.messages[0].content = "Tell me about projectzeus.";  // Not the phrase.
  GuardOptions validating;
  validating.validator = [](std::string_view text, bool output) {
    return output && text.find("sk-") != std::string_view::npos
               ? absl::PermissionDeniedError("no keys in answers")
               : absl::OkStatus();
  };
  auto validated = WithGuard(model, validating);
  EXPECT_EQ((*validated)->Complete(request).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(WithGuard(nullptr, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WithGuard, ReasksFiltersAndCountsEveryCall) {
  std::mutex mu;
  std::vector<std::string> answers = {Answer("Reach Grace at grace@example.org."),
                                      Answer("Reach Grace through the front desk.")};
  std::vector<std::string> bodies;
  TestServer server([&](const ServerRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(r.body);
    std::string body = answers.size() > 1 ? answers.front() : answers.back();
    if (answers.size() > 1) answers.erase(answers.begin());
    return Reply(200, body);
  });
  auto base = NewOpenAIClient({.base_url = server.Url("/v1"), .api_key = "k", .model = "m"});
  ASSERT_TRUE(base.ok());
  std::shared_ptr<ChatModel> model = std::move(*base);
  ChatRequest request;
  request.messages = {{.role = "user", .content = "How do I reach Grace?"}};
  GuardOptions reasking;
  reasking.output_pii = GuardAction::kReask;
  auto guarded = WithGuard(model, reasking);
  ASSERT_TRUE(guarded.ok());
  absl::StatusOr<ChatResponse> r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "Reach Grace through the front desk.");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->usage.total_tokens, 4);  // Both calls.
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_THAT(bodies[1], HasSubstr("Answer again without any."));
  EXPECT_THAT(bodies[1], HasSubstr("personal data (email)"));
  // With no re-ask left, the leak is refused.
  {
    std::lock_guard<std::mutex> lock(mu);
    answers = {Answer("grace@example.org")};
  }
  reasking.max_reasks = 1;
  auto once = WithGuard(model, reasking);
  EXPECT_EQ((*once)->Complete(request).status().code(), absl::StatusCode::kFailedPrecondition);
  GuardOptions filtering;
  filtering.output_pii = GuardAction::kFilter;
  auto filtered = WithGuard(model, filtering);
  {
    std::lock_guard<std::mutex> lock(mu);
    answers = {Answer("Mail grace@example.org today.")};
  }
  absl::StatusOr<ChatResponse> f = (*filtered)->Complete(request);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->text, "Mail  today.");
  GuardOptions bad;
  bad.input_pii = GuardAction::kReask;
  EXPECT_EQ(WithGuard(model, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit
