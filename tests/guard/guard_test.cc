// Guardrails: the PII detectors on the labelled set (tests/guard/pii_cases.jsonl: 200 strings,
// true positives of every detector and the look-alikes that must not be flagged) and on a
// held-out set (pii_heldout.jsonl), precision and recall per detector, redaction and restoring,
// adversarial input, and WithGuard against an OpenAI-compatible endpoint on 127.0.0.1.

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

// Scores FindPii on a labelled set (one JSON object per line: text, pii as [kind, value] pairs,
// and optionally known: ["fp" or "fn", kind, value] triples, the detectors' recorded mistakes),
// prints precision and recall per detector, and fails on a mistake not recorded as known and on
// a known one that no longer happens (the file is then out of date). Returns the number of cases.
int ScoreLabelledSet(const std::string& file) {
  std::ifstream in(std::string(LLMKIT_SOURCE_DIR) + "/" + file);
  EXPECT_TRUE(in) << file;
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
    std::vector<std::vector<std::string>> known;  // {"fp"|"fn", kind, value}, unseen so far.
    if (const Json* k = c.Find("known"); k != nullptr) {
      for (const Json& m : k->as_array()) {
        const Json::Array& triple = m.as_array();
        known.push_back({triple[0].as_string(), triple[1].as_string(), triple[2].as_string()});
      }
    }
    const auto mistake = [&](const char* what, const std::string& kind, const std::string& value) {
      for (auto it = known.begin(); it != known.end(); ++it) {
        if ((*it)[0] == what && (*it)[1] == kind && (*it)[2] == value) {
          known.erase(it);
          return;
        }
      }
      ADD_FAILURE() << file << ": " << (what[1] == 'p' ? "false positive " : "missed ") << kind
                    << " '" << value << "' in: " << text;
    };
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
        mistake("fp", kind, value);
      }
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (!matched[i]) {
        ++per_kind[expected[i].first].fn;
        mistake("fn", expected[i].first, expected[i].second);
      }
    }
    for (const auto& k : known) {
      ADD_FAILURE() << file << ": the known " << k[0] << " " << k[1] << " '" << k[2]
                    << "' no longer happens in: " << text << " (update the file)";
    }
    if (expected.empty() && !found.empty()) ++negatives_flagged;
  }
  std::printf("%s\n%-13s %5s %5s %5s %9s %7s\n", file.c_str(), "detector", "tp", "fp", "fn",
              "precision", "recall");
  for (const auto& [kind, n] : per_kind) {
    const double precision = n.tp + n.fp == 0 ? 1.0 : double(n.tp) / (n.tp + n.fp);
    const double recall = n.tp + n.fn == 0 ? 1.0 : double(n.tp) / (n.tp + n.fn);
    std::printf("%-13s %5d %5d %5d %9.3f %7.3f\n", kind.c_str(), n.tp, n.fp, n.fn, precision,
                recall);
  }
  std::printf("%d cases; look-alikes flagged: %d\n", cases, negatives_flagged);
  EXPECT_EQ(per_kind.size(), 6u) << file;
  return cases;
}

TEST(FindPii, LabelledSetPrecisionAndRecallPerDetector) {
  EXPECT_GE(ScoreLabelledSet("tests/guard/pii_cases.jsonl"), 200);
}

