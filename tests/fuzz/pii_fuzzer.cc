// Fuzz target: FindPii, RedactPii and RestorePii on arbitrary bytes. Findings must be in text
// order, inside the text and not overlapping; restoring a redaction gives the text back.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llmkit/guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<llmkit::PiiFinding> found = llmkit::FindPii(text);
  size_t last_end = 0;
  for (const llmkit::PiiFinding& f : found) {
    if (f.begin < last_end || f.end <= f.begin || f.end > text.size()) __builtin_trap();
    last_end = f.end;
  }
  llmkit::Redaction r = llmkit::RedactPii(text, found);
  // Placeholders look like "[EMAIL_1]"; a text that already holds one cannot round-trip.
  if (text.find('[') == std::string_view::npos && llmkit::RestorePii(r.text, r) != text) {
    __builtin_trap();
  }
  return 0;
}
