// Conversion between llmkit::Json and Python objects (None, bool, int, float, str, list, dict).

#ifndef LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
#define LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_

#include <pybind11/pybind11.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "llmkit/json.h"
#include "llmkit/template.h"

namespace llmkit::python {

pybind11::object JsonToPython(const Json& value);

// True if every byte is below 0x80.
bool IsAscii(std::string_view text);
// A new reference to a str of valid UTF-8 `bytes` (null with a Python error set on failure).
// ASCII is copied straight into a compact str, without the UTF-8 decoder's per-byte work;
// `ascii` says the caller already knows the text is ASCII.
PyObject* NewStr(std::string_view bytes, bool ascii = false);

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

// Template variables read from Python values without copying their strings: a TemplateValues
// whose strings are views of the str objects' UTF-8, each str held (a new reference) before the
// GIL is released, so that the render reads live strings even if another thread changes the
// containers meanwhile. Accepts what PythonToJson accepts, with the same errors.
// Threads and nesting as ReusedJson; destroy it with the GIL held.
class BorrowedValues {
 public:
  // `deferred`: Render keeps the GIL until the render has run about a thousand steps, and only
  // then holds the strs (reading the same objects again) and releases it: a short render pays
  // for neither. Only for a render that runs no Python code (no Python loader or tracer), so
  // that nothing can change the objects while the GIL is held. Otherwise every str is held as
  // it is read and the GIL is released for the whole render.
  explicit BorrowedValues(bool deferred = false);
  ~BorrowedValues();
  BorrowedValues(const BorrowedValues&) = delete;
  BorrowedValues& operator=(const BorrowedValues&) = delete;

  // A dict's items (str keys) as the variables.
  TemplateValues& Assign(pybind11::handle dict);
  // A vectorcall's keyword arguments as the variables: names[i] (a tuple of str) = values[i].
  TemplateValues& AssignKeywords(PyObject* const* values, PyObject* names);
  // Renders the values last assigned with `t`, appending to `*out`, the GIL released as the
  // constructor says. Call with the GIL held.
  absl::Status RenderTo(const Template& t, std::string* out);

  struct Slot;

 private:
  Slot* slot_ = nullptr;
  std::unique_ptr<Slot> own_;  // When every per-thread slot is taken.
};

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_JSON_CONVERSION_H_
