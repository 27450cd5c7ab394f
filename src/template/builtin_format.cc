// Jinja2's printf-style `format` filter and `%` operator, and `tojson` (Python json.dumps,
// as transformers' chat templates use it).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/builtins.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {
namespace {

// The flags, width and precision of one printf conversion ("%-10.3f" -> left, 10, 3); width
// and precision are -1 when absent and saturate instead of overflowing.
struct Spec {
  bool left = false;
  int64_t width = -1;
  int64_t precision = -1;
};

Spec ParseSpec(std::string_view spec) {
  Spec out;
  size_t i = 1;  // After '%'.
  while (i < spec.size() && std::strchr("-+ #0", spec[i]) != nullptr) out.left |= spec[i++] == '-';
  auto number = [&]() {
    int64_t n = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
      n = n > (INT64_MAX - 9) / 10 ? INT64_MAX : n * 10 + (spec[i] - '0');
      ++i;
    }
    return n;
  };
  if (i < spec.size() && spec[i] != '.') out.width = number();
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    out.precision = number();
  }
  return out;
}

// Python's %d/%i/%x/%X/%o of `n`: sign and magnitude (never two's complement), '#' as 0x/0X/0o,
// precision as a minimum digit count, the 0 flag padding after the sign even with a precision.
// REQUIRES: the width and precision were checked against the output limit.
void AppendPyInt(std::string_view spec, const Spec& parsed, char conv, int64_t n,
                 std::string* out) {
  const std::string_view flags = spec.substr(1, spec.find_first_not_of("-+ #0", 1) - 1);
  auto has = [&](char flag) { return flags.find(flag) != std::string_view::npos; };
  uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const unsigned base = conv == 'x' || conv == 'X' ? 16 : conv == 'o' ? 8 : 10;
  const char* digit_chars = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string digits;
  do {
    digits.push_back(digit_chars[magnitude % base]);
    magnitude /= base;
  } while (magnitude != 0);
  if (parsed.precision > static_cast<int64_t>(digits.size())) {
    digits.append(static_cast<size_t>(parsed.precision) - digits.size(), '0');
  }
  std::reverse(digits.begin(), digits.end());
  std::string prefix = n < 0 ? "-" : has('+') ? "+" : has(' ') ? " " : "";
  if (has('#') && base != 10) prefix += conv == 'x' ? "0x" : conv == 'X' ? "0X" : "0o";
  const int64_t length = static_cast<int64_t>(prefix.size() + digits.size());
  const size_t pad = parsed.width > length ? static_cast<size_t>(parsed.width - length) : 0;
  if (parsed.left) {
    out->append(prefix).append(digits).append(pad, ' ');
  } else if (has('0')) {
    out->append(prefix).append(pad, '0').append(digits);
  } else {
    out->append(pad, ' ').append(prefix).append(digits);
  }
}

// The first `n` code points of `s`.
std::string_view PrefixCodePoints(std::string_view s, int64_t n) {
  size_t i = 0;
  for (int64_t seen = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) break;
  }
  return s.substr(0, i);
}

