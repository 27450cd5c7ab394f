// WithGuard: checks (PII, banned terms, patterns, token limits, a caller's validator) on what goes
// to a chat model and on what comes back, raising, redacting, filtering or asking again.

#include "llmkit/guard.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "re2/re2.h"

namespace llmkit {
namespace {

bool WordByte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

absl::Status Refuse(std::string_view check, std::string_view where, size_t begin, size_t end) {
  // The span, never the text: a secret must not reach a log through the error.
  return absl::FailedPreconditionError(absl::StrCat(
      "guard ", std::string(check), ": ", std::string(where), " bytes ", begin, "-", end));
}

struct Span {
  size_t begin;
  size_t end;
};

// Drops spans that overlap an earlier one (spans sorted by begin, then longest first).
std::vector<Span> Disjoint(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Span> out;
  for (const Span& span : spans) {
    if (out.empty() || span.begin >= out.back().end) out.push_back(span);
  }
  return out;
}

// `text` with each span replaced by `replacement` (spans disjoint and in order).
std::string Replace(std::string_view text, const std::vector<Span>& spans,
                    std::string_view replacement) {
  std::string out;
  size_t at = 0;
  for (const Span& span : spans) {
    out.append(text.substr(at, span.begin - at));
    out.append(replacement);
    at = span.end;
  }
  out.append(text.substr(at));
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

struct CompiledPattern {
  GuardPattern spec;
  std::unique_ptr<RE2> re;
};

// An answer a check refused with kReask: what to tell the model, and the refusal to return
// once the re-asks are spent.
struct Reask {
  std::string tell_model;
  absl::Status refusal;
};

class GuardedModel final : public ChatModel {
 public:
  GuardedModel(std::shared_ptr<ChatModel> model, GuardOptions options,
               std::vector<CompiledPattern> patterns)
      : model_(std::move(model)), options_(std::move(options)), patterns_(std::move(patterns)) {
    for (const std::string& term : options_.banned_terms)
      banned_.push_back(absl::AsciiStrToLower(term));
  }

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    Redaction redaction;
    absl::StatusOr<ChatRequest> checked = CheckInput(request, &redaction);
    if (!checked.ok()) return checked.status();
    absl::StatusOr<ChatResponse> response = model_->Complete(*checked, call);
    if (!response.ok()) return response;
    return Settle(*std::move(checked), *std::move(response), redaction, call);
  }

  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    Redaction redaction;
    absl::StatusOr<ChatRequest> checked = CheckInput(request, &redaction);
    if (!checked.ok()) return checked.status();
    bool output_patterns = false;
    for (const CompiledPattern& p : patterns_) output_patterns = output_patterns || p.spec.output;
    const bool hold = options_.output_pii.has_value() || !banned_.empty() || output_patterns ||
                      options_.max_output_tokens.has_value() || options_.validator != nullptr ||
                      !redaction.placeholders.empty();
    if (!hold) return model_->Stream(*checked, on_event, call);
    // Nothing unchecked reaches the caller: the answer is checked whole, then delivered.
    std::vector<StreamEvent> others;
    absl::StatusOr<ChatResponse> response = model_->Stream(
        *checked,
        [&](const StreamEvent& event) {
          if (event.kind != StreamEvent::Kind::kTextDelta) others.push_back(event);
          return true;
        },
        call);
    if (!response.ok()) return response;
    response = Settle(*std::move(checked), *std::move(response), redaction, call);
    if (!response.ok()) return response;
    if (!response->text.empty()) {
      StreamEvent text;
      text.kind = StreamEvent::Kind::kTextDelta;
      text.text = response->text;
      if (!on_event(text)) return absl::CancelledError("stream stopped by the callback");
    }
    for (const StreamEvent& event : others) {
      if (!on_event(event)) return absl::CancelledError("stream stopped by the callback");
    }
    return response;
  }

 private:
  // Every banned term in `text` (case-insensitive, at word boundaries).
  std::vector<Span> BannedSpans(std::string_view text) const {
    std::vector<Span> spans;
    if (banned_.empty()) return spans;
    const std::string lower = absl::AsciiStrToLower(internal::ToAbsl(text));
    for (const std::string& term : banned_) {
      for (size_t at = lower.find(term); at != std::string::npos; at = lower.find(term, at + 1)) {
        const size_t end = at + term.size();
        if ((at == 0 || !WordByte(lower[at - 1])) &&
            (end >= lower.size() || !WordByte(lower[end]))) {
          spans.push_back({at, end});
        }
      }
    }
    return Disjoint(std::move(spans));
  }

