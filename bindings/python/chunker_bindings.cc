// Python bindings of chunker.h: RecursiveCharacterSplitter, MarkdownSplitter, Chunk.
//
// Offsets: C++ chunks carry byte offsets into the UTF-8 text; Python users index `str` by code
// point, so `Chunk.start`/`end` are converted (`text[c.start:c.end] == c.text`), and
// `byte_start`/`byte_end` keep the UTF-8 offsets.

#include <Python.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "json_conversion.h"
#include "llmkit/chunker.h"
#include "status_conversion.h"
#include "tokenizer_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

struct PyChunk {
  std::string text;
  size_t start = 0;  // str index (code points)
  size_t end = 0;
  size_t byte_start = 0;  // UTF-8 byte offsets
  size_t byte_end = 0;
  py::object metadata = py::none();
};

// The UTF-8 bytes of a Python str (cached inside the str object, no copy).
struct Utf8Text {
  std::string_view bytes;
  bool ascii = false;
};

Utf8Text GetUtf8(const py::str& text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw StatusError(absl::InvalidArgumentError(
        "text cannot be encoded as UTF-8 (it contains a lone surrogate)"));
  }
  return {std::string_view(data, static_cast<size_t>(size)), PyUnicode_IS_ASCII(text.ptr()) != 0};
}

// Converts the chunks' byte offsets into code point indices with one pass over the text.
std::vector<PyChunk> ToPython(std::vector<Chunk> chunks, const Utf8Text& text) {
  std::vector<size_t> offsets;
  if (!text.ascii) {
    offsets.reserve(chunks.size() * 2);
    for (const Chunk& chunk : chunks) {
      offsets.push_back(chunk.begin);
      offsets.push_back(chunk.end);
    }
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  }
  std::vector<size_t> indices(offsets.size());
  size_t byte = 0, index = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.bytes.data());
  for (size_t i = 0; i < offsets.size(); ++i) {
    for (; byte < offsets[i]; ++byte) index += (bytes[byte] & 0xC0) != 0x80;
    indices[i] = index;
  }
  auto to_index = [&](size_t offset) {
    if (text.ascii) return offset;
    return indices[std::lower_bound(offsets.begin(), offsets.end(), offset) - offsets.begin()];
  };
  std::vector<PyChunk> result;
  result.reserve(chunks.size());
  for (Chunk& chunk : chunks) {
    PyChunk converted;
    converted.start = to_index(chunk.begin);
    converted.end = to_index(chunk.end);
    converted.byte_start = chunk.begin;
    converted.byte_end = chunk.end;
    converted.metadata = JsonToPython(chunk.metadata);
    converted.text = std::move(chunk.text);
    result.push_back(std::move(converted));
  }
  return result;
}

// A Python length function. Exceptions it raises are kept and re-raised after the split, since
// C++ length functions cannot throw. The GIL is held for the whole split when one is set.
class PythonLength {
 public:
  explicit PythonLength(py::object function)
      : function_(std::move(function)),
        error_(std::make_shared<std::optional<py::error_already_set>>()) {}

  size_t operator()(std::string_view text) const {
    if (error_->has_value()) return 0;
    try {
      long long length = function_(py::str(text.data(), text.size())).cast<long long>();
      if (length >= 0) return static_cast<size_t>(length);
      SetPythonError(absl::InvalidArgumentError(
          absl::StrCat("length_function returned a negative length (", length, ")")));
      error_->emplace();
    } catch (py::error_already_set& error) {
      error_->emplace(std::move(error));
    } catch (const py::cast_error& error) {
      PyErr_SetString(PyExc_TypeError,
                      absl::StrCat("length_function must return an int: ", error.what()).c_str());
      error_->emplace();
    }
    return 0;
  }

  void Reset() const { error_->reset(); }
  void RethrowIfFailed() const {
    if (error_->has_value()) {
      py::error_already_set error = std::move(**error_);
      error_->reset();
      throw error;
    }
  }

 private:
  py::object function_;
  std::shared_ptr<std::optional<py::error_already_set>> error_;
};

LengthUnit ParseLengthUnit(const std::string& name) {
  if (name == "code_points") return LengthUnit::kCodePoints;
  if (name == "utf16") return LengthUnit::kUtf16;
  if (name == "bytes") return LengthUnit::kBytes;
  throw StatusError(absl::InvalidArgumentError(
      "length_unit must be \"code_points\", \"utf16\", \"bytes\" or \"tokens\", got \"" + name +
      "\""));
}

KeepSeparator ParseKeepSeparator(py::handle value) {
  if (py::isinstance<py::bool_>(value)) {
    return value.cast<bool>() ? KeepSeparator::kStart : KeepSeparator::kNone;
  }
  if (py::isinstance<py::str>(value)) {
    std::string name = value.cast<std::string>();
    if (name == "start") return KeepSeparator::kStart;
    if (name == "end") return KeepSeparator::kEnd;
  }
  throw StatusError(
      absl::InvalidArgumentError("keep_separator must be True, False, \"start\" or \"end\""));
}

