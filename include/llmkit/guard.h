// Guardrails: PII detection and redaction, and a decorator that checks what goes to a chat model
// and what comes back.
//
//   std::vector<llmkit::PiiFinding> found = llmkit::FindPii("mail ada@example.com");
//   llmkit::Redaction r = llmkit::RedactPii(text, found);  // "mail [EMAIL_1]", restorable
//
// Detectors (each linear in the text; none uses a backtracking regex):
// - email: local@domain with a dotted domain and a letter TLD.
// - phone: libphonenumber's matcher at VALID leniency (a real number plan: length and prefixes
//   of the region), numbers with + and a country code anywhere, others for PiiOptions::
//   phone_regions ("US" by default).
// - payment_card: 13-19 digits (single spaces or dashes between groups) with a card network's
//   prefix and length, and a valid Luhn check digit.
// - iban: a country's IBAN length and a valid ISO 7064 mod-97 checksum.
// - ip_address: IPv4 dotted quads (no leading zeros; not part of a longer dotted number or a
//   version such as v1.2.3.4) and IPv6 addresses (8 groups, or "::" compression).
// - secret: API keys and tokens of common providers by their prefixes (OpenAI sk-, Anthropic
//   sk-ant-, AWS AKIA/ASIA, GitHub ghp_/gho_/ghs_/ghu_/ghr_/github_pat_, Slack xox?-, Google
//   AIza, GitLab glpat-, Hugging Face hf_, Stripe sk_live_/rk_live_), PEM private key blocks,
//   and a value after "api_key", "token", "secret" or "password" that is 16+ characters of
//   mixed letters and digits with high entropy. Hex-only strings (git SHAs, hashes) and UUIDs
//   are not secrets by themselves.
// Timestamps, version numbers, git SHAs, UUIDs, order numbers and ISBNs are not flagged
// (tests/guard/pii_cases.jsonl, the labelled set; benchmarks/compare/pii prints precision and
// recall per detector).
//
// Errors from the guard name the check and the span (byte offsets), never the matched text.
// Threads: everything here is thread-safe; a guarded model is as shareable as the model.

#ifndef LLMKIT_GUARD_H_
#define LLMKIT_GUARD_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "llmkit/chat.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

enum class PiiKind { kEmail, kPhone, kPaymentCard, kIban, kIpAddress, kSecret };

// "email", "phone", "payment_card", "iban", "ip_address", "secret".
std::string_view PiiKindName(PiiKind kind);
// The kind named so, or nullopt.
std::optional<PiiKind> PiiKindFromName(std::string_view name);

struct PiiFinding {
  PiiKind kind;
  size_t begin = 0;  // Byte offsets into the text.
  size_t end = 0;
};

struct PiiOptions {
  std::vector<PiiKind> kinds = {PiiKind::kEmail, PiiKind::kPhone,     PiiKind::kPaymentCard,
                                PiiKind::kIban,  PiiKind::kIpAddress, PiiKind::kSecret};
  // Regions (ISO 3166 alpha-2) whose national numbers count as phone numbers; numbers written
  // with + and a country code are found whatever the region.
  std::vector<std::string> phone_regions = {"US"};
};

// The findings in text order; overlapping findings keep the first (then the longest).
std::vector<PiiFinding> FindPii(std::string_view text, const PiiOptions& options = {});

// `text` with each finding replaced by a placeholder ("[EMAIL_1]", "[PHONE_2]", ...; the same
// value gets the same placeholder), and the map back.
struct Redaction {
  std::string text;
  std::vector<std::pair<std::string, std::string>> placeholders;  // Placeholder, original.
};
Redaction RedactPii(std::string_view text, absl::Span<const PiiFinding> findings);
// Puts the originals back where `text` (e.g. a model's answer) mentions a placeholder.
std::string RestorePii(std::string_view text, const Redaction& redaction);

enum class GuardAction {
  kRaise,   // Fail the call (kFailedPrecondition naming the check and the span).
  kRedact,  // Replace the spans with placeholders (and restore them in the answer).
  kFilter,  // Remove the spans.
  kReask,   // Outputs only: ask the model again, saying what to leave out (max_reasks times,
            // then raise). The answer's usage and attempts count every call.
};

// Text refused by a regular expression (RE2 syntax: linear time, no backreferences or
// lookaround — a pattern using them is kInvalidArgument from WithGuard).
struct GuardPattern {
  std::string name;  // Names the check in errors and re-asks: "pattern:<name>".
  std::string regex;
  bool input = true;   // Checks the messages sent.
  bool output = true;  // Checks the answer.
  // kRaise, kRedact ("[<NAME> REDACTED]"), kFilter, or kReask (on the answer; on input it
  // raises).
  GuardAction action = GuardAction::kRaise;
};

struct GuardOptions {
  PiiOptions pii;
  std::optional<GuardAction> input_pii;   // Checks the messages sent; nullopt: not checked.
  std::optional<GuardAction> output_pii;  // Checks the answer's text; nullopt: not checked.
  // Placeholders of redacted input that the answer repeats are replaced by the originals.
  bool restore_output = true;
  int max_reasks = 2;  // kReask: calls after the first.
  // Words or phrases refused in input and output (case-insensitive, at word boundaries).
  std::vector<std::string> banned_terms;
  // kRaise, kRedact ("[REDACTED]"), kFilter, or kReask (on the answer; on input it raises).
  GuardAction banned_action = GuardAction::kRaise;
  std::vector<GuardPattern> patterns;
  // Token limits, counted with `tokenizer` (required when either is set): all the message
  // texts sent together, and the answer. Input over the limit raises; an answer over it follows
  // token_limit_action (kRaise, or kReask asking for a shorter answer).
  std::shared_ptr<const Tokenizer> tokenizer;
  std::optional<size_t> max_input_tokens;
  std::optional<size_t> max_output_tokens;
  GuardAction token_limit_action = GuardAction::kRaise;
  // A caller's check of each message text sent (`output` false) and of the answer (true): an
  // error fails the call with that status, or, with validator_action kReask, asks the model
  // again with the error's message (on the answer; then raises once max_reasks are spent).
  std::function<absl::Status(std::string_view text, bool output)> validator;
  GuardAction validator_action = GuardAction::kRaise;
};

// A model that runs the checks before sending and after receiving. A guarded stream with
// output checks delivers the answer once checked (as one text delta), so nothing unchecked
// reaches the caller. Errors: kInvalidArgument for a null model, kReask as the input action,
// max_reasks below 0, a pattern that RE2 does not compile (naming it and RE2's reason), a token
// limit without a tokenizer, or kRedact/kFilter for a validator or token limit.
absl::StatusOr<std::unique_ptr<ChatModel>> WithGuard(std::shared_ptr<ChatModel> model,
                                                     GuardOptions options);

}  // namespace llmkit

#endif  // LLMKIT_GUARD_H_
