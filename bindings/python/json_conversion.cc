// llmkit::Json <-> Python objects.

#include "json_conversion.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
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

// 16 bytes a step with SSE2.
bool IsAscii(std::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
#if defined(__SSE2__)
  __m128i any = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + i)));
  }
  if (_mm_movemask_epi8(any) != 0) return false;
#endif
  unsigned char rest = 0;
  for (; i < n; ++i) rest |= bytes[i];
  return rest < 0x80;
}

PyObject* NewStr(std::string_view bytes, bool ascii) {
  const auto size = static_cast<Py_ssize_t>(bytes.size());
  if (!ascii && !IsAscii(bytes)) return PyUnicode_DecodeUTF8(bytes.data(), size, nullptr);
  PyObject* str = PyUnicode_New(size, 127);
  if (str != nullptr) std::memcpy(PyUnicode_1BYTE_DATA(str), bytes.data(), bytes.size());
  return str;
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

// What one conversion carries down the tree: the containers being converted (outermost first)
// and an estimate of the bytes the target holds.
struct State {
  absl::InlinedVector<PyObject*, 16> path;
  size_t bytes = 0;
};

void Assign(Json* target, PyObject* value, State& state);

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

// A dict key's UTF-8 (keys must be str, as JSON's are).
std::string_view KeyOrRefuse(PyObject* key) {
  if (!PyUnicode_Check(key)) Refuse("JSON object keys must be str, got " + TypeName(key));
  Py_ssize_t size = 0;
  const char* data = Utf8OrRefuse(key, &size);
  return std::string_view(data, static_cast<size_t>(size));
}

int64_t Int64OrRefuse(PyObject* value) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
  if (overflow != 0) Refuse("integer does not fit in 64 bits");
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<int64_t>(v);
}

