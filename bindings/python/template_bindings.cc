// Python bindings of template.h: Template, ChatTemplate, FStringTemplate.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "json_conversion.h"
#include "llmkit/observe.h"
#include "llmkit/prompt_registry.h"
#include "llmkit/template.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

// The variables of a render: an optional mapping plus keyword arguments (which win), converted
// into `holder` (a ReusedJson or a BorrowedValues: storage the last render on this thread left
// shaped like this one).
template <typename Holder>
auto& Variables(const py::object& context, const py::dict& kwargs, Holder& holder) {
  if (context.is_none()) return holder.Assign(kwargs);
  if (!py::isinstance<py::dict>(context)) {
    throw StatusError(absl::InvalidArgumentError("render() takes a dict of variables"));
  }
  if (kwargs.empty()) return holder.Assign(context);
  // A copy (the caller's dict is left as it was); py::dict(context) would share it.
  auto merged = py::reinterpret_steal<py::dict>(PyDict_Copy(context.ptr()));
  if (!merged) throw py::error_already_set();
  for (auto item : kwargs) merged[item.first] = item.second;
  return holder.Assign(merged);
}

// A Python callable usable from any thread: the reference lives in a shared_ptr whose deleter
// takes the GIL, and each call takes it too.
std::function<absl::StatusOr<std::string>(std::string_view)> WrapLoader(py::object loader) {
  if (loader.is_none()) return nullptr;
  auto held = std::shared_ptr<py::object>(new py::object(std::move(loader)), [](py::object* o) {
    py::gil_scoped_acquire gil;
    delete o;
  });
  return [held](std::string_view name) -> absl::StatusOr<std::string> {
    py::gil_scoped_acquire gil;
    try {
      py::object result = (*held)(py::str(name.data(), name.size()));
      if (result.is_none()) {
        return absl::NotFoundError(absl::StrCat("template '", std::string(name), "' not found"));
      }
      return py::cast<std::string>(result);
    } catch (py::error_already_set& e) {
      return absl::NotFoundError(
          absl::StrCat("loader failed for '", std::string(name), "': ", e.what()));
    }
  };
}

// `now`: None (the real clock), a datetime (naive = local time, as Python's strftime sees it)
// or seconds since the epoch.
std::function<absl::Time()> FixedClock(const py::object& now) {
  if (now.is_none()) return nullptr;
  double seconds = py::hasattr(now, "timestamp") ? py::cast<double>(now.attr("timestamp")())
                                                 : py::cast<double>(now);
  absl::Time t = absl::FromUnixNanos(static_cast<int64_t>(seconds * 1e9));
  return [t] { return t; };
}

// Every limit of TemplateLimits, by the same names; each must be positive. max_render_time is
// in seconds (None: no limit).
TemplateLimits Limits(int64_t max_output_bytes, int64_t max_loop_iterations,
                      int64_t max_recursion_depth, int64_t max_memory_bytes,
                      int64_t max_nesting_depth, const py::object& max_render_time) {
  auto positive = [](int64_t value, const char* name, int64_t most) {
    if (value < 1 || value > most) {
      ThrowIfError(absl::InvalidArgumentError(
          absl::StrCat(name, " must be in [1, ", most, "], got ", value)));
    }
  };
  positive(max_output_bytes, "max_output_bytes", int64_t{1} << 40);
  positive(max_loop_iterations, "max_loop_iterations", int64_t{1} << 62);
  positive(max_recursion_depth, "max_recursion_depth", 100000);
  positive(max_memory_bytes, "max_memory_bytes", int64_t{1} << 40);
  positive(max_nesting_depth, "max_nesting_depth", 100000);
  TemplateLimits limits;
  limits.max_output_bytes = static_cast<size_t>(max_output_bytes);
  limits.max_loop_iterations = static_cast<uint64_t>(max_loop_iterations);
  limits.max_recursion_depth = static_cast<int>(max_recursion_depth);
  limits.max_memory_bytes = static_cast<size_t>(max_memory_bytes);
  limits.max_nesting_depth = static_cast<int>(max_nesting_depth);
  if (max_render_time.is_none()) {
    limits.max_render_time = absl::InfiniteDuration();
  } else {
    double seconds = py::cast<double>(max_render_time);
    if (!(seconds > 0) || seconds > 1e9) {
      ThrowIfError(absl::InvalidArgumentError(absl::StrCat(
          "max_render_time must be a positive number of seconds or None, got ", seconds)));
    }
    limits.max_render_time = absl::Seconds(seconds);
  }
  return limits;
}

