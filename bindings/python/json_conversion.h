// Conversion between llmkit::Json and Python objects (None, bool, int, float, str, list, dict).

#ifndef LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_

#include <pybind11/pybind11.h>

#include <cstddef>

#include "llmkit/json.h"

namespace llmkit::python {

pybind11::object JsonToPython(const Json& value);

// Accepts None, bool, int (64-bit), float, str, list/tuple, dict with str keys, nested at
// most 1024 deep. Throws StatusError(kInvalidArgument) for anything else (naming the type),
// and error_already_set for a str that is not valid Unicode (lone surrogates).
Json PythonToJson(pybind11::handle value);

// A converted value kept on this thread for the next call: converting a value shaped like the
// last one (a chat context, render after render) assigns into the strings and vectors already
// there instead of allocating new ones. Hold one for the length of one call; the reference
// Assign returns is valid until the next Assign or the end of the holder's life.
// Threads: the storage is per thread; a holder must be used and destroyed on the thread that
// made it (it may release the GIL in between). Nested holders take separate storage.
class ReusedJson {
 public:
  ReusedJson();
  ~ReusedJson();
  ReusedJson(const ReusedJson&) = delete;
  ReusedJson& operator=(const ReusedJson&) = delete;

  // As PythonToJson (same values accepted, same errors).
  const Json& Assign(pybind11::handle value);
  // An object of a vectorcall's keyword arguments: names[i] (a tuple of str) = values[i].
  const Json& AssignKeywords(PyObject* const* values, PyObject* names);

 private:
  Json* value_ = nullptr;
  Json own_;  // When every per-thread slot is taken.
  size_t bytes_ = 0;
};

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