// Runs `split()` (a StatusOr) with the GIL released unless a Python length function needs it.
template <typename Split>
auto RunWithLength(const std::optional<PythonLength>& length, Split split) {
  decltype(split()) result;
  if (length.has_value()) {
    length->Reset();
    result = split();
    length->RethrowIfFailed();
  } else {
    py::gil_scoped_release release;
    result = split();
  }
  return ValueOrThrow(std::move(result));
}

template <typename Splitter>
std::vector<Chunk> RunSplit(const Splitter& splitter, const std::optional<PythonLength>& length,
                            std::string_view text) {
  return RunWithLength(length, [&] { return splitter.Split(text); });
}

struct PyRecursiveSplitter {
  RecursiveCharacterSplitter splitter;
  std::optional<PythonLength> length;
};

struct PyMarkdownSplitter {
  MarkdownSplitter splitter;
  std::optional<PythonLength> length;
};

// length_unit "tokens" counts tokens of `encoding` (a name or an Encoding), natively.
template <typename Options>
std::optional<PythonLength> ApplyLength(Options& options, const std::string& length_unit,
                                        const py::object& length_function,
                                        const py::object& encoding) {
  if (length_unit == "tokens") {
    if (!length_function.is_none()) {
      throw StatusError(
          absl::InvalidArgumentError("length_unit=\"tokens\" and length_function are exclusive"));
    }
    options.length_function =
        TokenLength(ToTokenizer(encoding.is_none() ? py::str("cl100k_base") : encoding));
    return std::nullopt;
  }
  if (!encoding.is_none()) {
    throw StatusError(
        absl::InvalidArgumentError("encoding is only used with length_unit=\"tokens\""));
  }
  options.length_unit = ParseLengthUnit(length_unit);
  if (length_function.is_none()) return std::nullopt;
  if (!PyCallable_Check(length_function.ptr())) {
    throw StatusError(absl::InvalidArgumentError("length_function must be callable"));
  }
  PythonLength length(length_function);
  options.length_function = length;  // Shares the error slot with the returned copy.
  return length;
}

// `length` is a short alias of `length_unit` (length="tokens").
std::string UnitOf(const std::string& length_unit, const std::optional<std::string>& length) {
  return length.has_value() ? *length : length_unit;
}

PyRecursiveSplitter MakeRecursive(size_t chunk_size, size_t chunk_overlap,
                                  std::optional<std::vector<std::string>> separators,
                                  const std::optional<std::string>& language,
                                  py::handle keep_separator, bool is_separator_regex,
                                  bool strip_whitespace, const std::string& length_unit,
                                  const py::object& length_function, bool hard_limit,
                                  const py::object& encoding) {
  SplitterOptions options;
  options.chunk_size = chunk_size;
  options.chunk_overlap = chunk_overlap;
  if (separators.has_value()) options.separators = std::move(*separators);
  options.keep_separator = ParseKeepSeparator(keep_separator);
  options.is_separator_regex = is_separator_regex;
  options.strip_whitespace = strip_whitespace;
  options.hard_limit = hard_limit;
  std::optional<PythonLength> length = ApplyLength(options, length_unit, length_function, encoding);
  absl::StatusOr<RecursiveCharacterSplitter> splitter =
      language.has_value() ? RecursiveCharacterSplitter::FromLanguage(*language, std::move(options))
                           : RecursiveCharacterSplitter::Create(std::move(options));
  return PyRecursiveSplitter{ValueOrThrow(std::move(splitter)), std::move(length)};
}

std::string KeepSeparatorRepr(KeepSeparator keep) {
  switch (keep) {
    case KeepSeparator::kNone:
      return "False";
    case KeepSeparator::kStart:
      return "True";
    case KeepSeparator::kEnd:
      return "'end'";
  }
  return "?";
}

// split(text) -> list[Chunk] and split_text(text) -> list[str], for either splitter holder.
template <typename Holder>
std::vector<PyChunk> SplitChunks(const Holder& self, const py::str& text) {
  Utf8Text utf8 = GetUtf8(text);
  return ToPython(RunSplit(self.splitter, self.length, utf8.bytes), utf8);
}

template <typename Holder>
std::vector<std::string> SplitTexts(const Holder& self, const py::str& text) {
  std::vector<Chunk> chunks = RunSplit(self.splitter, self.length, GetUtf8(text).bytes);
  std::vector<std::string> texts;
  texts.reserve(chunks.size());
  for (Chunk& chunk : chunks) texts.push_back(std::move(chunk.text));
  return texts;
}

