// PartialJsonParser: the best-effort value of a JSON text that is still arriving.

#include <cctype>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "llmkit/status.h"
#include "llmkit/structured.h"

namespace llmkit {
namespace {

constexpr int kMaxDepth = 1024;  // As Json::Parse.

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A tolerant recursive-descent reader of a prefix of a JSON text: it returns what is complete
// (strings closed, numbers and literals ended) and the containers opened so far.
class PrefixReader {
 public:
  // `whole`: the text is all there is (a number at its end is complete).
  PrefixReader(std::string_view text, bool whole) : text_(text), whole_(whole) {}

  // Reads one value. `*complete` tells whether it ended inside the text; `*has_value` whether
  // anything of it can be shown (false for a cut scalar or no value yet).
  absl::Status Value(Json* out, bool* has_value, bool* complete, int depth) {
    *has_value = *complete = false;
    SkipSpace();
    if (at_ >= text_.size()) return absl::OkStatus();
    if (depth > kMaxDepth) return Error("nesting deeper than 1024 levels");
    const char c = text_[at_];
    if (c == '{') return Object(out, has_value, complete, depth);
    if (c == '[') return Array(out, has_value, complete, depth);
    if (c == '"') {
      std::string_view token;
      LLMKIT_RETURN_IF_ERROR(StringToken(&token, complete));
      if (!*complete) return absl::OkStatus();
      return Scalar(token, out, has_value);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = at_;
      while (at_ < text_.size() &&
             (std::isdigit(static_cast<unsigned char>(text_[at_])) || text_[at_] == '-' ||
              text_[at_] == '+' || text_[at_] == '.' || text_[at_] == 'e' || text_[at_] == 'E')) {
        ++at_;
      }
      if (at_ >= text_.size() && !whole_) return absl::OkStatus();  // The number may go on.
      *complete = true;
      return Scalar(text_.substr(start, at_ - start), out, has_value);
    }
    for (std::string_view literal : {"true", "false", "null"}) {
      if (c != literal[0]) continue;
      std::string_view rest = text_.substr(at_, literal.size());
      if (literal.substr(0, rest.size()) != rest) break;
      if (rest.size() < literal.size()) {
        at_ = text_.size();
        return absl::OkStatus();
      }
      at_ += literal.size();
      *complete = true;
      return Scalar(literal, out, has_value);
    }
    return Error(absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }

  bool AtEnd() {
    SkipSpace();
    return at_ >= text_.size();
  }
  size_t at() const { return at_; }

 private:
  absl::Status Error(std::string_view what) const {
    return WithPayload(absl::InvalidArgumentError(absl::StrCat("invalid JSON at byte offset ", at_,
                                                               ": ", std::string(what))),
                       kPayloadByteOffset, absl::StrCat(at_));
  }

  void SkipSpace() {
    while (at_ < text_.size() && Space(text_[at_])) ++at_;
  }

  // The whole token of a string, quotes included; incomplete when it is not closed yet.
  absl::Status StringToken(std::string_view* token, bool* complete) {
    const size_t start = at_++;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '\\') {
        at_ += 2;
        continue;
      }
      ++at_;
      if (c == '"') {
        *token = text_.substr(start, at_ - start);
        *complete = true;
        return absl::OkStatus();
      }
    }
    at_ = text_.size();
    *complete = false;
    return absl::OkStatus();
  }

  // A complete scalar token, decoded by Json::Parse so that it reads as the whole text will.
  absl::Status Scalar(std::string_view token, Json* out, bool* has_value) {
    absl::StatusOr<Json> value = Json::Parse(token);
    if (!value.ok()) {
      return Error(absl::StrCat("bad value ", std::string(token.substr(0, 40))));
    }
    *out = *std::move(value);
    *has_value = true;
    return absl::OkStatus();
  }

  absl::Status Object(Json* out, bool* has_value, bool* complete, int depth) {
    ++at_;
    *out = Json::MakeObject();
    *has_value = true;
    bool first = true;
    while (true) {
      SkipSpace();
      if (at_ >= text_.size()) return absl::OkStatus();
      if (text_[at_] == '}') {
        ++at_;
        *complete = true;
        return absl::OkStatus();
      }
      if (!first) {
        if (text_[at_] != ',') return Error("expected ',' or '}'");
        ++at_;
        SkipSpace();
        if (at_ >= text_.size()) return absl::OkStatus();
      }
      first = false;
      if (text_[at_] != '"') return Error("expected a key");
      std::string_view key_token;
      bool key_complete = false;
      LLMKIT_RETURN_IF_ERROR(StringToken(&key_token, &key_complete));
      if (!key_complete) return absl::OkStatus();
      absl::StatusOr<Json> key = Json::Parse(key_token);
      if (!key.ok()) return Error("bad key");
      SkipSpace();
      if (at_ >= text_.size()) return absl::OkStatus();
      if (text_[at_] != ':') return Error("expected ':'");
      ++at_;
      Json value;
      bool value_shown = false, value_complete = false;
      LLMKIT_RETURN_IF_ERROR(Value(&value, &value_shown, &value_complete, depth + 1));
      if (value_shown) out->Set(key->as_string(), std::move(value));
      if (!value_complete) return absl::OkStatus();
    }
  }

  absl::Status Array(Json* out, bool* has_value, bool* complete, int depth) {
    ++at_;
    *out = Json::MakeArray();
    *has_value = true;
    bool first = true;
    while (true) {
      SkipSpace();
      if (at_ >= text_.size()) return absl::OkStatus();
      if (text_[at_] == ']') {
        ++at_;
        *complete = true;
        return absl::OkStatus();
      }
      if (!first) {
        if (text_[at_] != ',') return Error("expected ',' or ']'");
        ++at_;
      }
      first = false;
      Json value;
      bool value_shown = false, value_complete = false;
      LLMKIT_RETURN_IF_ERROR(Value(&value, &value_shown, &value_complete, depth + 1));
      if (value_shown) out->push_back(std::move(value));
      if (!value_complete) return absl::OkStatus();
    }
  }

  std::string_view text_;
  bool whole_ = false;
  size_t at_ = 0;
};

}  // namespace

absl::Status PartialJsonParser::Finish() {
  if (!status_.ok()) return status_;
  LLMKIT_RETURN_IF_ERROR(Read(/*whole=*/true));
  if (!complete_) {
    status_ =
        WithPayload(absl::InvalidArgumentError(absl::StrCat("invalid JSON at byte offset ",
                                                            text_.size(), ": the text ends early")),
                    kPayloadByteOffset, absl::StrCat(text_.size()));
  }
  return status_;
}

absl::Status PartialJsonParser::Feed(std::string_view delta) {
  if (!status_.ok()) return status_;
  text_.append(delta);
  return Read(/*whole=*/false);
}

absl::Status PartialJsonParser::Read(bool whole) {
  PrefixReader reader(text_, whole);
  Json value;
  bool shown = false, complete = false;
  status_ = reader.Value(&value, &shown, &complete, 0);
  if (!status_.ok()) return status_;
  if (complete && !reader.AtEnd()) {
    status_ =
        WithPayload(absl::InvalidArgumentError(absl::StrCat(
                        "invalid JSON at byte offset ", reader.at(), ": content after the value")),
                    kPayloadByteOffset, absl::StrCat(reader.at()));
    return status_;
  }
  complete_ = complete;
  if (shown) value_ = std::move(value);
  return absl::OkStatus();
}

}  // namespace llmkit
