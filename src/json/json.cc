// Json: parsing with simdjson On-Demand, serialization with exact escaping and Python-style
// number formatting.

#include "llmkit/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "simdjson.h"
#include "unicode/utf8.h"

namespace llmkit {
namespace {

using internal::AppendDouble;
using internal::AppendString;

// Objects up to this many members detect duplicate keys by a linear scan.
constexpr size_t kLinearKeyScan = 16;

// Appends members to an object, letting a repeated key replace the earlier value in place.
class ObjectBuilder {
 public:
  void Add(std::string key, Json value) {
    if (members_.size() < kLinearKeyScan) {
      for (Json::Member& member : members_) {
        if (member.first == key) {
          member.second = std::move(value);
          return;
        }
      }
      members_.emplace_back(std::move(key), std::move(value));
      if (members_.size() == kLinearKeyScan) {
        for (size_t i = 0; i < members_.size(); ++i) index_.emplace(members_[i].first, i);
      }
      return;
    }
    auto [it, inserted] = index_.try_emplace(key, members_.size());
    if (!inserted) {
      members_[it->second].second = std::move(value);
      return;
    }
    members_.emplace_back(std::move(key), std::move(value));
  }
  void Reserve(size_t n) { members_.reserve(n); }
  Json::Object Take() && { return std::move(members_); }

 private:
  Json::Object members_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// Returns the offset of the first byte where `text` stops being one JSON value (RFC 8259), used
// only to name the position once simdjson has rejected the document.
class ErrorLocator {
 public:
  explicit ErrorLocator(std::string_view text) : text_(text) {}

  size_t Locate() {
    size_t bad_utf8 = internal::FindInvalidUtf8(text_);
    SkipSpace();
    if (!Value(0)) return std::min(pos_, bad_utf8);
    SkipSpace();
    return std::min(pos_, bad_utf8);  // Trailing content starts here (or the end).
  }

 private:
  bool Value(int depth) {
    if (depth > 1024 || pos_ >= text_.size()) return false;
    char c = text_[pos_];
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      SkipSpace();
      if (Peek(close)) return ++pos_, true;
      while (true) {
        if (close == '}') {
          if (!Peek('"') || !String()) return false;
          SkipSpace();
          if (!Peek(':')) return false;
          ++pos_;
          SkipSpace();
        }
        if (!Value(depth + 1)) return false;
        SkipSpace();
        if (Peek(close)) return ++pos_, true;
        if (!Peek(',')) return false;
        ++pos_;
        SkipSpace();
      }
    }
    if (c == '"') return String();
    for (std::string_view word : {"true", "false", "null"}) {
      if (text_.substr(pos_, word.size()) == word) return pos_ += word.size(), true;
    }
    return Number();
  }