// RecursiveCharacterSplitter.split_text: each str is made straight from the caller's text (no
// intermediate std::string per chunk); the guard's chunking check measures this path.
py::list SplitRecursiveTexts(const PyRecursiveSplitter& self, const py::str& text) {
  Utf8Text utf8 = GetUtf8(text);
  std::vector<std::string_view> views =
      RunWithLength(self.length, [&] { return self.splitter.SplitViews(utf8.bytes); });
  py::list texts(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    PyObject* item = NewStr(views[i], utf8.ascii);
    if (item == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(texts.ptr(), static_cast<Py_ssize_t>(i), item);
  }
  return texts;
}

// split / split_text for splitters with no Python callbacks: the GIL is released.
template <typename Splitter>
std::vector<PyChunk> SplitAny(const Splitter& splitter, const py::str& text) {
  Utf8Text utf8 = GetUtf8(text);
  absl::StatusOr<std::vector<Chunk>> chunks;
  {
    py::gil_scoped_release release;
    chunks = splitter.Split(utf8.bytes);
  }
  return ToPython(ValueOrThrow(std::move(chunks)), utf8);
}

template <typename Splitter>
std::vector<std::string> SplitAnyTexts(const Splitter& splitter, const py::str& text) {
  std::vector<std::string> texts;
  for (PyChunk& chunk : SplitAny(splitter, text)) texts.push_back(std::move(chunk.text));
  return texts;
}

// TokenSplitter and SentenceSplitter: the same constructor and surface.
template <typename Splitter, typename Options>
void BindTokenChunker(py::module_& module, const char* name, const char* doc) {
  py::class_<Splitter>(module, name, doc)
      .def(py::init([](const py::object& encoding, size_t chunk_size, size_t chunk_overlap) {
             Options options;
             options.chunk_size = chunk_size;
             options.chunk_overlap = chunk_overlap;
             return ValueOrThrow(Splitter::Create(ToTokenizer(encoding), options));
           }),
           py::kw_only(), py::arg("encoding") = "cl100k_base", py::arg("chunk_size") = 512,
           py::arg("chunk_overlap") = 50)
      .def("split", &SplitAny<Splitter>, py::arg("text"), "Returns list[Chunk] in text order.")
      .def("split_text", &SplitAnyTexts<Splitter>, py::arg("text"))
      .def_property_readonly("chunk_size", [](const Splitter& s) { return s.options().chunk_size; })
      .def_property_readonly("chunk_overlap",
                             [](const Splitter& s) { return s.options().chunk_overlap; });
}

}  // namespace