// This thread's string for one render's output, kept for the next render (one that grew past
// 1 MiB is freed); a render inside a loader's render on the same thread gets a string of its own.
class OutputBuffer {
 public:
  OutputBuffer() : out_(busy_ ? &own_ : &shared_) { busy_ = true; }
  ~OutputBuffer() {
    if (out_ != &shared_) return;
    if (shared_.capacity() > (size_t{1} << 20)) std::string().swap(shared_);
    shared_.clear();
    busy_ = false;
  }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;
  std::string* get() { return out_; }

 private:
  static thread_local std::string shared_;
  static thread_local bool busy_;
  std::string own_;
  std::string* out_;
};

thread_local std::string OutputBuffer::shared_;
thread_local bool OutputBuffer::busy_ = false;

// True if a keyword argument's name is "context". Keyword names are interned strs, so a
// pointer compare with the interned "context" settles it; anything else is compared by text.
bool IsContextKeyword(PyObject* name) {
  static PyObject* const context = PyUnicode_InternFromString("context");
  if (name == context) return true;
  if (PyUnicode_CHECK_INTERNED(name) && context != nullptr) return false;
  return PyUnicode_CompareWithASCIIString(name, "context") == 0;
}

// Template.render(context=None, **kwargs) written against the C API as a vectorcall method
// (METH_FASTCALL | METH_KEYWORDS): pybind11's dispatcher (argument records matched by name, a
// kwargs dict built per call) took about as long as rendering a chat template. Same arguments,
// results and errors as a pybind11 method with that signature.
PyObject* RenderTemplate(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                         PyObject* kwnames) {
  try {
    const Template& t = py::cast<const Template&>(py::handle(self));
    if (nargs > 1) {
      throw py::type_error(
          absl::StrCat("render() takes at most 1 positional argument (", nargs, " given)"));
    }
    py::object context = nargs == 1 ? py::reinterpret_borrow<py::object>(args[0]) : py::none();
    const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    bool named_context = false;
    for (Py_ssize_t i = 0; i < keywords; ++i) {
      if (IsContextKeyword(PyTuple_GET_ITEM(kwnames, i))) {
        if (nargs == 1) throw py::type_error("render() got multiple values for argument 'context'");
        context = py::reinterpret_borrow<py::object>(args[nargs + i]);
        named_context = true;
      }
    }
    // The variables view the Python strings (held until the render ends): nothing is copied.
    // Without Python code in the render (a loader, a tracer), nothing can change the variables
    // while the GIL is held: the strs are held, and the GIL let go, only if the render runs long.
    const TemplateOptions& options = t.options();
    BorrowedValues holder(/*deferred=*/options.loader == nullptr && options.tracer == nullptr);
    if (context.is_none() && keywords > 0 && !named_context) {
      holder.AssignKeywords(args + nargs, kwnames);  // render(**variables): no dict.
    } else {
      py::dict kwargs;
      for (Py_ssize_t i = 0; i < keywords; ++i) {
        PyObject* name = PyTuple_GET_ITEM(kwnames, i);
        if (IsContextKeyword(name)) continue;
        if (PyDict_SetItem(kwargs.ptr(), name, args[nargs + i]) != 0) {
          throw py::error_already_set();
        }
      }
      Variables(context, kwargs, holder);
    }
    OutputBuffer out;
    ThrowIfError(holder.RenderTo(t, out.get()));
    return NewStr(*out.get());
  } catch (...) {
    return RaiseCurrentException();
  }
}

PyMethodDef kRenderTemplate = {
    "render", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&RenderTemplate)),
    METH_FASTCALL | METH_KEYWORDS,
    "render($self, /, context=None, **kwargs)\n--\n\n"
    "Renders with a dict of variables and/or keyword arguments."};