// Written after the detectors and never used to tune them (docs/guard.md, "Held-out set"): its
// figures are the estimate; the mistakes they make on it are recorded in the file as known.
TEST(FindPii, HeldOutSetPrecisionAndRecallPerDetector) {
  EXPECT_GE(ScoreLabelledSet("tests/guard/pii_heldout.jsonl"), 100);
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

// A tokenizer whose tokens are single bytes (no merges): a text's count is its length.
std::shared_ptr<const Tokenizer> ByteTokenizer() {
  static const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string ranks;
  for (int b = 0; b < 256; ++b) {
    // One byte: two base64 digits and "==".
    ranks += kBase64[b >> 2];
    ranks += kBase64[(b & 3) << 4];
    ranks += "== " + std::to_string(b) + "\n";
  }
  EncodingSpec spec;
  spec.name = "bytes";
  auto tokenizer = Tokenizer::FromRanks(ranks, spec);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *tokenizer;
}

// A server answering from a queue (the last answer repeats), recording the bodies it got.
struct QueuedServer {
  std::mutex mu;
  std::vector<std::string> answers;
  std::vector<std::string> bodies;
  TestServer server{[this](const ServerRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(r.body);
    std::string body = answers.front();
    if (answers.size() > 1) answers.erase(answers.begin());
    return Reply(200, body);
  }};
  void Answers(std::vector<std::string> texts) {
    std::lock_guard<std::mutex> lock(mu);
    answers.clear();
    for (const std::string& t : texts) answers.push_back(Answer(t));
    bodies.clear();
  }
  std::shared_ptr<ChatModel> Model() {
    auto base = NewOpenAIClient({.base_url = server.Url("/v1"), .api_key = "k", .model = "m"});
    EXPECT_TRUE(base.ok());
    return std::move(*base);
  }
};

TEST(WithGuard, PatternsBannedTermsValidatorsAndTokenLimitsEachRaiseRedactOrReask) {
  QueuedServer s;
  std::shared_ptr<ChatModel> model = s.Model();
  ChatRequest request;
  request.messages = {{.role = "user", .content = "Summarize ticket INT-4471 for me."}};

  // A pattern on input raises, naming the pattern and the span, not the text.
  GuardOptions patterns;
  patterns.patterns = {{.name = "ticket", .regex = R"(\bINT-\d{3,}\b)", .output = false}};
  auto guarded = WithGuard(model, patterns);
  ASSERT_TRUE(guarded.ok()) << guarded.status();
  s.Answers({"fine"});
  absl::Status refused = (*guarded)->Complete(request).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("pattern:ticket: messages[0].content bytes 17-25"));
  EXPECT_THAT(refused.message(), Not(HasSubstr("INT-4471")));
  EXPECT_TRUE(s.bodies.empty());  // Nothing was sent.
  // Redacted on input, and on output.
  patterns.patterns[0].action = GuardAction::kRedact;
  patterns.patterns[0].output = true;
  guarded = WithGuard(model, patterns);
  s.Answers({"INT-4471 and INT-990 are closed."});
  absl::StatusOr<ChatResponse> r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(s.bodies.back(), HasSubstr("Summarize ticket [TICKET REDACTED] for me."));
  EXPECT_EQ(r->text, "[TICKET REDACTED] and [TICKET REDACTED] are closed.");
  // Re-asked on output: the model is told which check refused it; every call is counted.
  patterns.patterns[0] = {
      .name = "ticket", .regex = R"(INT-\d+)", .input = false, .action = GuardAction::kReask};
  guarded = WithGuard(model, patterns);
  s.Answers({"See INT-4471.", "The ticket is closed."});
  r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "The ticket is closed.");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->usage.total_tokens, 4);
  ASSERT_EQ(s.bodies.size(), 2u);
  EXPECT_THAT(s.bodies[1], HasSubstr("not allowed (ticket). Answer again without it."));
  // Re-asks spent: refused.
  s.Answers({"INT-1 again"});
  refused = (*guarded)->Complete(request).status();
  EXPECT_THAT(refused.message(), HasSubstr("pattern:ticket: answer bytes 0-5"));
  EXPECT_EQ(s.bodies.size(), 3u);  // The first call and max_reasks (2) more.

  // Banned terms: redacted on input and output, or re-asked on output.
  GuardOptions banned;
  banned.banned_terms = {"project zeus"};
  banned.banned_action = GuardAction::kRedact;
  guarded = WithGuard(model, banned);
  request.messages[0].content = "What is Project Zeus?";
  s.Answers({"Project Zeus is secret; project zeus!"});
  r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(s.bodies.back(), HasSubstr("What is [REDACTED]?"));
  EXPECT_EQ(r->text, "[REDACTED] is secret; [REDACTED]!");
  banned.banned_action = GuardAction::kReask;
  guarded = WithGuard(model, banned);
  request.messages[0].content = "What is new?";
  s.Answers({"Project Zeus shipped.", "A release shipped."});
  r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "A release shipped.");
  EXPECT_THAT(s.bodies[1], HasSubstr("used a term that is not allowed"));
  // On input, kReask raises (there is nothing to ask again).
  request.messages[0].content = "And Project Zeus?";
  EXPECT_EQ((*guarded)->Complete(request).status().code(), absl::StatusCode::kFailedPrecondition);

  // The validator's refusal re-asked with its message.
  GuardOptions validating;
  validating.validator = [](std::string_view text, bool output) {
    return output && text.find("maybe") != std::string_view::npos
               ? absl::FailedPreconditionError("answer yes or no")
               : absl::OkStatus();
  };
  validating.validator_action = GuardAction::kReask;
  guarded = WithGuard(model, validating);
  request.messages[0].content = "Is it done?";
  s.Answers({"maybe", "yes"});
  r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "yes");
  EXPECT_THAT(s.bodies[1], HasSubstr("Your answer was not accepted: answer yes or no."));

  // Token limits: input over the limit raises before sending; a long answer is re-asked.
  GuardOptions limited;
  limited.tokenizer = ByteTokenizer();
  limited.max_input_tokens = 20;
  limited.max_output_tokens = 8;
  limited.token_limit_action = GuardAction::kReask;
  guarded = WithGuard(model, limited);
  ASSERT_TRUE(guarded.ok()) << guarded.status();
  request.messages = {{.role = "system", .content = "Be brief."},   // 9 bytes
                      {.role = "user", .content = "Is it done?"}};  // 11 bytes: 20 in all.
  s.Answers({"Yes, it is done now.", "Yes."});
  r = (*guarded)->Complete(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "Yes.");
  EXPECT_THAT(s.bodies[1], HasSubstr("Answer again in at most 8 tokens."));
  request.messages[1].content = "Is it done yet?";
  s.Answers({"Yes."});
  refused = (*guarded)->Complete(request).status();
  EXPECT_THAT(refused.message(), HasSubstr("the messages hold 24 tokens, over the limit of 20"));
  EXPECT_TRUE(s.bodies.empty());

  // Bad options are refused when the guard is built.
  GuardOptions bad_pattern;
  bad_pattern.patterns = {{.name = "lookahead", .regex = "a(?=b)"}};
  absl::Status bad = WithGuard(model, bad_pattern).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("pattern \"lookahead\" does not compile"));
  GuardOptions no_tokenizer;
  no_tokenizer.max_output_tokens = 5;
  EXPECT_EQ(WithGuard(model, no_tokenizer).status().code(), absl::StatusCode::kInvalidArgument);
  GuardOptions redact_validator;
  redact_validator.validator_action = GuardAction::kRedact;
  EXPECT_EQ(WithGuard(model, redact_validator).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmkit
