// Python bindings of tokenizer.h with tiktoken's names: get_encoding, encoding_for_model and an
// Encoding class (encode, encode_ordinary, encode_batch, decode, ...), plus count/count_up_to.

#include <Python.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "llmkit/tokenizer.h"
#include "status_conversion.h"
#include "tokenizer_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

// The UTF-8 bytes of a str. Lone surrogates (which UTF-8 cannot hold) become U+FFFD, as tiktoken
// does before encoding.
struct Utf8 {
  std::string_view bytes;
  py::object owner;  // Keeps `bytes` alive.
};

Utf8 ToUtf8(const py::handle& text) {
  if (!PyUnicode_Check(text.ptr())) throw py::type_error("expected str");
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data != nullptr) {
    return {std::string_view(data, static_cast<size_t>(size)),
            py::reinterpret_borrow<py::object>(text)};
  }
  PyErr_Clear();
  py::object fixed =
      text.attr("encode")("utf-16", "surrogatepass").attr("decode")("utf-16", "replace");
  data = PyUnicode_AsUTF8AndSize(fixed.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return {std::string_view(data, static_cast<size_t>(size)), fixed};
}

// One entry of allowed_special / disallowed_special; a wrong Python type stays a TypeError.
std::string SpecialName(const py::handle& item, const char* keyword) {
  if (!py::isinstance<py::str>(item)) {
    throw py::type_error(
        absl::StrCat(keyword, " must be \"all\" or a collection of str, got an item of type ",
                     py::str(py::type::handle_of(item).attr("__name__")).cast<std::string>()));
  }
  return item.cast<std::string>();
}

// tiktoken's allowed_special / disallowed_special: "all" or a collection of strings.
SpecialTokenPolicy ToPolicy(const py::object& allowed, const py::object& disallowed) {
  SpecialTokenPolicy policy;
  if (py::isinstance<py::str>(allowed)) {
    if (allowed.cast<std::string>() != "all") {
      ThrowIfError(
          absl::InvalidArgumentError("allowed_special must be \"all\" or a collection of str"));
    }
    policy.allow_all = true;
  } else {
    for (const py::handle& item : allowed)
      policy.allowed.push_back(SpecialName(item, "allowed_special"));
  }
  if (py::isinstance<py::str>(disallowed)) {
    if (disallowed.cast<std::string>() != "all") {
      ThrowIfError(
          absl::InvalidArgumentError("disallowed_special must be \"all\" or a collection of str"));
    }
    policy.disallow_all = true;
  } else {
    policy.disallow_all = false;
    for (const py::handle& item : disallowed)
      policy.disallowed.push_back(SpecialName(item, "disallowed_special"));
  }
  return policy;
}

TokenizerLoadOptions ToLoadOptions(const std::optional<std::string>& cache_dir, bool allow_download,
                                   const std::optional<std::string>& download_base_url) {
  TokenizerLoadOptions options;
  if (cache_dir) options.cache_dir = *cache_dir;
  options.allow_download = allow_download;
  if (download_base_url) options.download_base_url = *download_base_url;
  return options;
}

// pybind11 holders cannot be shared_ptr<const T>; the Python object never mutates the Tokenizer.
using Encoding = std::shared_ptr<Tokenizer>;

Encoding ToHolder(absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer) {
  return std::const_pointer_cast<Tokenizer>(ValueOrThrow(std::move(tokenizer)));
}

std::vector<std::string_view> ToViews(const std::vector<Utf8>& texts) {
  std::vector<std::string_view> views;
  views.reserve(texts.size());
  for (const Utf8& text : texts) views.push_back(text.bytes);
  return views;
}

std::vector<Utf8> ToUtf8List(const py::iterable& texts) {
  std::vector<Utf8> out;
  for (const py::handle& text : texts) out.push_back(ToUtf8(text));
  return out;
}

py::str DecodeWith(const std::string& bytes, const std::string& errors) {
  PyObject* text =
      PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), errors.c_str());
  if (text == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
}

