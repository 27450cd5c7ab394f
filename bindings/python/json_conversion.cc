// llmkit::Json <-> Python objects.

#include "json_conversion.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {

py::object JsonToPython(const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull:
      return py::none();
    case Json::Type::kBool:
      return py::bool_(value.as_bool());
    case Json::Type::kInt:
      return py::int_(value.as_int());
    case Json::Type::kDouble:
      return py::float_(value.as_double());
    case Json::Type::kString:
      return py::str(value.as_string());
    case Json::Type::kArray: {
      py::list items;
      for (const Json& item : value.as_array()) items.append(JsonToPython(item));
      return items;
    }
    case Json::Type::kObject: {
      py::dict members;
      for (const auto& [key, member] : value.as_object())
        members[py::str(key)] = JsonToPython(member);
      return members;
    }
  }
  return py::none();
}

namespace {

// Deeper values are refused, as json_loads refuses text nested deeper than this: the conversion
// recurses, and the host's stack is not ours. A list or dict that contains itself is refused as
// Python's json.dumps refuses it ("circular reference detected").
constexpr size_t kMaxDepth = 1024;

[[noreturn]] void Refuse(std::string message) {
  throw StatusError(absl::InvalidArgumentError(std::move(message)));
}

std::string TypeName(PyObject* value) { return Py_TYPE(value)->tp_name; }

Json ConvertContainer(PyObject* value, std::vector<PyObject*>& path);

// The UTF-8 bytes of a str; one with a lone surrogate (which UTF-8 cannot hold) is refused with
// its index, as an llmkit error rather than Python's UnicodeEncodeError.
const char* Utf8OrRefuse(PyObject* text, Py_ssize_t* size) {
  const char* data = PyUnicode_AsUTF8AndSize(text, size);
  if (data != nullptr) return data;
  if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) throw py::error_already_set();
  PyErr_Clear();
  Py_ssize_t length = PyUnicode_GetLength(text);
  Py_ssize_t at = 0;
  while (at < length) {
    Py_UCS4 c = PyUnicode_ReadChar(text, at);
    if (c >= 0xD800 && c <= 0xDFFF) break;
    ++at;
  }
  char code[16];
  std::snprintf(code, sizeof(code), "U+%04X", static_cast<unsigned>(PyUnicode_ReadChar(text, at)));
  Refuse(absl::StrCat("a str holds a lone surrogate (", code, ") at index ", at,
                      ", which UTF-8 cannot encode"));
}

// Reads Python values with the C API directly: pybind11's casters build temporary objects
// (a bytes copy of every str), which made converting a chat context cost more than rendering it.
// `path` holds the containers being converted, outermost first.
Json Convert(PyObject* value, std::vector<PyObject*>& path) {
  // Strings first: they are most of a chat context.
  if (PyUnicode_Check(value)) {
    Py_ssize_t size = 0;
    const char* data = Utf8OrRefuse(value, &size);
    return Json(std::string(data, static_cast<size_t>(size)));
  }
  if (value == Py_None) return Json();
  if (PyBool_Check(value)) return Json(value == Py_True);
  if (PyLong_Check(value)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow != 0) Refuse("integer does not fit in 64 bits");
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return Json(static_cast<int64_t>(v));
  }
  if (PyFloat_Check(value)) return Json(PyFloat_AS_DOUBLE(value));
  if (!PyList_Check(value) && !PyTuple_Check(value) && !PyDict_Check(value)) {
    Refuse("cannot convert " + TypeName(value) + " to JSON");
  }
  if (std::find(path.begin(), path.end(), value) != path.end()) {
    Refuse("circular reference detected: a list or dict contains itself");
  }
  if (path.size() >= kMaxDepth) {
    Refuse(absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
  }
  path.push_back(value);
  Json out = ConvertContainer(value, path);
  path.pop_back();
  return out;
}

Json ConvertContainer(PyObject* value, std::vector<PyObject*>& path) {
  if (PyList_Check(value) || PyTuple_Check(value)) {
    // PySequence_Fast_* read a list's or a tuple's items alike; converting runs no Python code,
    // so the list cannot change under the loop.
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
    PyObject** items = PySequence_Fast_ITEMS(value);
    Json::Array out;
    out.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) out.push_back(Convert(items[i], path));
    return Json(std::move(out));
  }
  Json::Object members;
  members.reserve(static_cast<size_t>(PyDict_GET_SIZE(value)));
  Py_ssize_t position = 0;
  PyObject *key = nullptr, *member = nullptr;
  while (PyDict_Next(value, &position, &key, &member)) {
    if (!PyUnicode_Check(key)) Refuse("JSON object keys must be str, got " + TypeName(key));
    Py_ssize_t size = 0;
    const char* data = Utf8OrRefuse(key, &size);
    members.emplace_back(std::string(data, static_cast<size_t>(size)), Convert(member, path));
  }
  return Json(std::move(members));
}

}  // namespace

Json PythonToJson(py::handle value) {
  std::vector<PyObject*> path;
  return Convert(value.ptr(), path);
}

}  // namespace llmkit::python
