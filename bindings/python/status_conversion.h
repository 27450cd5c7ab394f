// Turns absl statuses into llmkit.Error exceptions (llmkit/_errors.py) for the Python module.

#ifndef LLMKIT_BINDINGS_PYTHON_STATUS_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_STATUS_CONVERSION_H_

#include <pybind11/pybind11.h>

#include <stdexcept>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmkit::python {

// Carries a non-OK status from C++ code to the exception translator.
class StatusError : public std::exception {
 public:
  explicit StatusError(absl::Status status) : status_(std::move(status)) {}
  const absl::Status& status() const { return status_; }
  const char* what() const noexcept override { return "llmkit status"; }

 private:
  absl::Status status_;
};

inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw StatusError(status);
}

template <typename T>
T ValueOrThrow(absl::StatusOr<T> status_or) {
  if (!status_or.ok()) throw StatusError(status_or.status());
  return *std::move(status_or);
}

// Sets the Python error indicator to the llmkit.Error subclass for `status` (not OK); for
// callbacks that must not throw through C++ code. Needs the GIL.
void SetPythonError(const absl::Status& status);

// Registers the translator from StatusError to llmkit.Error subclasses.
void RegisterStatusTranslator();

// For functions written against the C API (vectorcall methods): call inside a catch block; sets
// the Python error for the exception in flight as pybind11's dispatcher does (a Python error is
// restored, anything else goes through the registered translators) and returns nullptr.
PyObject* RaiseCurrentException();

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_STATUS_CONVERSION_H_