// Token ids as a Python list, built directly from a table of the ints 0..max id seen (ints are
// immutable, so every list shares them): pybind11's generic list caster cost about 240 ns per
// token and a fresh int per id about 25 ns; an entry of the shared table costs an increment.
// The table grows to the largest id met (200k ints, about 6 MB, for o200k_base) and is never
// freed. Touched only with the GIL held.
py::list TokensToList(const std::vector<Token>& ids) {
  static std::vector<PyObject*>* table = new std::vector<PyObject*>();
  constexpr Token kMaxShared = 1 << 22;
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(ids.size()));
  if (list == nullptr) throw py::error_already_set();
  for (size_t i = 0; i < ids.size(); ++i) {
    const Token id = ids[i];
    PyObject* value;
    if (id < table->size()) {
      value = (*table)[id];
      Py_INCREF(value);
    } else if (id < kMaxShared) {
      while (table->size() <= id) {
        PyObject* number = PyLong_FromUnsignedLong(static_cast<unsigned long>(table->size()));
        if (number == nullptr) {
          Py_DECREF(list);
          throw py::error_already_set();
        }
        table->push_back(number);
      }
      value = (*table)[id];
      Py_INCREF(value);
    } else {
      value = PyLong_FromUnsignedLong(id);
      if (value == nullptr) {
        Py_DECREF(list);
        throw py::error_already_set();
      }
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), value);
  }
  return py::reinterpret_steal<py::list>(list);
}

py::list BatchToList(const std::vector<std::vector<Token>>& batch) {
  py::list out(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) out[i] = TokensToList(batch[i]);
  return out;
}

}  // namespace

std::shared_ptr<const Tokenizer> ToTokenizer(const py::handle& encoding) {
  if (py::isinstance<py::str>(encoding)) {
    std::string name = encoding.cast<std::string>();
    py::gil_scoped_release release;
    return ValueOrThrow(Tokenizer::ForEncoding(name));
  }
  if (py::isinstance<Tokenizer>(encoding)) return encoding.cast<Encoding>();
  throw py::type_error("encoding must be an encoding name (str) or an llmkit.Encoding");
}

