// Fuzz target: PriceTable::Parse (a user's LiteLLM-format price file) on arbitrary bytes. A table
// that parses must resolve names and price usages, with and without provider prefixes, dated
// snapshots and tiers, without crashing; every amount it returns is finite.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llmkit/cost.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<llmkit::PriceTable> table = llmkit::PriceTable::Parse(text);
  if (!table.ok()) return 0;
  llmkit::Usage usage{.input_tokens = 300'000,
                      .output_tokens = 1'000,
                      .total_tokens = 301'000,
                      .cached_input_tokens = 200'000,
                      .cache_creation_input_tokens = 150'000,
                      .reasoning_tokens = 5'000};
  for (std::string_view model : {"m", "x/m", "M-2024-08-06", "m-latest", "", "gpt-4o"}) {
    for (std::string_view provider : {"", "x"}) {
      llmkit::Cost cost = table->Price(model, usage, provider);
      if (!std::isfinite(cost.total) || cost.total < 0) std::abort();
    }
  }
  return 0;
}