  // Every non-empty match of `re` in `text`, left to right (RE2: linear time).
  static std::vector<Span> PatternSpans(const RE2& re, std::string_view text) {
    std::vector<Span> spans;
    const re2::StringPiece whole(text.data(), text.size());
    re2::StringPiece match;
    size_t at = 0;
    while (at <= text.size() && re.Match(whole, at, text.size(), RE2::UNANCHORED, &match, 1)) {
      const size_t begin = static_cast<size_t>(match.data() - text.data());
      const size_t end = begin + match.size();
      if (end > begin) spans.push_back({begin, end});
      at = end > begin ? end : begin + 1;
    }
    return spans;
  }

  // Applies one span check to `*text`: raises (kRaise, and kReask on input), rewrites
  // (kRedact, kFilter), or on the answer with kReask fills `*reask`.
  absl::Status ApplySpans(const std::string& check, GuardAction action, std::string_view where,
                          const std::vector<Span>& spans, std::string_view redacted,
                          std::string_view tell_model, std::string* text,
                          std::optional<Reask>* reask) const {
    if (spans.empty()) return absl::OkStatus();
    absl::Status refusal = Refuse(check, where, spans[0].begin, spans[0].end);
    switch (action) {
      case GuardAction::kRaise:
        return refusal;
      case GuardAction::kReask:
        if (reask == nullptr) return refusal;
        *reask = Reask{std::string(tell_model), refusal};
        return absl::OkStatus();
      case GuardAction::kRedact:
      case GuardAction::kFilter:
        *text = Replace(*text, spans, action == GuardAction::kRedact ? redacted : "");
        return absl::OkStatus();
    }
    return refusal;
  }

  // Banned terms and patterns on one text (`reask` null for input).
  absl::Status CheckTerms(bool output, std::string_view where, std::string* text,
                          std::optional<Reask>* reask) const {
    LLMKIT_RETURN_IF_ERROR(ApplySpans(
        "banned term", options_.banned_action, where, BannedSpans(*text), "[REDACTED]",
        "Your answer used a term that is not allowed. Answer again without it.", text, reask));
    for (const CompiledPattern& p : patterns_) {
      if (reask != nullptr && reask->has_value()) break;
      if (!(output ? p.spec.output : p.spec.input)) continue;
      LLMKIT_RETURN_IF_ERROR(ApplySpans(
          absl::StrCat("pattern:", p.spec.name), p.spec.action, where, PatternSpans(*p.re, *text),
          absl::StrCat("[", Upper(p.spec.name), " REDACTED]"),
          absl::StrCat("Your answer contained text that is not allowed (", p.spec.name,
                       "). Answer again without it."),
          text, reask));
    }
    return absl::OkStatus();
  }

  // Checks and (redacting) rewrites one text; `redaction` gathers the placeholders.
  absl::StatusOr<std::string> CheckText(std::string_view original, bool output, std::string where,
                                        Redaction* redaction) const {
    std::string text(original);
    LLMKIT_RETURN_IF_ERROR(CheckTerms(output, where, &text, nullptr));
    if (options_.validator) {
      absl::Status s = options_.validator(text, output);
      if (!s.ok()) return s;
    }
    const std::optional<GuardAction>& action = output ? options_.output_pii : options_.input_pii;
    if (!action) return text;
    std::vector<PiiFinding> found = FindPii(text, options_.pii);
    if (found.empty()) return text;
    if (*action == GuardAction::kRaise) {
      return Refuse(absl::StrCat("pii:", std::string(PiiKindName(found[0].kind))), where,
                    found[0].begin, found[0].end);
    }
    if (*action == GuardAction::kFilter) {
      std::string kept(text);
      for (auto f = found.rbegin(); f != found.rend(); ++f) kept.erase(f->begin, f->end - f->begin);
      return kept;
    }
    Redaction r = RedactPii(text, found);
    // Number placeholders across messages: one value, one placeholder.
    std::string rewritten = r.text;
    for (auto& entry : r.placeholders) {
      const std::string& placeholder = entry.first;
      const std::string& original_value = entry.second;
      auto same = std::find_if(redaction->placeholders.begin(), redaction->placeholders.end(),
                               [&](const auto& p) { return p.second == original_value; });
      std::string final_placeholder = placeholder;
      if (same != redaction->placeholders.end()) {
        final_placeholder = same->first;
      } else {
        const std::string stem = placeholder.substr(0, placeholder.rfind('_'));
        int n = 0;
        for (const auto& p : redaction->placeholders) n += p.first.rfind(stem + "_", 0) == 0;
        final_placeholder = absl::StrCat(stem, "_", n + 1, "]");
        redaction->placeholders.emplace_back(final_placeholder, original_value);
      }
      if (final_placeholder != placeholder) {
        for (size_t at = rewritten.find(placeholder); at != std::string::npos;
             at = rewritten.find(placeholder, at + final_placeholder.size())) {
          rewritten.replace(at, placeholder.size(), final_placeholder);
        }
      }
    }
    return rewritten;
  }

