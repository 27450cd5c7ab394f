// Must(value): the value of a StatusOr that a test expects to be OK; a failed one aborts the test
// program with the status (so the test cannot read an empty value).

#ifndef LLMKIT_TESTS_COMMON_MUST_H_
#define LLMKIT_TESTS_COMMON_MUST_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace llmkit::testing {

template <typename T>
T Must(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::fprintf(stderr, "Must: %s\n", std::string(value.status().ToString()).c_str());
    std::abort();
  }
  return *std::move(value);
}

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_COMMON_MUST_H_
