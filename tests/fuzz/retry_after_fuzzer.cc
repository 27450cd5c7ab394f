// Fuzz target: server retry hints (Retry-After as seconds or an HTTP date, retry-after-ms) on
// arbitrary bytes. The first byte picks the header; the wait must stay within [0, the policy's
// cap] for a hint, or within the jittered backoff bounds when the hint is unreadable.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace {

class FixedClock final : public llmkit::Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return {}; }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795435200));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)llmkit::ParseHttpDate(value);
  absl::Status status = llmkit::WithPayload(
      absl::UnavailableError("503"),
      data[0] % 2 == 0 ? llmkit::kPayloadRetryAfter : llmkit::kPayloadRetryAfterMs, value);
  llmkit::RetryPolicy policy;
  FixedClock clock;
  const std::chrono::nanoseconds wait =
      llmkit::RetryDelay(status, data[0] % 8, policy, clock, (data[0] % 5) / 4.0);
  if (wait < std::chrono::nanoseconds(0) || wait > policy.max_retry_after) std::abort();
  return 0;
}