  absl::StatusOr<ChatRequest> CheckInput(const ChatRequest& request, Redaction* redaction) const {
    ChatRequest out = request;
    size_t tokens = 0;
    auto count = [&](std::string_view text) -> absl::Status {
      if (!options_.max_input_tokens) return absl::OkStatus();
      LLMKIT_ASSIGN_OR_RETURN(size_t n, options_.tokenizer->Count(text));
      tokens += n;
      return absl::OkStatus();
    };
    for (size_t i = 0; i < out.messages.size(); ++i) {
      Message& m = out.messages[i];
      absl::StatusOr<std::string> content =
          CheckText(m.content, false, absl::StrCat("messages[", i, "].content"), redaction);
      if (!content.ok()) return content.status();
      m.content = *std::move(content);
      LLMKIT_RETURN_IF_ERROR(count(m.content));
      for (size_t p = 0; p < m.parts.size(); ++p) {
        if (m.parts[p].type != "text") continue;
        absl::StatusOr<std::string> text = CheckText(
            m.parts[p].text, false, absl::StrCat("messages[", i, "].parts[", p, "]"), redaction);
        if (!text.ok()) return text.status();
        m.parts[p].text = *std::move(text);
        LLMKIT_RETURN_IF_ERROR(count(m.parts[p].text));
      }
    }
    if (options_.max_input_tokens && tokens > *options_.max_input_tokens) {
      return absl::FailedPreconditionError(absl::StrCat("guard tokens: the messages hold ", tokens,
                                                        " tokens, over the limit of ",
                                                        *options_.max_input_tokens));
    }
    return out;
  }

  // Checks `response`; when a check with kReask refuses the answer, asks again (non-streamed)
  // up to max_reasks times.
  absl::StatusOr<ChatResponse> Settle(ChatRequest request, ChatResponse response,
                                      const Redaction& redaction, const CallContext& call) const {
    int attempts = response.attempts;
    // A refusal or failure carries every call made for it (`spent`): the provider billed them.
    auto failed = [](absl::Status status, std::vector<SpentAttempt> spent) {
      for (SpentAttempt& c : SpentOf(status)) spent.push_back(std::move(c));
      return WithSpent(std::move(status), spent);
    };
    auto code_of = [](const absl::Status& status) {
      return absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
    };
    for (int reask = 0;; ++reask) {
      std::optional<Reask> again_for;
      if (absl::Status checked = CheckOutput(&response, redaction, &again_for); !checked.ok()) {
        return failed(checked, CallsOf(response, code_of(checked)));
      }
      if (!again_for) break;
      if (reask >= options_.max_reasks) {
        return failed(again_for->refusal, CallsOf(response, code_of(again_for->refusal)));
      }
      request.messages.push_back(Message{.role = "assistant", .content = response.text});
      request.messages.push_back(Message{.role = "user", .content = again_for->tell_model});
      absl::StatusOr<ChatResponse> again = model_->Complete(request, call);
      // Every call so far, itemized for pricing (cost.h): `response.usage` counts them all.
      std::vector<SpentAttempt> spent = CallsOf(response);
      if (!again.ok()) return failed(again.status(), std::move(spent));
      Usage total = response.usage;
      AddUsage(&total, again->usage);
      attempts += again->attempts;
      response = *std::move(again);
      spent.insert(spent.end(), std::make_move_iterator(response.spent_attempts.begin()),
                   std::make_move_iterator(response.spent_attempts.end()));
      response.spent_attempts = std::move(spent);
      response.usage = total;
    }
    response.attempts = attempts;
    return response;
  }

