// Python bindings of schema.h: JsonSchema and SchemaError.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "json_conversion.h"
#include "llmkit/schema.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

Json SchemaJson(const py::object& schema) {
  if (py::isinstance<py::str>(schema)) {
    return ValueOrThrow(Json::Parse(py::cast<std::string>(schema)));
  }
  return PythonToJson(schema);
}

// The resolver as C++ calls it during Compile (on the calling thread, GIL held).
std::function<absl::StatusOr<Json>(std::string_view)> WrapResolver(py::object resolver) {
  if (resolver.is_none()) return nullptr;
  return [resolver = std::move(resolver)](std::string_view uri) -> absl::StatusOr<Json> {
    try {
      py::object document = resolver(py::str(uri.data(), uri.size()));
      if (document.is_none()) {
        return absl::NotFoundError(
            absl::StrCat("the resolver has no schema for '", std::string(uri), "'"));
      }
      return SchemaJson(document);
    } catch (py::error_already_set& e) {
      return absl::NotFoundError(
          absl::StrCat("the resolver failed for '", std::string(uri), "': ", e.what()));
    }
  };
}

[[noreturn]] void RaiseValidationError(std::vector<SchemaError> errors) {
  std::string message = absl::StrCat("instance is not valid: ", errors.size(), " error",
                                     errors.size() == 1 ? "" : "s");
  for (size_t i = 0; i < errors.size() && i < 5; ++i) {
    absl::StrAppend(&message, i == 0 ? ": " : "; ", errors[i].message, " at '",
                    errors[i].instance_path, "' (", errors[i].keyword_location, ")");
  }
  py::object cls = py::module_::import("llmkit._errors").attr("ValidationError");
  py::object exception = cls(message, py::cast(std::move(errors)));
  PyErr_SetObject(cls.ptr(), exception.ptr());
  throw py::error_already_set();
}

}  // namespace

void BindSchema(py::module_& module) {
  py::class_<SchemaError>(module, "SchemaError", "One failed assertion of a JsonSchema.")
      .def_readonly("instance_path", &SchemaError::instance_path,
                    "JSON Pointer into the instance ('' is the whole instance).")
      .def_readonly("keyword_location", &SchemaError::keyword_location,
                    "JSON Pointer through the schema, e.g. '/properties/a/type'.")
      .def_readonly("message", &SchemaError::message)
      .def("__repr__", [](const SchemaError& e) {
        return absl::StrCat("<SchemaError ", e.keyword_location, " at '", e.instance_path,
                            "': ", e.message, ">");
      });

  py::class_<JsonSchema>(module, "JsonSchema",
                         "A compiled JSON Schema (drafts 2020-12 and draft-07).")
      .def(py::init([](const py::object& schema, bool formats, const py::object& resolver,
                       const std::string& draft, bool all_errors) {
             SchemaOptions options;
             options.assert_formats = formats;
             options.all_errors = all_errors;
             options.resolver = WrapResolver(resolver);
             if (draft == "draft7" || draft == "draft-07") {
               options.default_draft = SchemaDraft::kDraft7;
             } else if (draft != "2020-12") {
               throw StatusError(absl::InvalidArgumentError(
                   absl::StrCat("draft must be '2020-12' or 'draft7', got '", draft, "'")));
             }
             return ValueOrThrow(JsonSchema::Compile(SchemaJson(schema), options));
           }),
           py::arg("schema"), py::kw_only(), py::arg("formats") = false,
           py::arg("resolver") = py::none(), py::arg("draft") = "2020-12",
           py::arg("all_errors") = true,
           "schema: a dict, a bool, or JSON text. formats: assert `format`. resolver: "
           "uri -> schema (dict or JSON text) or None, for $refs outside the schema. draft: "
           "of a schema without $schema.")
      .def(
          "is_valid",
          [](const JsonSchema& s, const py::object& instance) {
            Json value = PythonToJson(instance);
            py::gil_scoped_release release;
            return s.IsValid(value);
          },
          py::arg("instance"))
      .def(
          "is_valid_json",
          [](const JsonSchema& s, const std::string& text) {
            Json value = ValueOrThrow(Json::Parse(text));
            py::gil_scoped_release release;
            return s.IsValid(value);
          },
          py::arg("text"), "As is_valid, for an instance given as JSON text.")
      .def(
          "errors",
          [](const JsonSchema& s, const py::object& instance) {
            Json value = PythonToJson(instance);
            py::gil_scoped_release release;
            return s.Validate(value);
          },
          py::arg("instance"), "The errors (empty when valid).")
      .def(
          "validate",
          [](const JsonSchema& s, const py::object& instance) {
            std::vector<SchemaError> errors = s.Validate(PythonToJson(instance));
            if (!errors.empty()) RaiseValidationError(std::move(errors));
          },
          py::arg("instance"), "Raises ValidationError (with .errors) when not valid.")
      .def(
          "validate_json",
          [](const JsonSchema& s, const std::string& text) {
            std::vector<SchemaError> errors = s.Validate(ValueOrThrow(Json::Parse(text)));
            if (!errors.empty()) RaiseValidationError(std::move(errors));
          },
          py::arg("text"), "As validate, for an instance given as JSON text.");
}

}  // namespace llmkit::python
