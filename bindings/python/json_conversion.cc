// llmkit::Json <-> Python objects.

#include "json_conversion.h"

#include <string>

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

Json PythonToJson(py::handle value) {
  if (value.is_none()) return Json();
  if (py::isinstance<py::bool_>(value)) return Json(value.cast<bool>());
  if (py::isinstance<py::int_>(value)) {
    try {
      return Json(value.cast<int64_t>());
    } catch (const py::cast_error&) {
      throw StatusError(absl::InvalidArgumentError("integer does not fit in 64 bits"));
    }
  }
  if (py::isinstance<py::float_>(value)) return Json(value.cast<double>());
  if (py::isinstance<py::str>(value)) return Json(value.cast<std::string>());
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    Json::Array items;
    for (py::handle item : value) items.push_back(PythonToJson(item));
    return Json(std::move(items));
  }
  if (py::isinstance<py::dict>(value)) {
    Json::Object members;
    for (auto [key, member] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key)) {
        throw StatusError(absl::InvalidArgumentError("JSON object keys must be str"));
      }
      members.emplace_back(key.cast<std::string>(), PythonToJson(member));
    }
    return Json(std::move(members));
  }
  throw StatusError(absl::InvalidArgumentError(
      "cannot convert " + std::string(py::str(value.get_type().attr("__name__"))) + " to JSON"));
}

}  // namespace llmkit::python
