// Find and redact personal data and secrets before text leaves the process.
#include <cstdio>

#include "llmkit/guard.h"

int main() {
  const std::string text =
      "Ada (ada@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111; "
      "build 2025-07-10T12:00:00Z, commit 9fceb02d0ae598e95dc970b74767f19372d61af8.";
  std::vector<llmkit::PiiFinding> found = llmkit::FindPii(text);
  for (const llmkit::PiiFinding& f : found) {
    std::printf("%s at bytes %zu-%zu\n", std::string(llmkit::PiiKindName(f.kind)).c_str(), f.begin,
                f.end);
  }
  // Ada ([EMAIL_1], [PHONE_1]) paid with [CARD_1]; build 2025-07-10T12:00:00Z, commit 9fceb02...
  llmkit::Redaction redacted = llmkit::RedactPii(text, found);
  std::printf("%s\n", redacted.text.c_str());
  // A model's answer that mentions a placeholder gets the original back.
  std::printf("%s\n", llmkit::RestorePii("I emailed [EMAIL_1].", redacted).c_str());
  return found.size() == 3 ? 0 : 1;
}
