// The Python side of the call context (llmkit/call.h): the `timeout=`, `idle_timeout=` and
// `tags=` keywords every calling method takes, turned into a CallContext.

#ifndef LLMKIT_BINDINGS_PYTHON_CALL_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_CALL_CONVERSION_H_

#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "llmkit/call.h"
#include "status_conversion.h"

namespace llmkit::python {

// Seconds as a duration; InvalidArgumentError naming `keyword` unless finite and > 0.
inline std::chrono::nanoseconds PositiveSeconds(double seconds, const char* keyword) {
  if (!std::isfinite(seconds) || seconds <= 0) {
    throw StatusError(absl::InvalidArgumentError(
        absl::StrCat(keyword, " must be a positive number of seconds, not ", seconds)));
  }
  // Far-future timeouts saturate rather than overflow.
  if (seconds > 1e9) return std::chrono::hours(24 * 365 * 30);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(seconds));
}

// `timeout`: seconds from now for the whole call (None: no deadline — non-streamed calls then get
// the client's request_timeout). `idle_timeout`: longest silence of a stream in seconds (None:
// the default, 60 s; 0: none). `tags`: a dict of str to str (None: no tags); anything else is a
// TypeError naming `tags`.
inline CallContext ToCallContext(std::optional<double> timeout, std::optional<double> idle_timeout,
                                 const pybind11::object& tags) {
  CallContext call;
  if (timeout) call.deadline = CallContext::DeadlineAfter(PositiveSeconds(*timeout, "timeout"));
  if (idle_timeout) {
    call.idle_timeout = *idle_timeout == 0 ? std::chrono::milliseconds(0)
                                           : std::chrono::ceil<std::chrono::milliseconds>(
                                                 PositiveSeconds(*idle_timeout, "idle_timeout"));
  }
  if (!tags.is_none()) {
    if (!pybind11::isinstance<pybind11::dict>(tags)) {
      throw pybind11::type_error("tags must be a dict of str to str");
    }
    for (auto [key, value] : tags.cast<pybind11::dict>()) {
      if (!pybind11::isinstance<pybind11::str>(key) ||
          !pybind11::isinstance<pybind11::str>(value)) {
        throw pybind11::type_error("tags must be a dict of str to str");
      }
      call.tags.emplace(key.cast<std::string>(), value.cast<std::string>());
    }
  }
  return call;
}

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_CALL_CONVERSION_H_