// ChatTemplate.apply(messages, tools=None, add_generation_prompt=False, **extra), as render:
// a vectorcall method with the arguments of the pybind11 method it replaces.
PyObject* ApplyChatTemplate(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                            PyObject* kwnames) {
  try {
    const ChatTemplate& t = py::cast<const ChatTemplate&>(py::handle(self));
    static constexpr const char* kNames[] = {"messages", "tools", "add_generation_prompt"};
    if (nargs > 3) {
      throw py::type_error(
          absl::StrCat("apply() takes at most 3 positional arguments (", nargs, " given)"));
    }
    PyObject* named[3] = {nullptr, nullptr, nullptr};
    for (Py_ssize_t i = 0; i < nargs; ++i) named[i] = args[i];
    const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    py::dict extra;
    for (Py_ssize_t i = 0; i < keywords; ++i) {
      PyObject* name = PyTuple_GET_ITEM(kwnames, i);
      int slot = -1;
      for (int k = 0; k < 3; ++k) {
        if (PyUnicode_CompareWithASCIIString(name, kNames[k]) == 0) slot = k;
      }
      if (slot < 0) {
        if (PyDict_SetItem(extra.ptr(), name, args[nargs + i]) != 0) throw py::error_already_set();
      } else if (named[slot] != nullptr) {
        throw py::type_error(
            absl::StrCat("apply() got multiple values for argument '", kNames[slot], "'"));
      } else {
        named[slot] = args[nargs + i];
      }
    }
    if (named[0] == nullptr) throw py::type_error("apply() missing required argument 'messages'");
    // As pybind11's bool conversion: True/False, None as False, a number's truth (nb_bool);
    // anything else (a str, a list) is refused.
    bool add_generation_prompt = false;
    if (named[2] != nullptr && named[2] != Py_None) {
      PyNumberMethods* number = Py_TYPE(named[2])->tp_as_number;
      if (!PyBool_Check(named[2]) && (number == nullptr || number->nb_bool == nullptr)) {
        throw py::type_error(absl::StrCat("apply(): add_generation_prompt must be a bool, got ",
                                          Py_TYPE(named[2])->tp_name));
      }
      int truth = PyObject_IsTrue(named[2]);
      if (truth < 0) throw py::error_already_set();
      add_generation_prompt = truth == 1;
    }
    ReusedJson messages_holder, tools_holder, extra_holder;
    const Json& messages = messages_holder.Assign(named[0]);
    const Json& tools = tools_holder.Assign(named[1] == nullptr ? Py_None : named[1]);
    const Json& variables = Variables(py::none(), extra, extra_holder);
    absl::StatusOr<std::string> out;
    {
      py::gil_scoped_release release;
      out = t.Apply(messages, tools, add_generation_prompt, variables);
    }
    ThrowIfError(out.status());
    return NewStr(*out);
  } catch (...) {
    return RaiseCurrentException();
  }
}

PyMethodDef kApplyChatTemplate = {
    "apply", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&ApplyChatTemplate)),
    METH_FASTCALL | METH_KEYWORDS,
    "apply($self, /, messages, tools=None, add_generation_prompt=False, **extra)\n--\n\n"
    "Renders the conversation; extra keyword arguments become template variables."};

// Replaces `name` on the class `type` with a vectorcall method.
void SetMethod(py::handle type, PyMethodDef* method) {
  PyObject* descriptor = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(type.ptr()), method);
  if (descriptor == nullptr) throw py::error_already_set();
  py::setattr(type, method->ml_name, py::reinterpret_steal<py::object>(descriptor));
}

}  // namespace