void BindChunkers(py::module_& module) {
  py::class_<PyChunk>(module, "Chunk",
                      "A piece of a document: text[start:end] == chunk.text (str indices); "
                      "byte_start/byte_end are UTF-8 offsets.")
      .def_readonly("text", &PyChunk::text)
      .def_readonly("start", &PyChunk::start)
      .def_readonly("end", &PyChunk::end)
      .def_readonly("byte_start", &PyChunk::byte_start)
      .def_readonly("byte_end", &PyChunk::byte_end)
      .def_readonly("metadata", &PyChunk::metadata)
      .def("__repr__",
           [](const PyChunk& chunk) {
             std::string preview = chunk.text.substr(0, 40);
             return "Chunk(start=" + std::to_string(chunk.start) +
                    ", end=" + std::to_string(chunk.end) +
                    ", text=" + std::string(py::repr(py::str(preview))) +
                    (chunk.text.size() > 40 ? "..." : "") + ")";
           })
      .def("__eq__", [](const PyChunk& a, const PyChunk& b) {
        return a.text == b.text && a.start == b.start && a.end == b.end &&
               a.metadata.equal(b.metadata);
      });

  py::class_<PyRecursiveSplitter>(
      module, "RecursiveCharacterSplitter",
      "LangChain's RecursiveCharacterTextSplitter with exact offsets (see docs/chunking.md).")
      .def(py::init([](size_t chunk_size, size_t chunk_overlap,
                       std::optional<std::vector<std::string>> separators,
                       py::object keep_separator, bool is_separator_regex, bool strip_whitespace,
                       const std::string& length_unit, py::object length_function, bool hard_limit,
                       const std::optional<std::string>& length, py::object encoding) {
             return MakeRecursive(chunk_size, chunk_overlap, std::move(separators), std::nullopt,
                                  keep_separator, is_separator_regex, strip_whitespace,
                                  UnitOf(length_unit, length), length_function, hard_limit,
                                  encoding);
           }),
           py::kw_only(), py::arg("chunk_size") = 1000, py::arg("chunk_overlap") = 200,
           py::arg("separators") = py::none(), py::arg("keep_separator") = true,
           py::arg("is_separator_regex") = false, py::arg("strip_whitespace") = true,
           py::arg("length_unit") = "code_points", py::arg("length_function") = py::none(),
           py::arg("hard_limit") = false, py::arg("length") = py::none(),
           py::arg("encoding") = py::none())
      .def_static(
          "from_language",
          [](const std::string& language, size_t chunk_size, size_t chunk_overlap,
             py::object keep_separator, bool strip_whitespace, const std::string& length_unit,
             py::object length_function, bool hard_limit, const std::optional<std::string>& length,
             py::object encoding) {
            return MakeRecursive(chunk_size, chunk_overlap, std::nullopt, language, keep_separator,
                                 false, strip_whitespace, UnitOf(length_unit, length),
                                 length_function, hard_limit, encoding);
          },
          py::arg("language"), py::kw_only(), py::arg("chunk_size") = 1000,
          py::arg("chunk_overlap") = 200, py::arg("keep_separator") = true,
          py::arg("strip_whitespace") = true, py::arg("length_unit") = "code_points",
          py::arg("length_function") = py::none(), py::arg("hard_limit") = false,
          py::arg("length") = py::none(), py::arg("encoding") = py::none(),
          "A splitter with the separators of LangChain's fromLanguage(language).")
      .def_static(
          "get_separators_for_language",
          [](const std::string& language) {
            return ValueOrThrow(RecursiveCharacterSplitter::SeparatorsForLanguage(language));
          },
          py::arg("language"))
      .def("split", &SplitChunks<PyRecursiveSplitter>, py::arg("text"),
           "Returns list[Chunk] in text order.")
      .def("split_text", &SplitRecursiveTexts, py::arg("text"), "Returns the chunk texts.")
      .def_property_readonly(
          "chunk_size",
          [](const PyRecursiveSplitter& s) { return s.splitter.options().chunk_size; })
      .def_property_readonly(
          "chunk_overlap",
          [](const PyRecursiveSplitter& s) { return s.splitter.options().chunk_overlap; })
      .def_property_readonly(
          "separators",
          [](const PyRecursiveSplitter& s) { return s.splitter.options().separators; })
      .def("__repr__", [](const PyRecursiveSplitter& self) {
        const SplitterOptions& options = self.splitter.options();
        return "RecursiveCharacterSplitter(chunk_size=" + std::to_string(options.chunk_size) +
               ", chunk_overlap=" + std::to_string(options.chunk_overlap) +
               ", keep_separator=" + KeepSeparatorRepr(options.keep_separator) + ")";
      });

  py::class_<PyMarkdownSplitter>(
      module, "MarkdownSplitter",
      "Splits Markdown at headings, keeps fenced code whole; chunk.metadata['headings'] is the "
      "heading path.")
      .def(py::init([](size_t chunk_size, size_t chunk_overlap, bool strip_whitespace,
                       const std::string& length_unit, py::object length_function, bool hard_limit,
                       int max_heading_level, const std::optional<std::string>& length_alias,
                       py::object encoding) {
             MarkdownSplitterOptions options;
             options.chunk_size = chunk_size;
             options.chunk_overlap = chunk_overlap;
             options.strip_whitespace = strip_whitespace;
             options.hard_limit = hard_limit;
             options.max_heading_level = max_heading_level;
             std::optional<PythonLength> length =
                 ApplyLength(options, UnitOf(length_unit, length_alias), length_function, encoding);
             return PyMarkdownSplitter{ValueOrThrow(MarkdownSplitter::Create(std::move(options))),
                                       std::move(length)};
           }),
           py::kw_only(), py::arg("chunk_size") = 1000, py::arg("chunk_overlap") = 200,
           py::arg("strip_whitespace") = true, py::arg("length_unit") = "code_points",
           py::arg("length_function") = py::none(), py::arg("hard_limit") = false,
           py::arg("max_heading_level") = 6, py::arg("length") = py::none(),
           py::arg("encoding") = py::none())
      .def("split", &SplitChunks<PyMarkdownSplitter>, py::arg("text"),
           "Returns list[Chunk] in text order.")
      .def("split_text", &SplitTexts<PyMarkdownSplitter>, py::arg("text"),
           "Returns the chunk texts.")
      .def("__repr__", [](const PyMarkdownSplitter& self) {
        return "MarkdownSplitter(chunk_size=" + std::to_string(self.splitter.options().chunk_size) +
               ", chunk_overlap=" + std::to_string(self.splitter.options().chunk_overlap) + ")";
      });

  BindTokenChunker<TokenSplitter, TokenSplitterOptions>(
      module, "TokenSplitter",
      "Windows of chunk_size tokens (LangChain's TokenTextSplitter) with boundaries on characters "
      "and exact offsets.");
  BindTokenChunker<SentenceSplitter, SentenceSplitterOptions>(
      module, "SentenceSplitter",
      "Token-sized chunks ending at paragraph, sentence, then word boundaries; never over "
      "chunk_size tokens.");
}

}  // namespace llmkit::python