// A list, tuple or dict about to be converted: refused when it is none of those, when it
// contains itself, or when it is nested too deep; otherwise on `state.path` until Leave.
void Enter(PyObject* value, State& state) {
  if (!PyList_Check(value) && !PyTuple_Check(value) && !PyDict_Check(value)) {
    Refuse("cannot convert " + TypeName(value) + " to JSON");
  }
  auto& path = state.path;
  if (std::find(path.begin(), path.end(), value) != path.end()) {
    Refuse("circular reference detected: a list or dict contains itself");
  }
  if (path.size() >= kMaxDepth) {
    Refuse(absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
  }
  path.push_back(value);
}

// A str's bytes into `target`, reusing its string when it holds one already. `as_string()` is
// const only to keep callers from breaking an object's invariants; a string has none.
void AssignString(Json* target, const char* data, size_t size) {
  if (target->is_string()) {
    const_cast<std::string&>(target->as_string()).assign(data, size);
  } else {
    *target = Json(std::string(data, size));
  }
}

template <typename Pairs>
void AssignObject(Json* target, size_t n, Pairs pairs, State& state);

void AssignDict(Json* target, PyObject* dict, State& state) {
  Py_ssize_t position = 0;
  auto pairs = [dict, position](PyObject** key, PyObject** member) mutable {
    return PyDict_Next(dict, &position, key, member) != 0;
  };
  AssignObject(target, static_cast<size_t>(PyDict_GET_SIZE(dict)), pairs, state);
}

// An object from `n` (key, value) pairs that `pairs(&key, &value)` yields (false at the end; a
// copy of `pairs` starts over). If `target` is an object with the same keys in the same order
// (the next render of a context shaped like the last one), the values are assigned in place;
// otherwise the object is built anew. Keys are unique: a dict's str keys cannot be equal, nor
// can keyword names.
template <typename Pairs>
void AssignObject(Json* target, size_t n, Pairs pairs, State& state) {
  PyObject *key = nullptr, *member = nullptr;
  if (target->is_object() && target->size() == n) {
    const Json::Object& members = target->as_object();
    Pairs again = pairs;
    size_t i = 0;
    for (; again(&key, &member); ++i) {
      if (members[i].first != KeyOrRefuse(key)) break;
      state.bytes += sizeof(Json::Member) + members[i].first.size();
      // The key stays as it is, so the object's invariant (unique keys) holds.
      Assign(const_cast<Json*>(&members[i].second), member, state);
    }
    if (i == n) return;
  }
  Json::Object members;
  members.reserve(n);
  while (pairs(&key, &member)) {
    std::string_view name = KeyOrRefuse(key);
    members.emplace_back(std::string(name), Json());
    state.bytes += sizeof(Json::Member) + name.size();
    Assign(&members.back().second, member, state);
  }
  *target = Json(std::move(members));
}

void AssignContainer(Json* target, PyObject* value, State& state) {
  if (PyDict_Check(value)) return AssignDict(target, value, state);
  // PySequence_Fast_* read a list's or a tuple's items alike; converting runs no Python code,
  // so the list cannot change under the loop.
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
  PyObject** items = PySequence_Fast_ITEMS(value);
  if (!target->is_array()) *target = Json::MakeArray();
  Json::Array& out = target->as_array();
  out.resize(static_cast<size_t>(n));
  state.bytes += sizeof(Json) * static_cast<size_t>(n);
  for (Py_ssize_t i = 0; i < n; ++i) Assign(&out[static_cast<size_t>(i)], items[i], state);
}

// Reads Python values with the C API directly: pybind11's casters build temporary objects
// (a bytes copy of every str), which made converting a chat context cost more than rendering it.
void Assign(Json* target, PyObject* value, State& state) {
  // Strings first: they are most of a chat context.
  if (PyUnicode_Check(value)) {
    Py_ssize_t size = 0;
    const char* data = Utf8OrRefuse(value, &size);
    state.bytes += static_cast<size_t>(size);
    return AssignString(target, data, static_cast<size_t>(size));
  }
  if (value == Py_None) {
    *target = Json();
    return;
  }
  if (PyBool_Check(value)) {
    *target = Json(value == Py_True);
    return;
  }
  if (PyLong_Check(value)) {
    *target = Json(Int64OrRefuse(value));
    return;
  }
  if (PyFloat_Check(value)) {
    *target = Json(PyFloat_AS_DOUBLE(value));
    return;
  }
  Enter(value, state);
  AssignContainer(target, value, state);
  state.path.pop_back();
}

// --- Template variables without copies ----------------------------------------------------

// What one BorrowedValues conversion carries: the containers being converted (as State) and
// the str objects viewed, each a new reference (null when the holds are deferred).
struct Borrowing {
  State state;
  std::vector<PyObject*>* held;
};

// Holds (new references in `held`) every str in `value`, a value converted without holds and
// unchanged since: no check is needed again.
void HoldStrings(PyObject* value, std::vector<PyObject*>* held) {
  if (PyUnicode_Check(value)) {
    Py_INCREF(value);
    held->push_back(value);
  } else if (PyDict_Check(value)) {
    Py_ssize_t position = 0;
    PyObject *key = nullptr, *member = nullptr;
    while (PyDict_Next(value, &position, &key, &member)) {
      Py_INCREF(key);
      held->push_back(key);
      HoldStrings(member, held);
    }
  } else if (PyList_Check(value) || PyTuple_Check(value)) {
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
    PyObject** items = PySequence_Fast_ITEMS(value);
    for (Py_ssize_t i = 0; i < n; ++i) HoldStrings(items[i], held);
  }
}

// Borrow's rarer paths, out of line: a str that is not compact ASCII, and the hold.
[[gnu::noinline]] std::string_view Utf8View(PyObject* text) {
  Py_ssize_t size = 0;
  const char* data = Utf8OrRefuse(text, &size);
  return std::string_view(data, static_cast<size_t>(size));
}

[[gnu::noinline]] void Hold(PyObject* text, std::vector<PyObject*>* held) {
  Py_INCREF(text);
  held->push_back(text);
}

// A str's UTF-8 as a view, the str held unless deferred: an ASCII str's characters are its UTF-8
// already. Inline: it runs for every key and string.
[[gnu::always_inline]] inline std::string_view Borrow(PyObject* text, Borrowing& b) {
  const std::string_view view =
      PyUnicode_IS_COMPACT_ASCII(text)
          ? std::string_view(static_cast<const char*>(PyUnicode_DATA(text)),
                             static_cast<size_t>(PyUnicode_GET_LENGTH(text)))
          : Utf8View(text);
  if (b.held != nullptr) Hold(text, b.held);
  b.state.bytes += view.size();
  return view;
}

void Put(TemplateValues& out, PyObject* value, Borrowing& b);

void PutKey(TemplateValues& out, PyObject* key, Borrowing& b) {
  if (!PyUnicode_Check(key)) Refuse("JSON object keys must be str, got " + TypeName(key));
  out.Key(Borrow(key, b));
}

// A value that is neither a str nor a container: None, a bool, an int, a float, or refused.
[[gnu::noinline]] void PutScalar(TemplateValues& out, PyObject* value, Borrowing& b) {
  if (value == Py_None) return out.Null();
  if (PyBool_Check(value)) return out.Bool(value == Py_True);
  if (PyLong_Check(value)) return out.Int(Int64OrRefuse(value));
  if (PyFloat_Check(value)) return out.Double(PyFloat_AS_DOUBLE(value));
  Enter(value, b.state);  // Refuses it, naming its type.
}

void Put(TemplateValues& out, PyObject* value, Borrowing& b) {
  // The type's flags settle the common kinds without a call: str, dict, list, tuple.
  const unsigned long flags = Py_TYPE(value)->tp_flags;
  if (flags & Py_TPFLAGS_UNICODE_SUBCLASS) return out.String(Borrow(value, b));
  constexpr unsigned long kContainers =
      Py_TPFLAGS_DICT_SUBCLASS | Py_TPFLAGS_LIST_SUBCLASS | Py_TPFLAGS_TUPLE_SUBCLASS;
  if (!(flags & kContainers)) return PutScalar(out, value, b);
  Enter(value, b.state);
  b.state.bytes += sizeof(Json);
  if (flags & Py_TPFLAGS_DICT_SUBCLASS) {
    // A dict's str keys are distinct strings: the duplicate check is skipped.
    out.BeginObject(static_cast<size_t>(PyDict_GET_SIZE(value)), /*keys_unique=*/true);
    Py_ssize_t position = 0;
    PyObject *key = nullptr, *member = nullptr;
    while (PyDict_Next(value, &position, &key, &member)) {
      if (PyUnicode_CheckExact(key) && PyUnicode_CheckExact(member)) {
        out.Member(Borrow(key, b), Borrow(member, b));  // The common member, in one call.
      } else {
        PutKey(out, key, b);
        Put(out, member, b);
      }
    }
  } else {
    // Converting runs no Python code, so the list cannot change under the loop.
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(value);
    out.BeginArray(static_cast<size_t>(n));
    PyObject** items = PySequence_Fast_ITEMS(value);
    for (Py_ssize_t i = 0; i < n; ++i) Put(out, items[i], b);
  }
  out.End();
  b.state.path.pop_back();
}

// Per thread, a few converted values kept for the next call (a render inside a render's loader
// takes the next free one). One that held more than kKeepBytes is freed when released.
constexpr size_t kSlots = 4;
constexpr size_t kKeepBytes = size_t{1} << 20;

struct Slot {
  Json value;
  bool busy = false;
};

thread_local Slot slots[kSlots];

}  // namespace