  bool String() {
    ++pos_;  // Opening quote.
    while (pos_ < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) return false;
        char escape = text_[pos_];
        if (escape == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() || !absl::ascii_isxdigit(text_[pos_ + i])) return false;
          }
          pos_ += 4;
        } else if (std::string_view("\"\\\\/bfnrt").find(escape) == std::string_view::npos) {
          return false;
        }
      }
      ++pos_;
    }
    return false;
  }

  bool Number() {
    size_t start = pos_;
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek('.')) {
      ++pos_;
      if (!Digits()) return false;
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (!Digits()) return false;
    }
    // simdjson also rejects numbers it cannot represent (over 64-bit integers, out of double
    // range): point at the number itself.
    double value = std::strtod(std::string(text_.substr(start, pos_ - start)).c_str(), nullptr);
    if (std::isinf(value)) return pos_ = start, false;
    return true;
  }

  bool Digits() {
    size_t start = pos_;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) ++pos_;
    return pos_ > start;
  }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Json FromElement(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array(element);
      Json::Array items;
      items.reserve(array.size());  // One allocation per array.
      for (simdjson::dom::element item : array) {
        items.push_back(FromElement(item));
      }
      return Json(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object(element);
      ObjectBuilder builder;
      builder.Reserve(object.size());
      for (simdjson::dom::key_value_pair member : object) {
        builder.Add(std::string(member.key), FromElement(member.value));
      }
      return Json(std::move(builder).Take());
    }
    case simdjson::dom::element_type::INT64:
      return Json(int64_t{element.get_int64().value_unsafe()});
    case simdjson::dom::element_type::UINT64:  // Above INT64_MAX: the nearest double.
      return Json(static_cast<double>(element.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE:
      return Json(element.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return Json(std::string_view(element.get_string().value_unsafe()));
    case simdjson::dom::element_type::BOOL:
      return Json(element.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE:
      return Json();
  }
  return Json();
}

// Appends `code_unit` as \uXXXX.
void AppendUnicodeEscape(uint32_t code_unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buffer[6] = {'\\',
                    'u',
                    kHex[(code_unit >> 12) & 15],
                    kHex[(code_unit >> 8) & 15],
                    kHex[(code_unit >> 4) & 15],
                    kHex[code_unit & 15]};
  out->append(buffer, 6);
}

// Decodes one UTF-8 sequence at `text[*i]`, advancing *i; invalid bytes decode as U+FFFD.
uint32_t DecodeLenient(std::string_view text, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(*i);
  int length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
  if (length == 0 || *i + length > text.size()) {
    ++*i;
    return 0xFFFD;
  }
  uint32_t code_point = lead & (0x7F >> length);
  for (int k = 1; k < length; ++k) {
    unsigned char next = byte(*i + k);
    if ((next & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    code_point = (code_point << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinimum[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    ++*i;
    return 0xFFFD;
  }
  *i += length;
  return code_point;
}

void AppendNewline(const JsonDumpOptions& options, int depth, std::string* out) {
  out->push_back('\n');
  out->append(static_cast<size_t>(options.indent) * depth, ' ');
}

// A scalar's text.
void AppendScalar(const Json& value, const JsonDumpOptions& options, std::string* out) {
  switch (value.type()) {
    case Json::Type::kNull:
      out->append("null");
      return;
    case Json::Type::kBool:
      out->append(value.as_bool() ? "true" : "false");
      return;
    case Json::Type::kInt:
      absl::StrAppend(out, value.as_int());
      return;
    case Json::Type::kDouble:
      AppendDouble(value.as_double(), out);
      return;
    case Json::Type::kString:
      AppendString(value.as_string(), options.ensure_ascii, out);
      return;
    default:
      return;
  }
}

// Serializes `root` with an explicit stack of open arrays and objects (no recursion, so any
// depth is fine).
void Append(const Json& root, const JsonDumpOptions& options, std::string* out) {
  struct Open {
    const Json* container;
    std::vector<const Json::Member*> order;  // Objects: members in output order.
    size_t next = 0;
  };
  std::vector<Open> stack;
  auto open = [&](const Json& value) {
    if (value.is_array()) {
      out->push_back('[');
      stack.push_back(Open{&value, {}});
    } else if (value.is_object()) {
      Open frame{&value, {}};
      frame.order.reserve(value.size());
      for (const Json::Member& member : value.as_object()) frame.order.push_back(&member);
      if (options.sort_keys) {
        std::sort(frame.order.begin(), frame.order.end(),
                  [](const Json::Member* a, const Json::Member* b) { return a->first < b->first; });
      }
      out->push_back('{');
      stack.push_back(std::move(frame));
    } else {
      AppendScalar(value, options, out);
    }
  };
  open(root);
  while (!stack.empty()) {
    Open& top = stack.back();
    const int depth = static_cast<int>(stack.size()) - 1;
    const size_t size = top.container->size();
    if (top.next == size) {
      if (options.indent >= 0 && size != 0) AppendNewline(options, depth, out);
      out->push_back(top.container->is_array() ? ']' : '}');
      stack.pop_back();
      continue;
    }
    if (top.next > 0) out->append(options.item_separator);
    if (options.indent >= 0) AppendNewline(options, depth + 1, out);
    const size_t i = top.next++;
    if (top.container->is_array()) {
      open(top.container->as_array()[i]);  // May grow `stack`: `top` is not used after this.
    } else {
      const Json::Member* member = top.order[i];
      AppendString(member->first, options.ensure_ascii, out);
      out->append(options.key_separator);
      open(member->second);
    }
  }
}

}  // namespace

namespace internal {

void AppendString(std::string_view text, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  size_t run_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    // Python's ensure_ascii escapes everything outside ' '..'~', DEL included.
    if (c >= 0x20 && c != '"' && c != '\\' && (!ensure_ascii || c < 0x7F)) {
      ++i;
      continue;
    }
    out->append(text.data() + run_start, i - run_start);
    if (c >= 0x7F) {
      uint32_t code_point = c == 0x7F ? (++i, 0x7Fu) : DecodeLenient(text, &i);
      if (code_point >= 0x10000) {
        code_point -= 0x10000;
        AppendUnicodeEscape(0xD800 + (code_point >> 10), out);
        AppendUnicodeEscape(0xDC00 + (code_point & 0x3FF), out);
      } else {
        AppendUnicodeEscape(code_point, out);
      }
      run_start = i;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        AppendUnicodeEscape(c, out);
        break;
    }
    ++i;
    run_start = i;
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

// Formats `value` as Python's float.__repr__ does: the shortest digits that round-trip, fixed
// notation for decimal exponents in [-4, 16), scientific otherwise.
void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view scientific(buffer, end - buffer);  // [-]d[.ddd]e(+|-)dd
  size_t e_pos = scientific.find('e');
  std::string_view mantissa = scientific.substr(0, e_pos);
  int exponent = std::atoi(std::string(scientific.substr(e_pos + 1)).c_str());
  std::string digits;
  if (!mantissa.empty() && mantissa[0] == '-') {
    out->push_back('-');
    mantissa.remove_prefix(1);
  }
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out->append("0.");
      out->append(static_cast<size_t>(-exponent - 1), '0');
      out->append(digits);
      return;
    }
    size_t integer_digits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= integer_digits) {
      out->append(digits);
      out->append(integer_digits - digits.size(), '0');
      out->append(".0");
    } else {
      out->append(digits, 0, integer_digits);
      out->push_back('.');
      out->append(digits, integer_digits);
    }
    return;
  }
  out->push_back(digits[0]);
  if (digits.size() > 1) {
    out->push_back('.');
    out->append(digits, 1);
  }
  out->push_back('e');
  out->push_back(exponent < 0 ? '-' : '+');
  int magnitude = std::abs(exponent);
  if (magnitude < 10) out->push_back('0');
  absl::StrAppend(out, magnitude);
}

}  // namespace internal

namespace {

// True when `j` holds a non-empty array or object.
bool HasChildren(const Json& j) { return j.size() != 0; }

// True when an item or member value of `j` has children of its own (`j` is two levels deep).
bool HasGrandchildren(const Json& j) {
  if (j.is_array()) {
    for (const Json& item : j.as_array()) {
      if (HasChildren(item)) return true;
    }
  } else if (j.is_object()) {
    for (const Json::Member& member : j.as_object()) {
      if (HasChildren(member.second)) return true;
    }
  }
  return false;
}

}  // namespace

Json::~Json() {
  // Values one level deep (the usual case) are freed by the members' own destructors. Deeper
  // ones are taken apart level by level from a work list, so freeing never recurses.
  if (!HasGrandchildren(*this)) return;
  std::vector<Json> pending;
  TakeChildren(&pending);
  while (!pending.empty()) {
    Json last = std::move(pending.back());
    pending.pop_back();
    last.TakeChildren(&pending);  // `last` is then a leaf: its destructor returns at once.
  }
}

Json::Json(const Json& other) {
  if (!HasGrandchildren(other)) {
    value_ = other.value_;
    return;
  }
  // Level by level: each container is filled with its scalars and empty placeholders first
  // (so the placeholders' addresses are final), then the placeholders wait on a work list.
  std::vector<std::pair<const Json*, Json*>> pending = {{&other, this}};
  while (!pending.empty()) {
    auto [from, to] = pending.back();
    pending.pop_back();
    if (const Array* items = std::get_if<Array>(&from->value_)) {
      Array& copy = to->value_.emplace<Array>();
      copy.reserve(items->size());
      for (const Json& item : *items) copy.push_back(HasChildren(item) ? Json() : Json(item));
      for (size_t i = 0; i < items->size(); ++i) {
        if (HasChildren((*items)[i])) pending.emplace_back(&(*items)[i], &copy[i]);
      }
    } else if (const Object* members = std::get_if<Object>(&from->value_)) {
      Object& copy = to->value_.emplace<Object>();
      copy.reserve(members->size());
      for (const Member& member : *members) {
        copy.emplace_back(member.first, HasChildren(member.second) ? Json() : Json(member.second));
      }
      for (size_t i = 0; i < members->size(); ++i) {
        if (HasChildren((*members)[i].second)) {
          pending.emplace_back(&(*members)[i].second, &copy[i].second);
        }
      }
    } else {
      to->value_ = from->value_;
    }
  }
}

void Json::TakeChildren(std::vector<Json>* out) {
  if (Array* items = std::get_if<Array>(&value_)) {
    for (Json& item : *items) {
      if (HasChildren(item)) out->push_back(std::move(item));
    }
    items->clear();
  } else if (Object* members = std::get_if<Object>(&value_)) {
    for (Member& member : *members) {
      if (HasChildren(member.second)) out->push_back(std::move(member.second));
    }
    members->clear();
  }
}

Json::Json(Object value) {
  // Members with unique keys (the usual case: a dict, a parsed object) are kept as they are.
  bool unique = true;
  if (value.size() <= kLinearKeyScan) {
    for (size_t i = 1; i < value.size() && unique; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (value[i].first == value[j].first) {
          unique = false;
          break;
        }
      }
    }
  } else {
    absl::flat_hash_set<std::string_view> keys;
    keys.reserve(value.size());
    for (const Member& member : value) {
      if (!keys.insert(member.first).second) {
        unique = false;
        break;
      }
    }
  }
  if (unique) {
    value_ = std::move(value);
    return;
  }
  ObjectBuilder builder;
  for (Member& member : value) builder.Add(std::move(member.first), std::move(member.second));
  value_ = std::move(builder).Take();
}

absl::StatusOr<Json> Json::Parse(std::string_view text) {
  // One parser per thread, reused: its buffers grow to the largest document seen.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code error = parser.parse(text.data(), text.size()).get(root);
  if (error) {
    size_t offset = ErrorLocator(text).Locate();
    return WithPayload(
        absl::InvalidArgumentError(absl::StrCat("invalid JSON at byte offset ", offset, ": ",
                                                simdjson::error_message(error))),
        kPayloadByteOffset, absl::StrCat(offset));
  }
  return FromElement(root);
}

std::string Json::Dump(const JsonDumpOptions& options) const {
  std::string out;
  Append(*this, options, &out);
  return out;
}

size_t Json::size() const {
  if (is_array()) return as_array().size();
  if (is_object()) return as_object().size();
  return 0;
}

const Json* Json::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const Member& member : as_object()) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->Find(key));
}