void BindTokenizer(py::module_& m) {
  py::class_<Tokenizer, Encoding>(m, "Encoding",
                                  "A tiktoken-compatible encoding (get one with get_encoding).")
      .def_property_readonly("name", &Tokenizer::name)
      .def_property_readonly("n_vocab", &Tokenizer::n_vocab)
      .def_property_readonly("max_token_value", [](const Tokenizer& t) { return t.n_vocab() - 1; })
      .def_property_readonly("eot_token", &Tokenizer::eot_token)
      .def_property_readonly("special_tokens_set",
                             [](const Tokenizer& t) {
                               py::set out;
                               for (const auto& [text, id] : t.special_tokens()) {
                                 out.add(py::str(text));
                               }
                               return out;
                             })
      .def(
          "encode_ordinary",
          [](const Tokenizer& t, const py::str& text) {
            Utf8 utf8 = ToUtf8(text);
            absl::StatusOr<std::vector<Token>> ids;
            {
              py::gil_scoped_release release;
              ids = t.EncodeOrdinary(utf8.bytes);
            }
            return TokensToList(ValueOrThrow(std::move(ids)));
          },
          py::arg("text"), "Token ids of text; special tokens are encoded as plain text.")
      .def(
          "encode",
          [](const Tokenizer& t, const py::str& text, const py::object& allowed_special,
             const py::object& disallowed_special) {
            Utf8 utf8 = ToUtf8(text);
            SpecialTokenPolicy policy = ToPolicy(allowed_special, disallowed_special);
            absl::StatusOr<std::vector<Token>> ids;
            {
              py::gil_scoped_release release;
              ids = t.Encode(utf8.bytes, policy);
            }
            return TokensToList(ValueOrThrow(std::move(ids)));
          },
          py::arg("text"), py::kw_only(), py::arg("allowed_special") = py::set(),
          py::arg("disallowed_special") = "all",
          "Token ids of text, as tiktoken's encode: a disallowed special token in the text raises "
          "InvalidArgumentError.")
      .def(
          "encode_ordinary_batch",
          [](const Tokenizer& t, const py::iterable& texts, int num_threads) {
            std::vector<Utf8> utf8 = ToUtf8List(texts);
            std::vector<std::string_view> views = ToViews(utf8);
            absl::StatusOr<std::vector<std::vector<Token>>> ids;
            {
              py::gil_scoped_release release;
              ids = t.EncodeOrdinaryBatch(views, num_threads);
            }
            return BatchToList(ValueOrThrow(std::move(ids)));
          },
          py::arg("text"), py::kw_only(), py::arg("num_threads") = 8)
      .def(
          "encode_batch",
          [](const Tokenizer& t, const py::iterable& texts, int num_threads,
             const py::object& allowed_special, const py::object& disallowed_special) {
            std::vector<Utf8> utf8 = ToUtf8List(texts);
            std::vector<std::string_view> views = ToViews(utf8);
            SpecialTokenPolicy policy = ToPolicy(allowed_special, disallowed_special);
            absl::StatusOr<std::vector<std::vector<Token>>> ids;
            {
              py::gil_scoped_release release;
              ids = t.EncodeBatch(views, policy, num_threads);
            }
            return BatchToList(ValueOrThrow(std::move(ids)));
          },
          py::arg("text"), py::kw_only(), py::arg("num_threads") = 8,
          py::arg("allowed_special") = py::set(), py::arg("disallowed_special") = "all")
      .def(
          "count",
          [](const Tokenizer& t, const py::str& text) {
            Utf8 utf8 = ToUtf8(text);
            py::gil_scoped_release release;
            return ValueOrThrow(t.Count(utf8.bytes));
          },
          py::arg("text"), "len(encode_ordinary(text)) without building the list.")
      .def(
          "count_up_to",
          [](const Tokenizer& t, const py::str& text, size_t limit) {
            Utf8 utf8 = ToUtf8(text);
            py::gil_scoped_release release;
            return ValueOrThrow(t.CountUpTo(utf8.bytes, limit));
          },
          py::arg("text"), py::arg("limit"),
          "The token count if it is <= limit, else limit + 1 (stops early).")
      .def(
          "decode_bytes",
          [](const Tokenizer& t, const std::vector<Token>& tokens) {
            return py::bytes(ValueOrThrow(t.Decode(tokens)));
          },
          py::arg("tokens"))
      .def(
          "decode",
          [](const Tokenizer& t, const std::vector<Token>& tokens, const std::string& errors) {
            return DecodeWith(ValueOrThrow(t.Decode(tokens)), errors);
          },
          py::arg("tokens"), py::arg("errors") = "replace")
      .def(
          "decode_batch",
          [](const Tokenizer& t, const std::vector<std::vector<Token>>& batch,
             const std::string& errors) {
            py::list out;
            for (const std::vector<Token>& tokens : batch) {
              out.append(DecodeWith(ValueOrThrow(t.Decode(tokens)), errors));
            }
            return out;
          },
          py::arg("batch"), py::arg("errors") = "replace")
      .def(
          "decode_single_token_bytes",
          [](const Tokenizer& t, Token token) {
            return py::bytes(std::string(ValueOrThrow(t.TokenBytes(token))));
          },
          py::arg("token"))
      .def("__repr__", [](const Tokenizer& t) { return "<Encoding '" + t.name() + "'>"; });

  m.def(
      "get_encoding",
      [](const std::string& name, const std::optional<std::string>& cache_dir, bool allow_download,
         const std::optional<std::string>& download_base_url) {
        TokenizerLoadOptions options = ToLoadOptions(cache_dir, allow_download, download_base_url);
        py::gil_scoped_release release;
        return ToHolder(Tokenizer::ForEncoding(name, options));
      },
      py::arg("encoding_name"), py::kw_only(), py::arg("cache_dir") = py::none(),
      py::arg("allow_download") = false, py::arg("download_base_url") = py::none(),
      "The named encoding from the rank file caches ($LLMKIT_CACHE_DIR, tiktoken's cache); "
      "downloads only with allow_download=True. One shared instance per name.");
  m.def(
      "encoding_for_model",
      [](const std::string& model, const std::optional<std::string>& cache_dir, bool allow_download,
         const std::optional<std::string>& download_base_url) {
        TokenizerLoadOptions options = ToLoadOptions(cache_dir, allow_download, download_base_url);
        py::gil_scoped_release release;
        return ToHolder(Tokenizer::ForModel(model, options));
      },
      py::arg("model_name"), py::kw_only(), py::arg("cache_dir") = py::none(),
      py::arg("allow_download") = false, py::arg("download_base_url") = py::none());
  m.def(
      "encoding_name_for_model",
      [](const std::string& model) { return ValueOrThrow(EncodingNameForModel(model)); },
      py::arg("model_name"));
  m.def(
      "_utf8_lossy", [](const py::bytes& data) { return py::bytes(Utf8Lossy(std::string(data))); },
      py::arg("data"), "Testing hook: llmkit's U+FFFD replacement of invalid UTF-8.");
  m.def(
      "load_encoding",
      [](const std::string& name, const std::string& path, bool verify_sha256) {
        EncodingSpec spec = ValueOrThrow(BuiltinEncoding(name));
        if (!verify_sha256) spec.sha256.clear();
        py::gil_scoped_release release;
        return ToHolder(Tokenizer::FromFile(path, std::move(spec)));
      },
      py::arg("encoding_name"), py::arg("path"), py::kw_only(), py::arg("verify_sha256") = true,
      "A built-in encoding's pattern and special tokens with the ranks of the .tiktoken file at "
      "path.");
}

}  // namespace llmkit::python