struct BorrowedValues::Slot {
  TemplateValues values;
  std::vector<PyObject*> held;
  size_t bytes = 0;  // What the last conversion held, roughly.
  bool busy = false;
  bool hook_set = false;  // values' long-render hook is ReleaseGil.
  // The render in progress, deferred: what was converted (a dict held by the slot, or the
  // keyword arguments of the call under way), and the GIL once released.
  bool deferred = false;
  PyObject* dict = nullptr;
  PyObject* const* keyword_values = nullptr;
  Py_ssize_t keyword_count = 0;
  PyThreadState* released = nullptr;

  // The long-render hook: a deferred render holds every str it reads and lets the GIL go.
  void ReleaseGil() {
    if (!deferred || released != nullptr) return;
    if (dict != nullptr) HoldStrings(dict, &held);
    for (Py_ssize_t i = 0; i < keyword_count; ++i) HoldStrings(keyword_values[i], &held);
    released = PyEval_SaveThread();
  }
};

namespace {

thread_local BorrowedValues::Slot borrowed_slots[kSlots];

}  // namespace

BorrowedValues::BorrowedValues(bool deferred) {
  for (Slot& slot : borrowed_slots) {
    if (!slot.busy) {
      slot_ = &slot;
      break;
    }
  }
  if (slot_ == nullptr) {
    own_ = std::make_unique<Slot>();
    slot_ = own_.get();
  }
  slot_->busy = true;
  slot_->deferred = deferred;
  if (!slot_->hook_set) {
    Slot* slot = slot_;
    slot_->values.SetLongRenderHook([slot] { slot->ReleaseGil(); });
    slot_->hook_set = true;
  }
}