Json& Json::operator[](std::string_view key) {
  if (is_null()) value_ = Object{};
  if (Json* found = Find(key)) return *found;
  Object& members = std::get<Object>(value_);
  members.emplace_back(std::string(key), Json());
  return members.back().second;
}

void Json::push_back(Json value) {
  if (is_null()) value_ = Array{};
  std::get<Array>(value_).push_back(std::move(value));
}

namespace {

// One level of ==: scalars compared, containers' sizes and keys checked and their children's
// pairs added to `pending`.
bool ShallowEqual(const Json& a, const Json& b,
                  std::vector<std::pair<const Json*, const Json*>>* pending) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::kNull:
      return true;
    case Json::Type::kBool:
      return a.as_bool() == b.as_bool();
    case Json::Type::kString:
      return a.as_string() == b.as_string();
    case Json::Type::kArray:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        pending->emplace_back(&a.as_array()[i], &b.as_array()[i]);
      return true;
    case Json::Type::kObject:
      if (a.size() != b.size()) return false;
      for (const Json::Member& member : a.as_object()) {
        const Json* other = b.Find(member.first);
        if (other == nullptr) return false;
        pending->emplace_back(&member.second, other);
      }
      return true;
    default:
      return false;  // Numbers are handled above.
  }
}

}  // namespace