void BindTemplates(py::module_& module) {
  const TemplateLimits defaults;
  py::class_<Template>(module, "Template",
                       "A compiled Jinja2-compatible template. Thread-safe; render() lets "
                       "the GIL go once a render runs long.")
      .def(py::init([](const std::string& source, bool strict, bool trim_blocks, bool lstrip_blocks,
                       bool keep_trailing_newline, py::object loader, const py::object& now,
                       const std::string& name, int64_t max_output_bytes,
                       int64_t max_loop_iterations, int64_t max_recursion_depth,
                       int64_t max_memory_bytes, int64_t max_nesting_depth,
                       const py::object& max_render_time, std::shared_ptr<Tracer> tracer) {
             TemplateOptions options;
             options.tracer = std::move(tracer);
             options.undefined = strict ? UndefinedMode::kStrict : UndefinedMode::kLenient;
             options.trim_blocks = trim_blocks;
             options.lstrip_blocks = lstrip_blocks;
             options.keep_trailing_newline = keep_trailing_newline;
             options.loader = WrapLoader(std::move(loader));
             options.now = FixedClock(now);
             options.name = name;
             options.limits = Limits(max_output_bytes, max_loop_iterations, max_recursion_depth,
                                     max_memory_bytes, max_nesting_depth, max_render_time);
             return ValueOrThrow(Template::Compile(source, options));
           }),
           py::arg("source"), py::kw_only(), py::arg("strict") = false,
           py::arg("trim_blocks") = false, py::arg("lstrip_blocks") = false,
           py::arg("keep_trailing_newline") = false, py::arg("loader") = py::none(),
           py::arg("now") = py::none(), py::arg("name") = "<template>",
           py::arg("max_output_bytes") = defaults.max_output_bytes,
           py::arg("max_loop_iterations") = defaults.max_loop_iterations,
           py::arg("max_recursion_depth") = defaults.max_recursion_depth,
           py::arg("max_memory_bytes") = defaults.max_memory_bytes,
           py::arg("max_nesting_depth") = defaults.max_nesting_depth,
           py::arg("max_render_time") = absl::ToDoubleSeconds(defaults.max_render_time),
           py::arg("tracer") = nullptr)
      .def_property_readonly("variables", &Template::variables,
                             "Names the template reads but never sets, in first-use order.");
  SetMethod(module.attr("Template"), &kRenderTemplate);

  py::class_<ChatTemplate>(module, "ChatTemplate",
                           "A model's chat_template, rendered as transformers' "
                           "apply_chat_template renders it.")
      .def(py::init([](const std::string& source, const std::string& bos_token,
                       const std::string& eos_token, bool strict, const py::object& now,
                       int64_t max_output_bytes, int64_t max_loop_iterations,
                       int64_t max_recursion_depth, int64_t max_memory_bytes,
                       int64_t max_nesting_depth, const py::object& max_render_time,
                       std::shared_ptr<Tracer> tracer) {
             ChatTemplateOptions options;
             options.tracer = std::move(tracer);
             options.limits = Limits(max_output_bytes, max_loop_iterations, max_recursion_depth,
                                     max_memory_bytes, max_nesting_depth, max_render_time);
             options.now = FixedClock(now);
             options.bos_token = bos_token;
             options.eos_token = eos_token;
             options.undefined = strict ? UndefinedMode::kStrict : UndefinedMode::kLenient;
             return ValueOrThrow(ChatTemplate::Compile(source, options));
           }),
           py::arg("source"), py::kw_only(), py::arg("bos_token") = "", py::arg("eos_token") = "",
           py::arg("strict") = false, py::arg("now") = py::none(),
           py::arg("max_output_bytes") = defaults.max_output_bytes,
           py::arg("max_loop_iterations") = defaults.max_loop_iterations,
           py::arg("max_recursion_depth") = defaults.max_recursion_depth,
           py::arg("max_memory_bytes") = defaults.max_memory_bytes,
           py::arg("max_nesting_depth") = defaults.max_nesting_depth,
           py::arg("max_render_time") = absl::ToDoubleSeconds(defaults.max_render_time),
           py::arg("tracer") = nullptr);
  SetMethod(module.attr("ChatTemplate"), &kApplyChatTemplate);

  py::class_<FStringTemplate>(module, "FStringTemplate",
                              "A LangChain-style f-string prompt: {name}, with {{ and }} "
                              "as literal braces.")
      .def(py::init([](const std::string& source) {
             return ValueOrThrow(FStringTemplate::Compile(source));
           }),
           py::arg("source"))
      .def(
          "format",
          [](const FStringTemplate& t, const py::kwargs& kwargs) {
            ReusedJson holder;
            return ValueOrThrow(t.Render(Variables(py::none(), kwargs, holder)));
          },
          "Fills the variables (LangChain's PromptTemplate.format).")
      .def(
          "render",
          [](const FStringTemplate& t, const py::object& context, const py::kwargs& kwargs) {
            ReusedJson holder;
            return ValueOrThrow(t.Render(Variables(context, kwargs, holder)));
          },
          py::arg("context") = py::none())
      .def_property_readonly("variables", &FStringTemplate::variables);

  py::class_<PromptVersion>(module, "PromptVersion",
                            "One immutable version of a registered prompt.")
      .def_readonly("name", &PromptVersion::name)
      .def_readonly("version", &PromptVersion::version)
      .def_readonly("hash", &PromptVersion::hash)
      .def_readonly("id", &PromptVersion::id)
      .def_readonly("description", &PromptVersion::description)
      .def_readonly("format", &PromptVersion::format)
      .def_property_readonly("parameters",
                             [](const PromptVersion& v) { return JsonToPython(v.parameters); })
      .def_readonly("input_variables", &PromptVersion::input_variables)
      .def_readonly("body", &PromptVersion::body)
      .def_readonly("created_at", &PromptVersion::created_at)
      .def_readonly("error", &PromptVersion::error)
      .def(
          "render",
          [](const PromptVersion& v, const py::object& context, const py::kwargs& kwargs) {
            ReusedJson holder;
            return ValueOrThrow(v.Render(Variables(context, kwargs, holder)));
          },
          py::arg("context") = py::none())
      .def("__repr__", [](const PromptVersion& v) {
        return "<Prompt " + v.name + " v" + std::to_string(v.version) + " " + v.id + ">";
      });

  py::class_<PromptEvent>(module, "PromptEvent")
      .def_readonly("prompt", &PromptEvent::prompt)
      .def_readonly("label", &PromptEvent::label)
      .def_readonly("version", &PromptEvent::version)
      .def_readonly("action", &PromptEvent::action)
      .def_readonly("at", &PromptEvent::at);

  py::class_<PromptRegistry>(module, "PromptRegistry",
                             "A folder of versioned prompts with labels (see docs/templates.md).")
      .def(py::init([](const std::string& dir) { return ValueOrThrow(PromptRegistry::Open(dir)); }),
           py::arg("dir"))
      .def(
          "sync", [](PromptRegistry& r) { return ValueOrThrow(r.Sync()); },
          "Reads the folder again; returns the versions it added.")
      .def(
          "get",
          [](const PromptRegistry& r, const std::string& name, const std::string& label) {
            return ValueOrThrow(r.Get(name, label));
          },
          py::arg("name"), py::arg("label") = "latest")
      .def(
          "get_version",
          [](const PromptRegistry& r, const std::string& name, int version) {
            return ValueOrThrow(r.GetVersion(name, version));
          },
          py::arg("name"), py::arg("version"))
      .def(
          "promote",
          [](PromptRegistry& r, const std::string& name, int version, const std::string& label) {
            ThrowIfError(r.Promote(name, version, label));
          },
          py::arg("name"), py::arg("version"), py::arg("label"))
      .def(
          "rollback",
          [](PromptRegistry& r, const std::string& name, const std::string& label) {
            return ValueOrThrow(r.Rollback(name, label));
          },
          py::arg("name"), py::arg("label"))
      .def("names", &PromptRegistry::Names)
      .def("versions", &PromptRegistry::Versions, py::arg("name"))
      .def(
          "labels",
          [](const PromptRegistry& r, const std::string& name) {
            py::dict out;
            for (const auto& [label, version] : r.Labels(name)) out[py::str(label)] = version;
            return out;
          },
          py::arg("name"))
      .def(
          "history",
          [](const PromptRegistry& r, const std::string& name) { return r.History(name); },
          py::arg("name") = "");
}

}  // namespace llmkit::python
