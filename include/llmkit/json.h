// A JSON value for metadata, tool arguments, template contexts and request extras.
//
// `Json` is a plain value (null, bool, integer, double, string, array, object) that copies like a
// `std::string`. Objects keep their keys in insertion order, as Python's dict and JavaScript's
// objects do, so a parse + dump round trip keeps the original order.
//
//   absl::StatusOr<llmkit::Json> doc = llmkit::Json::Parse(R"({"title": "Intro", "tags": [1,
//   2]})"); if (!doc.ok()) return doc.status();
//   (*doc)["tags"].push_back(3);
//   std::string text = doc->Dump();   // {"title":"Intro","tags":[1,2,3]}
//   const llmkit::Json* title = doc->Find("title");  // nullptr when absent
//
// Thread safety: multiple threads can invoke const methods on a Json without external
// synchronization, but if any thread may call a non-const method, all threads accessing the same
// Json must use external synchronization.

#ifndef LLMKIT_JSON_H_
#define LLMKIT_JSON_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace llmkit {

// Options for `Json::Dump`. The defaults give compact JSON; `PythonStyle()` gives exactly what
// Python's `json.dumps(value, ensure_ascii=False)` prints.
struct JsonDumpOptions {
  int indent = -1;            // < 0: one line. >= 0: newline and this many spaces per level.
  bool sort_keys = false;     // Sort object keys by code point (byte order), like Python.
  bool ensure_ascii = false;  // Escape every non-ASCII code point as \uXXXX (surrogates).
  std::string_view item_separator = ",";  // Between array items and object members.
  std::string_view key_separator = ":";   // Between an object key and its value.

  // json.dumps defaults: ", " and ": " on one line; "," and ": " when indented.
  static JsonDumpOptions PythonStyle(int indent = -1) {
    JsonDumpOptions options;
    options.indent = indent;
    options.item_separator = indent < 0 ? ", " : ",";
    options.key_separator = ": ";
    return options;
  }
};

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Member = std::pair<std::string, Json>;
  using Object = std::vector<Member>;  // Insertion order; keys are unique.

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool value) : value_(value) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Json(T value) : value_(static_cast<int64_t>(value)) {}  // Any integer type.
  Json(double value) : value_(value) {}
  Json(const char* value) : value_(std::string(value)) {}
  Json(std::string_view value) : value_(std::string(value)) {}
  Json(std::string value) : value_(std::move(value)) {}
  Json(Array value) : value_(std::move(value)) {}
  Json(Object value);  // Later duplicates of a key replace earlier ones.

  // Copies and moves as a value. Copying, comparing, serializing and destroying walk nested
  // arrays and objects without recursion, so a value of any depth (built in code; parsing stops
  // at 1024 levels) is safe to use.
  Json(const Json& other);
  Json(Json&&) noexcept = default;
  Json& operator=(const Json& other) {
    if (this != &other) *this = Json(other);
    return *this;
  }
  Json& operator=(Json&&) noexcept = default;
  ~Json();

  static Json MakeArray() { return Json(Array{}); }
  static Json MakeObject() { return Json(Object{}); }

  // Parses one JSON document (RFC 8259; the input must be valid UTF-8). Integers that fit in
  // int64 become kInt, larger ones up to UINT64_MAX the nearest kDouble, other numbers kDouble;
  // integers wider than 64 bits and numbers outside double range are errors (Python would keep
  // them). A key repeated in an object keeps its last value, as Python's json does.
  // Threads: each thread reuses its own simdjson parser.
  // Errors: kInvalidArgument naming the byte offset of the problem (payload kPayloadByteOffset),
  // including trailing content after the value and nesting deeper than 1024 levels.
  static absl::StatusOr<Json> Parse(std::string_view text);

  // Serializes the value. Strings are escaped exactly as JSON requires (`"`, `\`, control
  // characters as \b \f \n \r \t or \u00XX); doubles print as Python's repr prints them (shortest
  // round-trip form: 1.0, 1e-05, 1e+16); NaN and infinities print as NaN / Infinity / -Infinity,
  // as Python's json.dumps does by default.
  std::string Dump(const JsonDumpOptions& options = {}) const;

  Type type() const { return static_cast<Type>(value_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_double() const { return type() == Type::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Accessors. REQUIRES: the value has that type (as_double also accepts kInt).
  bool as_bool() const { return std::get<bool>(value_); }
  int64_t as_int() const { return std::get<int64_t>(value_); }
  double as_double() const {
    return is_int() ? static_cast<double>(std::get<int64_t>(value_)) : std::get<double>(value_);
  }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  const Array& as_array() const { return std::get<Array>(value_); }
  Array& as_array() { return std::get<Array>(value_); }
  const Object& as_object() const { return std::get<Object>(value_); }

  // Number of array items or object members; 0 for every other type.
  size_t size() const;

  // Returns the member named `key`, or nullptr if this is not an object or has no such member.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);

  // Returns the member named `key`, appending a null member if absent. A null value becomes an
  // empty object first. REQUIRES: is_null() || is_object().
  Json& operator[](std::string_view key);

  // Sets member `key` to `value` (replacing it in place if present). REQUIRES: as operator[].
  void Set(std::string_view key, Json value) { (*this)[key] = std::move(value); }

  // Appends to an array. A null value becomes an empty array first.
  // REQUIRES: is_null() || is_array().
  void push_back(Json value);

  // Deep equality with Python's rules: 1 == 1.0, objects compare regardless of member order.
  friend bool operator==(const Json& a, const Json& b);

 private:
  // Moves the items or member values of this array or object to `out` (leaving it empty).
  void TakeChildren(std::vector<Json>* out);

  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> value_;
};

// The JSON Pointer (RFC 6901, e.g. "/scores/2") of the first NaN or infinite number in
// `value`, or nullopt when every number is finite. Such numbers have no JSON text: Dump writes
// them as Python does (NaN, Infinity), which Parse (RFC 8259) rejects, so stores refuse them.
// Walks with its own stack (any depth).
std::optional<std::string> FindNonFinite(const Json& value);

}  // namespace llmkit

#endif  // LLMKIT_JSON_H_