bool operator==(const Json& a, const Json& b) {
  std::vector<std::pair<const Json*, const Json*>> pending;
  if (!ShallowEqual(a, b, &pending)) return false;
  while (!pending.empty()) {
    auto [x, y] = pending.back();
    pending.pop_back();
    if (!ShallowEqual(*x, *y, &pending)) return false;
  }
  return true;
}

std::optional<std::string> FindNonFinite(const Json& value) {
  struct Frame {
    const Json* json;
    size_t next = 0;
    std::string key;  // This value's pointer token in its parent.
  };
  auto escaped = [](std::string_view key) {
    std::string out;
    for (char c : key) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out.push_back(c);
      }
    }
    return out;
  };
  auto pointer = [](const std::vector<Frame>& stack) {
    std::string out;
    for (size_t i = 1; i < stack.size(); ++i) out += "/" + stack[i].key;
    return out;
  };
  std::vector<Frame> stack;
  stack.push_back({&value});
  while (!stack.empty()) {
    Frame& top = stack.back();
    const Json& j = *top.json;
    if (j.is_double()) {
      if (!std::isfinite(j.as_double())) return pointer(stack);
      stack.pop_back();
    } else if (j.is_array() && top.next < j.as_array().size()) {
      size_t i = top.next++;
      stack.push_back({&j.as_array()[i], 0, std::to_string(i)});
    } else if (j.is_object() && top.next < j.as_object().size()) {
      const Json::Member& m = j.as_object()[top.next++];
      stack.push_back({&m.second, 0, escaped(m.first)});
    } else {
      stack.pop_back();
    }
  }
  return std::nullopt;
}

}  // namespace llmkit