// snprintf of one numeric conversion, sized for its result (no fixed buffer to cut it short);
// the caller has checked width and precision against the output limit.
template <typename T>
absl::Status AppendPrintf(Renderer& r, const Expr& at, const std::string& spec, T value,
                          std::string* out) {
  int n = std::snprintf(nullptr, 0, spec.c_str(), value);
  if (n < 0) return r.Exhausted(at.pos, "format result larger than the C library can print");
  size_t at_size = out->size();
  out->resize(at_size + static_cast<size_t>(n) + 1);
  std::snprintf(out->data() + at_size, static_cast<size_t>(n) + 1, spec.c_str(), value);
  out->resize(at_size + static_cast<size_t>(n));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Value> FilterFormat(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  LLMKIT_ASSIGN_OR_RETURN(std::string_view fmt, r.Str(at, args[0]));
  // A safe format string (Markup % args) escapes what %s and %r insert; the result is safe.
  const bool safe = args[0].is_safe();
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) return r.Error(at, "incomplete format");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    Value arg;
    bool have = false;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string_view::npos) return r.Error(at, "incomplete format key");
      std::string_view key = fmt.substr(i + 1, close - i - 1);
      for (const auto& [k, v] : kwargs) {
        if (k == key) {
          arg = v;
          have = true;
        }
      }
      if (!have && args.size() > 1) {
        LLMKIT_ASSIGN_OR_RETURN(arg, r.GetItem(at, args[1], Value::String(key)));
        have = !arg.is_undefined();
      }
      if (!have) return r.Error(at, absl::StrCat("format key '", ToAbsl(key), "' missing"));
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::strchr("-+ #0123456789.", fmt[i]) != nullptr)
      spec.push_back(fmt[i++]);
    if (i >= fmt.size()) return r.Error(at, "incomplete format");
    char conv = fmt[i];
    if (!have) {
      if (next >= args.size()) return r.Error(at, "not enough arguments for format string");
      arg = args[next++];
    }
    const Spec parsed = ParseSpec(spec);
    // Python pads and cuts by characters; a width or precision past the output limit is refused
    // before anything is built.
    LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(
        at, out.size() + static_cast<uint64_t>(std::max<int64_t>(parsed.width, 0)) +
                static_cast<uint64_t>(
                    conv == 's' || conv == 'r' ? 0 : std::max<int64_t>(parsed.precision, 0))));
    switch (conv) {
      case 's':
      case 'r': {
        std::string text;
        if (conv == 's') {
          LLMKIT_RETURN_IF_ERROR(r.AppendStr(at, arg, &text));
        } else {
          if (arg.kind == Value::Kind::kString) {
            AppendPyRepr(arg.str, &text);
          } else {
            LLMKIT_RETURN_IF_ERROR(r.AppendRepr(at, arg, &text, 1));
          }
        }
        if (safe && (conv == 'r' || !arg.is_safe())) {
          LLMKIT_ASSIGN_OR_RETURN(Value escaped, r.Escape(at, Value::String(text)));
          text.assign(escaped.str);
        }
        std::string_view shown = text;
        if (parsed.precision >= 0) shown = PrefixCodePoints(shown, parsed.precision);
        const int64_t pad = parsed.width - static_cast<int64_t>(PyLength(shown));
        LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, out.size() + shown.size()));
        if (pad > 0 && !parsed.left) out.append(static_cast<size_t>(pad), ' ');
        out.append(shown);
        if (pad > 0 && parsed.left) out.append(static_cast<size_t>(pad), ' ');
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o': {
        if (!arg.is_number()) return r.Error(at, "%d format: a number is required");
        int64_t n = arg.AsInt();
        if (arg.kind == Value::Kind::kDouble) {
          if (std::isnan(arg.d)) return r.Error(at, "cannot convert float NaN to integer");
          if (!(arg.d >= -9223372036854775808.0 && arg.d < 9223372036854775808.0)) {
            return r.Error(at, "%d format: the number does not fit in 64 bits");
          }
          n = static_cast<int64_t>(arg.d);
        }
        AppendPyInt(spec, parsed, conv, n, &out);
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!arg.is_number()) return r.Error(at, "must be real number");
        spec += conv;
        LLMKIT_RETURN_IF_ERROR(AppendPrintf(r, at, spec, arg.AsDouble(), &out));
        break;
      default:
        return r.Error(at,
                       absl::StrCat("unsupported format character '", std::string(1, conv), "'"));
    }
  }
  if (next < args.size() && kwargs.empty() && fmt.find("%(") == std::string_view::npos) {
    return r.Error(at, "not all arguments converted during string formatting");
  }
  Value result = r.NewString(std::move(out));
  result.safe = safe;
  return result;
}

absl::StatusOr<Value> FilterToJson(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  bool ensure_ascii = IsTrue(Param(args, kwargs, 1, "ensure_ascii", Value::Bool(false)));
  Value indent = Param(args, kwargs, 2, "indent", Value::None());
  Value separators = r.Resolve(Param(args, kwargs, 3, "separators", Value::None()));
  bool sort_keys = IsTrue(Param(args, kwargs, 4, "sort_keys", Value::Bool(false)));
  std::string indent_str;
  if (indent.is_integer()) {
    int64_t spaces = std::max<int64_t>(indent.AsInt(), 0);
    LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, static_cast<uint64_t>(spaces)));
    indent_str.assign(static_cast<size_t>(spaces), ' ');
  } else if (indent.kind == Value::Kind::kString) {
    indent_str = std::string(indent.str);
  } else if (!indent.is_none() && !indent.is_undefined()) {
    return r.Error(at, "tojson indent must be an integer or a string");
  }
  bool indented = !indent.is_none() && !indent.is_undefined();
  std::string_view item_sep = indented ? "," : ", ";
  std::string_view key_sep = ": ";
  if (!separators.is_none() && !separators.is_undefined()) {
    std::vector<Value> parts;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, separators, &parts));
    if (parts.size() != 2 || parts[0].kind != Value::Kind::kString ||
        parts[1].kind != Value::Kind::kString) {
      return r.Error(at, "tojson separators must be two strings");
    }
    item_sep = parts[0].str;
    key_sep = parts[1].str;
  }
  std::string out;
  LLMKIT_RETURN_IF_ERROR(r.AppendJson(at, args[0], indented ? 1 : -1, indent_str, item_sep, key_sep,
                                      sort_keys, ensure_ascii, 0, &out));
  return r.NewString(std::move(out));
}

