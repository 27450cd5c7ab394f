// WithGuard: checks (PII, banned terms, a caller's validator) on what goes to a chat model and on
// what comes back, raising or redacting.

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

class GuardedModel final : public ChatModel {
 public:
  GuardedModel(std::shared_ptr<ChatModel> model, GuardOptions options)
      : model_(std::move(model)), options_(std::move(options)) {
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
    const bool hold = options_.output_pii.has_value() || !banned_.empty() ||
                      options_.validator != nullptr || !redaction.placeholders.empty();
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
  absl::Status Banned(std::string_view text, std::string_view where) const {
    if (banned_.empty()) return absl::OkStatus();
    const std::string lower = absl::AsciiStrToLower(internal::ToAbsl(text));
    for (const std::string& term : banned_) {
      for (size_t at = lower.find(term); at != std::string::npos; at = lower.find(term, at + 1)) {
        const size_t end = at + term.size();
        if ((at == 0 || !WordByte(lower[at - 1])) &&
            (end >= lower.size() || !WordByte(lower[end]))) {
          return Refuse("banned term", where, at, end);
        }
      }
    }
    return absl::OkStatus();
  }

  // Checks and (redacting) rewrites one text; `redaction` gathers the placeholders.
  absl::StatusOr<std::string> CheckText(std::string_view text, bool output, std::string where,
                                        Redaction* redaction) const {
    LLMKIT_RETURN_IF_ERROR(Banned(text, where));
    if (options_.validator) {
      absl::Status s = options_.validator(text, output);
      if (!s.ok()) return s;
    }
    const std::optional<GuardAction>& action = output ? options_.output_pii : options_.input_pii;
    if (!action) return std::string(text);
    std::vector<PiiFinding> found = FindPii(text, options_.pii);
    if (found.empty()) return std::string(text);
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
    for (auto& [placeholder, original] : r.placeholders) {
      auto same = std::find_if(redaction->placeholders.begin(), redaction->placeholders.end(),
                               [&](const auto& p) { return p.second == original; });
      std::string final_placeholder = placeholder;
      if (same != redaction->placeholders.end()) {
        final_placeholder = same->first;
      } else {
        const std::string stem = placeholder.substr(0, placeholder.rfind('_'));
        int n = 0;
        for (const auto& p : redaction->placeholders) n += p.first.rfind(stem + "_", 0) == 0;
        final_placeholder = absl::StrCat(stem, "_", n + 1, "]");
        redaction->placeholders.emplace_back(final_placeholder, original);
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
    for (size_t i = 0; i < out.messages.size(); ++i) {
      Message& m = out.messages[i];
      absl::StatusOr<std::string> content =
          CheckText(m.content, false, absl::StrCat("messages[", i, "].content"), redaction);
      if (!content.ok()) return content.status();
      m.content = *std::move(content);
      for (size_t p = 0; p < m.parts.size(); ++p) {
        if (m.parts[p].type != "text") continue;
        absl::StatusOr<std::string> text = CheckText(
            m.parts[p].text, false, absl::StrCat("messages[", i, "].parts[", p, "]"), redaction);
        if (!text.ok()) return text.status();
        m.parts[p].text = *std::move(text);
      }
    }
    return out;
  }

  // Checks `response`; with kReask, asks again (non-streamed) while the answer holds PII.
  absl::StatusOr<ChatResponse> Settle(ChatRequest request, ChatResponse response,
                                      const Redaction& redaction, const CallContext& call) const {
    Usage total = response.usage;
    int attempts = response.attempts;
    for (int reask = 0;; ++reask) {
      std::optional<PiiFinding> leak;
      LLMKIT_RETURN_IF_ERROR(CheckOutput(&response, redaction, &leak));
      if (!leak) break;
      if (reask >= options_.max_reasks) {
        return Refuse(absl::StrCat("pii:", std::string(PiiKindName(leak->kind))), "answer",
                      leak->begin, leak->end);
      }
      request.messages.push_back(Message{.role = "assistant", .content = response.text});
      request.messages.push_back(Message{
          .role = "user",
          .content =
              absl::StrCat("Your answer included ",
                           leak->kind == PiiKind::kSecret ? "a secret" : "personal data", " (",
                           std::string(PiiKindName(leak->kind)), "). Answer again without any.")});
      absl::StatusOr<ChatResponse> again = model_->Complete(request, call);
      if (!again.ok()) return again.status();
      response = *std::move(again);
      total.input_tokens += response.usage.input_tokens;
      total.output_tokens += response.usage.output_tokens;
      total.total_tokens += response.usage.total_tokens;
      total.cached_input_tokens += response.usage.cached_input_tokens;
      total.cache_creation_input_tokens += response.usage.cache_creation_input_tokens;
      total.reasoning_tokens += response.usage.reasoning_tokens;
      attempts += response.attempts;
    }
    response.usage = total;
    response.attempts = attempts;
    return response;
  }

  // Checks the answer as the model wrote it (placeholders of redacted input are not PII), then
  // puts the caller's own values back. With kReask, a finding is reported in `*leak` instead.
  // Redacted output spans become "[EMAIL REDACTED]" and the like, which no input placeholder can be
  // mistaken for.
  absl::Status CheckOutput(ChatResponse* response, const Redaction& redaction,
                           std::optional<PiiFinding>* leak) const {
    std::string text = response->text;
    LLMKIT_RETURN_IF_ERROR(Banned(text, "answer"));
    if (options_.validator) LLMKIT_RETURN_IF_ERROR(options_.validator(text, true));
    if (options_.output_pii) {
      std::vector<PiiFinding> found = FindPii(text, options_.pii);
      if (!found.empty() && *options_.output_pii == GuardAction::kRaise) {
        return Refuse(absl::StrCat("pii:", std::string(PiiKindName(found[0].kind))), "answer",
                      found[0].begin, found[0].end);
      }
      if (!found.empty() && *options_.output_pii == GuardAction::kReask) {
        *leak = found[0];
        return absl::OkStatus();
      }
      const bool filter = *options_.output_pii == GuardAction::kFilter;
      for (auto f = found.rbegin(); f != found.rend(); ++f) {
        std::string label(PiiKindName(f->kind));
        for (char& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        text.replace(f->begin, f->end - f->begin, filter ? "" : "[" + label + " REDACTED]");
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
  return std::unique_ptr<ChatModel>(new GuardedModel(std::move(model), std::move(options)));
}

}  // namespace llmkit