  // Checks the answer as the model wrote it (placeholders of redacted input are not PII), then
  // puts the caller's own values back. A check with kReask that refuses it fills `*reask`
  // instead (the first such check). Redacted output spans become "[EMAIL REDACTED]" and the
  // like, which no input placeholder can be mistaken for.
  absl::Status CheckOutput(ChatResponse* response, const Redaction& redaction,
                           std::optional<Reask>* reask) const {
    std::string text = response->text;
    LLMKIT_RETURN_IF_ERROR(CheckTerms(/*output=*/true, "answer", &text, reask));
    if (reask->has_value()) return absl::OkStatus();
    if (options_.validator) {
      absl::Status s = options_.validator(text, true);
      if (!s.ok() && options_.validator_action != GuardAction::kReask) return s;
      if (!s.ok()) {
        *reask = Reask{
            absl::StrCat("Your answer was not accepted: ", s.message(), ". Answer again."), s};
        return absl::OkStatus();
      }
    }
    if (options_.max_output_tokens) {
      const size_t limit = *options_.max_output_tokens;
      LLMKIT_ASSIGN_OR_RETURN(size_t n, options_.tokenizer->CountUpTo(text, limit));
      if (n > limit) {
        absl::Status refusal = absl::FailedPreconditionError(
            absl::StrCat("guard tokens: the answer holds over ", limit, " tokens"));
        if (options_.token_limit_action != GuardAction::kReask) return refusal;
        *reask = Reask{
            absl::StrCat("Your answer was too long. Answer again in at most ", limit, " tokens."),
            refusal};
        return absl::OkStatus();
      }
    }
    if (options_.output_pii) {
      std::vector<PiiFinding> found = FindPii(text, options_.pii);
      if (!found.empty() && *options_.output_pii != GuardAction::kRedact &&
          *options_.output_pii != GuardAction::kFilter) {
        absl::Status refusal = Refuse(absl::StrCat("pii:", std::string(PiiKindName(found[0].kind))),
                                      "answer", found[0].begin, found[0].end);
        if (*options_.output_pii == GuardAction::kRaise) return refusal;
        *reask = Reask{
            absl::StrCat("Your answer included ",
                         found[0].kind == PiiKind::kSecret ? "a secret" : "personal data", " (",
                         std::string(PiiKindName(found[0].kind)), "). Answer again without any."),
            refusal};
        return absl::OkStatus();
      }
      const bool filter = *options_.output_pii == GuardAction::kFilter;
      for (auto f = found.rbegin(); f != found.rend(); ++f) {
        text.replace(f->begin, f->end - f->begin,
                     filter ? "" : "[" + Upper(PiiKindName(f->kind)) + " REDACTED]");
      }
    }
    if (options_.restore_output) text = RestorePii(text, redaction);
    response->text = text;
    response->message.content = response->text;
    if (options_.restore_output) {
      for (ToolCall& call : response->message.tool_calls) {
        call.arguments = RestorePii(call.arguments, redaction);
      }
    }
    return absl::OkStatus();
  }

  std::shared_ptr<ChatModel> model_;
  GuardOptions options_;
  std::vector<CompiledPattern> patterns_;
  std::vector<std::string> banned_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChatModel>> WithGuard(std::shared_ptr<ChatModel> model,
                                                     GuardOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("WithGuard: model is null");
  if (options.input_pii == GuardAction::kReask) {
    return absl::InvalidArgumentError("WithGuard: input_pii cannot be kReask (outputs only)");
  }
  if (options.max_reasks < 0) {
    return absl::InvalidArgumentError("WithGuard: max_reasks must be >= 0");
  }
  if ((options.max_input_tokens || options.max_output_tokens) && options.tokenizer == nullptr) {
    return absl::InvalidArgumentError(
        "WithGuard: max_input_tokens and max_output_tokens need a tokenizer");
  }
  for (GuardAction action : {options.validator_action, options.token_limit_action}) {
    if (action == GuardAction::kRedact || action == GuardAction::kFilter) {
      return absl::InvalidArgumentError(
          "WithGuard: validator_action and token_limit_action are kRaise or kReask (nothing to "
          "redact)");
    }
  }
  std::vector<CompiledPattern> patterns;
  for (const GuardPattern& spec : options.patterns) {
    if (spec.name.empty()) return absl::InvalidArgumentError("WithGuard: a pattern needs a name");
    RE2::Options re_options;
    re_options.set_log_errors(false);
    auto re = std::make_unique<RE2>(spec.regex, re_options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "WithGuard: pattern \"", spec.name, "\" does not compile (RE2: ", re->error(), ")"));
    }
    patterns.push_back({spec, std::move(re)});
  }
  return std::unique_ptr<ChatModel>(
      new GuardedModel(std::move(model), std::move(options), std::move(patterns)));
}

}  // namespace llmkit