absl::Status Renderer::AppendJson(const Expr& at, const Value& value, int indent,
                                  std::string_view indent_str, std::string_view item_sep,
                                  std::string_view key_sep, bool sort_keys, bool ensure_ascii,
                                  int depth, std::string* out) {
  if (depth > kMaxValueDepth) {
    return Exhausted(
        at.pos, absl::StrCat("value nests deeper than ", kMaxValueDepth, " levels (a cycle?)"));
  }
  LLMKIT_RETURN_IF_ERROR(CheckStringSize(at, out->size()));
  Value v = Resolve(value);
  auto newline = [&](int level) -> absl::Status {
    if (indent < 0) return absl::OkStatus();
    LLMKIT_RETURN_IF_ERROR(
        CheckStringSize(at, out->size() + 1 + static_cast<uint64_t>(level) * indent_str.size()));
    out->push_back('\n');
    for (int i = 0; i < level; ++i) out->append(indent_str);
    return absl::OkStatus();
  };
  switch (v.kind) {
    case Value::Kind::kNone:
      out->append("null");
      return absl::OkStatus();
    case Value::Kind::kBool:
      out->append(v.b ? "true" : "false");
      return absl::OkStatus();
    case Value::Kind::kInt:
      absl::StrAppend(out, v.i);
      return absl::OkStatus();
    case Value::Kind::kDouble:
      AppendDouble(v.d, out);
      return absl::OkStatus();
    case Value::Kind::kString:
      AppendString(v.str, ensure_ascii, out);
      return absl::OkStatus();
    case Value::Kind::kJsonArray:
    case Value::Kind::kList: {
      std::vector<Value> items;
      LLMKIT_RETURN_IF_ERROR(Iterate(at, v, &items));
      if (items.empty()) {
        out->append("[]");
        return absl::OkStatus();
      }
      out->push_back('[');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out->append(item_sep);
        LLMKIT_RETURN_IF_ERROR(newline(depth + 1));
        LLMKIT_RETURN_IF_ERROR(AppendJson(at, items[i], indent, indent_str, item_sep, key_sep,
                                          sort_keys, ensure_ascii, depth + 1, out));
      }
      LLMKIT_RETURN_IF_ERROR(newline(depth));
      out->push_back(']');
      return absl::OkStatus();
    }
    case Value::Kind::kJsonObject:
    case Value::Kind::kDict: {
      if (v.IsNamespace()) break;
      std::vector<std::pair<std::string, Value>> members;
      if (v.kind == Value::Kind::kJsonObject) {
        for (const auto& [k, item] : v.json->as_object()) members.emplace_back(k, Wrap(item));
      } else {
        for (const auto& [k, item] : v.dict->items) {
          std::string key;
          switch (k.kind) {
            case Value::Kind::kString:
              key = std::string(k.str);
              break;
            case Value::Kind::kInt:
              key = std::to_string(k.i);
              break;
            case Value::Kind::kBool:
              key = k.b ? "true" : "false";
              break;
            case Value::Kind::kNone:
              key = "null";
              break;
            case Value::Kind::kDouble:
              AppendDouble(k.d, &key);
              break;
            default:
              return Error(at, "keys must be str, int, float, bool or None");
          }
          members.emplace_back(std::move(key), item);
        }
      }
      if (sort_keys) {
        std::stable_sort(members.begin(), members.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
      }
      if (members.empty()) {
        out->append("{}");
        return absl::OkStatus();
      }
      out->push_back('{');
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out->append(item_sep);
        LLMKIT_RETURN_IF_ERROR(newline(depth + 1));
        AppendString(members[i].first, ensure_ascii, out);
        out->append(key_sep);
        LLMKIT_RETURN_IF_ERROR(AppendJson(at, members[i].second, indent, indent_str, item_sep,
                                          key_sep, sort_keys, ensure_ascii, depth + 1, out));
      }
      LLMKIT_RETURN_IF_ERROR(newline(depth));
      out->push_back('}');
      return absl::OkStatus();
    }
    default:
      break;
  }
  if (v.is_undefined() && undefined_mode() == UndefinedMode::kStrict) return UndefinedError(at, v);
  std::string type = v.is_undefined() ? "Undefined" : v.IsNamespace() ? "Namespace" : "function";
  return Error(at, absl::StrCat("Object of type ", type, " is not JSON serializable"));
}

}  // namespace llmkit::internal::tmpl
