// The _llmkit extension module: status translation, JSON helpers, and each part's bindings.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "json_conversion.h"
#include "llmkit/json.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {

void SetPythonError(const absl::Status& status) {
  py::dict payloads;
  status.ForEachPayload([&](absl::string_view key, const absl::Cord& value) {
    payloads[py::str(key.data(), key.size())] = py::str(std::string(value));
  });
  py::object exception = py::module_::import("llmkit._errors")
                             .attr("_from_status")(static_cast<int>(status.code()),
                                                   std::string(status.message()), payloads);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
}

void RegisterStatusTranslator() {
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const StatusError& error) {
      SetPythonError(error.status());
    }
  });
}

PyObject* RaiseCurrentException() {
  try {
    throw;
  } catch (py::error_already_set& error) {
    error.restore();
  } catch (...) {
    namespace detail = py::detail;
    if (!detail::apply_exception_translators(
            detail::get_local_internals().registered_exception_translators) &&
        !detail::apply_exception_translators(
            detail::get_internals().registered_exception_translators)) {
      PyErr_SetString(PyExc_SystemError, "a C++ exception escaped every translator");
    }
  }
  return nullptr;
}

void BindChunkers(py::module_& module);   // chunker_bindings.cc
void BindTokenizer(py::module_& module);  // tokenizer_bindings.cc
void BindClients(py::module_& module);    // client_bindings.cc
void BindTemplates(py::module_& module);  // template_bindings.cc
void BindIndex(py::module_& module);      // index_bindings.cc
void BindRag(py::module_& module);        // rag_bindings.cc
void BindSchema(py::module_& module);     // schema_bindings.cc
void BindGuard(py::module_& module);      // guard_bindings.cc
void BindObserve(py::module_& module);    // observe_bindings.cc
void BindCost(py::module_& module);       // cost_bindings.cc
void BindCache(py::module_& module);      // cache_bindings.cc
void BindAgents(py::module_& module);     // agent_bindings.cc
void BindEval(py::module_& module);       // eval_bindings.cc

}  // namespace llmkit::python

PYBIND11_MODULE(_llmkit, module) {
  using namespace llmkit::python;
  module.doc() = "llmkit C++ core; import the llmkit package instead of this module.";
  module.attr("__version__") = LLMKIT_VERSION;
  RegisterStatusTranslator();

  module.def(
      "json_loads",
      [](const std::string& text) { return JsonToPython(ValueOrThrow(llmkit::Json::Parse(text))); },
      py::arg("text"),
      "Parses JSON with llmkit's parser (simdjson). Raises InvalidArgumentError with "
      ".byte_offset.");
  module.def(
      "json_dumps",
      [](py::handle value, int indent, bool sort_keys, bool ensure_ascii, bool python_style) {
        llmkit::JsonDumpOptions options =
            python_style ? llmkit::JsonDumpOptions::PythonStyle(indent) : llmkit::JsonDumpOptions{};
        options.indent = indent;
        options.sort_keys = sort_keys;
        options.ensure_ascii = ensure_ascii;
        return PythonToJson(value).Dump(options);
      },
      py::arg("value"), py::kw_only(), py::arg("indent") = -1, py::arg("sort_keys") = false,
      py::arg("ensure_ascii") = false, py::arg("python_style") = false,
      "Serializes with llmkit's writer; python_style=True prints what json.dumps prints.");

  BindChunkers(module);
  BindTokenizer(module);
  BindClients(module);
  BindTemplates(module);
  BindIndex(module);
  BindCost(module);
  BindCache(module);
  BindRag(module);
  BindSchema(module);
  BindGuard(module);
  BindObserve(module);
  BindAgents(module);
  BindEval(module);
}
