// Python bindings of guard.h's PII functions: find_pii, redact_pii, restore_pii (with_guard is
// with the other model decorators in client_bindings.cc).

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "llmkit/guard.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {

PiiOptions ToPiiOptions(const std::optional<std::vector<std::string>>& kinds,
                        const std::optional<std::vector<std::string>>& phone_regions) {
  PiiOptions options;
  if (kinds) {
    options.kinds.clear();
    for (const std::string& name : *kinds) {
      std::optional<PiiKind> kind = PiiKindFromName(name);
      if (!kind) {
        throw StatusError(
            absl::InvalidArgumentError("kinds: unknown PII kind '" + name +
                                       "' (email, phone, payment_card, iban, ip_address, secret)"));
      }
      options.kinds.push_back(*kind);
    }
  }
  if (phone_regions) options.phone_regions = *phone_regions;
  return options;
}

namespace {

struct PyPiiFinding {
  std::string kind;
  size_t start = 0, end = 0;            // str indices
  size_t byte_start = 0, byte_end = 0;  // UTF-8 byte offsets
  std::string text;
};

std::vector<PyPiiFinding> ToPython(const std::string& text, const std::vector<PiiFinding>& found) {
  std::vector<PyPiiFinding> out;
  size_t byte = 0, chars = 0;  // Findings are in text order: one pass converts every offset.
  auto advance = [&](size_t to) {
    for (; byte < to; ++byte) chars += (static_cast<unsigned char>(text[byte]) & 0xC0) != 0x80;
    return chars;
  };
  for (const PiiFinding& f : found) {
    PyPiiFinding p;
    p.kind = std::string(PiiKindName(f.kind));
    p.byte_start = f.begin;
    p.byte_end = f.end;
    p.start = advance(f.begin);
    p.end = advance(f.end);
    p.text = text.substr(f.begin, f.end - f.begin);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

void BindGuard(py::module_& m) {
  py::class_<PyPiiFinding>(m, "PiiFinding", "One span of personal data or a secret.")
      .def_readonly("kind", &PyPiiFinding::kind,
                    "email, phone, payment_card, iban, ip_address or secret")
      .def_readonly("start", &PyPiiFinding::start, "str index of the first character")
      .def_readonly("end", &PyPiiFinding::end, "str index one past the last character")
      .def_readonly("byte_start", &PyPiiFinding::byte_start)
      .def_readonly("byte_end", &PyPiiFinding::byte_end)
      .def_readonly("text", &PyPiiFinding::text)
      .def("__repr__", [](const PyPiiFinding& f) {
        return "<PiiFinding " + f.kind + " " + std::to_string(f.start) + ":" +
               std::to_string(f.end) + ">";
      });
  m.def(
      "find_pii",
      [](const std::string& text, std::optional<std::vector<std::string>> kinds,
         std::optional<std::vector<std::string>> phone_regions) {
        PiiOptions options = ToPiiOptions(kinds, phone_regions);
        std::vector<PiiFinding> found;
        {
          py::gil_scoped_release release;
          found = FindPii(text, options);
        }
        return ToPython(text, found);
      },
      py::arg("text"), py::kw_only(), py::arg("kinds") = py::none(),
      py::arg("phone_regions") = py::none(),
      "The personal data and secrets in `text`, in text order (see docs/guard.md).");
  m.def(
      "redact_pii",
      [](const std::string& text, std::optional<std::vector<std::string>> kinds,
         std::optional<std::vector<std::string>> phone_regions) {
        PiiOptions options = ToPiiOptions(kinds, phone_regions);
        Redaction r;
        {
          py::gil_scoped_release release;
          r = RedactPii(text, FindPii(text, options));
        }
        py::dict placeholders;
        for (const auto& [placeholder, original] : r.placeholders) {
          placeholders[py::str(placeholder)] = py::str(original);
        }
        return py::make_tuple(r.text, placeholders);
      },
      py::arg("text"), py::kw_only(), py::arg("kinds") = py::none(),
      py::arg("phone_regions") = py::none(),
      "(text with placeholders such as [EMAIL_1], {placeholder: original}).");
  m.def(
      "restore_pii",
      [](const std::string& text, const std::map<std::string, std::string>& placeholders) {
        Redaction r;
        for (const auto& [placeholder, original] : placeholders) {
          r.placeholders.emplace_back(placeholder, original);
        }
        return RestorePii(text, r);
      },
      py::arg("text"), py::arg("placeholders"),
      "Puts the originals back where `text` mentions a placeholder of redact_pii.");
}

}  // namespace llmkit::python