BorrowedValues::~BorrowedValues() {
  if (slot_->released != nullptr) {  // A render that threw after the hook (cannot happen today).
    PyEval_RestoreThread(slot_->released);
    slot_->released = nullptr;
  }
  for (PyObject* text : slot_->held) Py_DECREF(text);
  slot_->held.clear();
  Py_CLEAR(slot_->dict);
  slot_->keyword_values = nullptr;
  slot_->keyword_count = 0;
  slot_->deferred = false;
  slot_->values.Clear();
  if (slot_->bytes > kKeepBytes) {
    slot_->values = TemplateValues();
    slot_->held = std::vector<PyObject*>();
  }
  slot_->bytes = 0;
  slot_->busy = false;
}

TemplateValues& BorrowedValues::Assign(py::handle dict) {
  TemplateValues& out = slot_->values;
  out.Clear();
  Borrowing b{State(), slot_->deferred ? nullptr : &slot_->held};
  if (!PyDict_Check(dict.ptr())) Refuse("template variables must be a dict");
  Put(out, dict.ptr(), b);
  if (slot_->deferred) {
    Py_INCREF(dict.ptr());
    Py_XSETREF(slot_->dict, dict.ptr());
  }
  slot_->bytes = b.state.bytes;
  return out;
}

TemplateValues& BorrowedValues::AssignKeywords(PyObject* const* values, PyObject* names) {
  TemplateValues& out = slot_->values;
  out.Clear();
  Borrowing b{State(), slot_->deferred ? nullptr : &slot_->held};
  out.BeginObject(0, /*keys_unique=*/true);  // Python refuses a keyword given twice.
  const Py_ssize_t n = PyTuple_GET_SIZE(names);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PutKey(out, PyTuple_GET_ITEM(names, i), b);
    Put(out, values[i], b);
  }
  out.End();
  if (slot_->deferred) {
    // The names (a tuple) and the values live in the caller's frame for the whole call.
    slot_->keyword_values = values;
    slot_->keyword_count = n;
  }
  slot_->bytes = b.state.bytes;
  return out;
}

absl::Status BorrowedValues::RenderTo(const Template& t, std::string* out) {
  if (!slot_->deferred) {
    py::gil_scoped_release release;
    return t.RenderTo(slot_->values, out);
  }
  absl::Status status = t.RenderTo(slot_->values, out);  // ReleaseGil may let the GIL go.
  if (slot_->released != nullptr) {
    PyEval_RestoreThread(std::exchange(slot_->released, nullptr));
  }
  return status;
}

Json PythonToJson(py::handle value) {
  Json out;
  State state;
  Assign(&out, value.ptr(), state);
  return out;
}

ReusedJson::ReusedJson() {
  for (Slot& slot : slots) {
    if (!slot.busy) {
      slot.busy = true;
      value_ = &slot.value;
      return;
    }
  }
  value_ = &own_;
}

ReusedJson::~ReusedJson() {
  if (value_ == &own_) return;
  if (bytes_ > kKeepBytes) *value_ = Json();
  for (Slot& slot : slots) {
    if (&slot.value == value_) slot.busy = false;
  }
}

const Json& ReusedJson::AssignKeywords(PyObject* const* values, PyObject* names) {
  State state;
  const Py_ssize_t n = PyTuple_GET_SIZE(names);
  Py_ssize_t i = 0;
  auto pairs = [values, names, n, i](PyObject** key, PyObject** member) mutable {
    if (i == n) return false;
    *key = PyTuple_GET_ITEM(names, i);
    *member = values[i];
    ++i;
    return true;
  };
  try {
    AssignObject(value_, static_cast<size_t>(n), pairs, state);
  } catch (...) {
    *value_ = Json();
    throw;
  }
  bytes_ = std::max(bytes_, state.bytes);
  return *value_;
}

const Json& ReusedJson::Assign(py::handle value) {
  State state;
  try {
    python::Assign(value_, value.ptr(), state);
  } catch (...) {
    *value_ = Json();
    throw;
  }
  bytes_ = std::max(bytes_, state.bytes);
  return *value_;
}

}  // namespace llmkit::python
