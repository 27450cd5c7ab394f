// Redact: credentials out of error messages and payloads.

#include "http/redact.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace llmkit::internal {

std::vector<std::string> SecretsOf(const HttpHeaders& headers) {
  std::vector<std::string> out;
  auto add = [&](absl::string_view value) {
    value = absl::StripAsciiWhitespace(value);
    if (value.size() >= 8) out.emplace_back(value);
  };
  for (const auto& [name, value] : headers) {
    if (!absl::EqualsIgnoreCase(name, "authorization") &&
        !absl::EqualsIgnoreCase(name, "proxy-authorization") &&
        !absl::EqualsIgnoreCase(name, "x-api-key") && !absl::EqualsIgnoreCase(name, "api-key")) {
      continue;
    }
    add(value);
    for (absl::string_view scheme : {"Bearer ", "Basic "}) {
      if (absl::StartsWithIgnoreCase(value, scheme))
        add(absl::string_view(value).substr(scheme.size()));
    }
  }
  // Longer first, so a token is not left half-replaced inside its "Bearer ..." form.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

absl::Status Redact(absl::Status status, const std::vector<std::string>& secrets) {
  if (status.ok() || secrets.empty()) return status;
  auto scrub = [&](std::string text, bool* changed) {
    for (const std::string& secret : secrets) {
      if (absl::StrContains(text, secret)) {
        text = absl::StrReplaceAll(text, {{secret, "[redacted]"}});
        *changed = true;
      }
    }
    return text;
  };
  bool changed = false;
  std::string message = scrub(std::string(status.message()), &changed);
  std::vector<std::pair<std::string, std::string>> payloads;
  status.ForEachPayload([&](absl::string_view key, const absl::Cord& value) {
    payloads.emplace_back(std::string(key), std::string(value));
  });
  for (auto& [key, value] : payloads) value = scrub(std::move(value), &changed);
  if (!changed) return status;
  absl::Status out(status.code(), message);
  for (auto& [key, value] : payloads) out.SetPayload(key, absl::Cord(std::move(value)));
  return out;
}

}  // namespace llmkit::internal
