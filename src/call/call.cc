// CallContext's checks.

#include "llmkit/call.h"

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace llmkit {

absl::Status CallContext::Check(std::string_view what, Clock::time_point now) const {
  if (cancelled()) return absl::CancelledError(absl::StrCat(internal::ToAbsl(what), ": cancelled"));
  if (has_deadline() && now >= deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat(internal::ToAbsl(what), ": the call's deadline has passed"));
  }
  return absl::OkStatus();
}

}  // namespace llmkit
