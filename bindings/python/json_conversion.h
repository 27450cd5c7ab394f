// Conversion between llmkit::Json and Python objects (None, bool, int, float, str, list, dict).

#ifndef LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_

#include <pybind11/pybind11.h>

#include "llmkit/json.h"

namespace llmkit::python {

pybind11::object JsonToPython(const Json& value);

// Accepts None, bool, int (64-bit), float, str, list/tuple, dict with str keys, nested at
// most 1024 deep. Throws StatusError(kInvalidArgument) for anything else (naming the type),
// and error_already_set for a str that is not valid Unicode (lone surrogates).
Json PythonToJson(pybind11::handle value);

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
