// Jinja2's numeric filters (int, float, round, abs) and Python's int()/float() parsing of
// strings.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/casts.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "json/json_text.h"
#include "llmkit/status.h"
#include "template/builtins.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {

// --- Conversions ---------------------------------------------------------------------------

// Python int() of a string: optional sign, digits with single underscores, surrounding space;
// base 0 takes the base from a 0x/0o/0b prefix (decimal otherwise, without leading zeros).
bool ParsePyInt(std::string_view s, int base, int64_t* out, bool* overflow) {
  if (overflow != nullptr) *overflow = false;
  if (base != 0 && (base < 2 || base > 36)) return false;
  size_t b = 0, e = s.size();
  while (b < e && PySpaceLength(s, b) > 0) b += PySpaceLength(s, b);
  e = b + RstripLength(s.substr(b));
  s = s.substr(b, e - b);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const char prefix = s.size() > 2 && s[0] == '0' ? static_cast<char>(s[1] | 0x20) : 0;
  const int prefixed = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 0;
  if (prefixed != 0 && (base == 0 || base == prefixed)) {
    base = prefixed;
    s.remove_prefix(2);
    if (!s.empty() && s.front() == '_') s.remove_prefix(1);  // int('0x_1f', 16) is 31.
  } else if (base == 0) {
    base = 10;
    // int('010', 0) is an error; int('000', 0) and int('0_0', 0) are 0.
    if (s.size() > 1 && s[0] == '0' && s.find_first_not_of("0_") != std::string_view::npos) {
      return false;
    }
  }
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  unsigned __int128 value = 0;
  bool last_underscore = false;
  bool too_large = false;
  for (char c : s) {
    if (c == '_') {
      if (last_underscore) return false;
      last_underscore = true;
      continue;
    }
    last_underscore = false;
    int d = c >= '0' && c <= '9'                     ? c - '0'
            : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10
                                                     : 99;
    if (d >= base) return false;
    if (!too_large) value = value * base + d;
    if (value > static_cast<unsigned __int128>(INT64_MAX) + 1) too_large = true;
  }
  if (too_large || (!negative && value > INT64_MAX)) {
    if (overflow != nullptr) *overflow = true;  // Valid, but past 64 bits.
    return false;
  }
  *out =
      negative ? static_cast<int64_t>(-static_cast<__int128>(value)) : static_cast<int64_t>(value);
  return true;
}

namespace {

bool ParsePyFloat(std::string_view s, double* out) {
  std::string text(s.substr(0, s.size()));
  size_t b = 0;
  while (b < text.size() && PySpaceLength(text, b) > 0) b += PySpaceLength(text, b);
  text = text.substr(b, RstripLength(std::string_view(text).substr(b)));
  if (text.empty()) return false;
  std::string cleaned;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      if (i == 0 || i + 1 == text.size() ||
          !std::isdigit(static_cast<unsigned char>(text[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        return false;
      }
      continue;
    }
    cleaned.push_back(text[i]);
  }
  std::string lower = ToLower(cleaned);
  std::string_view body = lower;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? NAN : INFINITY;
    *out = lower[0] == '-' ? -v : v;
    return true;
  }
  for (char c : body) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' ||
          c == '-')) {
      return false;
    }
  }
  char* end = nullptr;
  *out = std::strtod(cleaned.c_str(), &end);
  return end != nullptr && *end == '\0';
}

}  // namespace

// Jinja2's int filter: int(value), else int(float(value)), else the default. Python's
// OverflowError (int of an infinity) is not caught there and fails the render; a result past
// 64 bits (a Python big int) fails too, rather than becoming the default.
absl::StatusOr<Value> FilterInt(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value def = Param(args, kwargs, 1, "default", Value::Int(0));
  Value base = Param(args, kwargs, 2, "base", Value::Int(10));
  Value v = r.Resolve(args[0]);
  auto from_double = [&](double d) -> absl::StatusOr<Value> {
    if (std::isnan(d)) return def;
    if (std::isinf(d)) return r.Error(at, "cannot convert float infinity to integer");
    if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
      return r.Error(at, "integer out of range (llmkit's integers are 64-bit)");
    }
    return Value::Int(static_cast<int64_t>(d));
  };
  switch (v.kind) {
    case Value::Kind::kBool:
    case Value::Kind::kInt:
      return Value::Int(v.AsInt());
    case Value::Kind::kDouble:
      return from_double(v.d);
    case Value::Kind::kString: {
      int64_t out;
      bool overflow = false;
      if (ParsePyInt(v.str, base.is_integer() ? static_cast<int>(base.AsInt()) : 10, &out,
                     &overflow)) {
        return Value::Int(out);
      }
      if (overflow) return r.Error(at, "integer out of range (llmkit's integers are 64-bit)");
      double d;
      if (ParsePyFloat(v.str, &d)) return from_double(d);
      return def;
    }
    case Value::Kind::kUndefined:
      if (r.undefined_mode() == UndefinedMode::kStrict) return r.UndefinedError(at, v);
      return def;
    default:
      return def;
  }
}

absl::StatusOr<Value> FilterFloat(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value def = Param(args, kwargs, 1, "default", Value::Double(0.0));
  Value v = r.Resolve(args[0]);
  if (v.is_number()) return Value::Double(v.AsDouble());
  if (v.kind == Value::Kind::kString) {
    double d;
    if (ParsePyFloat(v.str, &d)) return Value::Double(d);
  }
  if (v.is_undefined() && r.undefined_mode() == UndefinedMode::kStrict)
    return r.UndefinedError(at, v);
  return def;
}

absl::StatusOr<Value> FilterRound(Renderer& r, const Expr& at, Args& args, Kwargs& kwargs) {
  Value precision = Param(args, kwargs, 1, "precision", Value::Int(0));
  Value method = Param(args, kwargs, 2, "method", Value::String("common"));
  Value v = r.Resolve(args[0]);
  if (!v.is_number()) return r.Error(at, "round() needs a number");
  int64_t p = precision.is_integer() ? precision.AsInt() : 0;
  if (method.str == "common") {
    // Python's round(): correctly rounded, and exact at the extremes.
    if (v.is_integer() && p >= 0) return Value::Int(v.AsInt());
    const double x = v.AsDouble();
    // Every double has at most 1074 decimals, so rounding to more changes nothing.
    if (!std::isfinite(x) || p > 1074) return Value::Double(x);
    if (p < -308) return Value::Double(std::copysign(0.0, x));  // Below the largest magnitude.
    if (p < 0) {
      double scale = std::pow(10.0, static_cast<double>(-p));
      return Value::Double(std::nearbyint(x / scale) * scale);
    }
    // Up to 309 integer digits, the point, p decimals and the terminator.
    std::string buffer(static_cast<size_t>(p) + 320, '\0');
    std::snprintf(buffer.data(), buffer.size(), "%.*f", static_cast<int>(p), x);
    return Value::Double(std::strtod(buffer.c_str(), nullptr));
  }
  if (method.str != "ceil" && method.str != "floor") {
    return r.Error(at, "method must be 'common', 'ceil' or 'floor'");
  }
  // Jinja2 computes math.ceil/floor(value * 10**precision) / 10**precision; where Python
  // raises on that, so does this.
  double scale = std::pow(10.0, static_cast<double>(p));
  if (scale == 0) return r.Error(at, "float division by zero");
  if (std::isinf(scale)) return r.Error(at, "int too large to convert to float");
  double x = v.AsDouble() * scale;
  if (std::isinf(x)) return r.Error(at, "cannot convert float infinity to integer");
  if (std::isnan(x)) return r.Error(at, "cannot convert float NaN to integer");
  return Value::Double((method.str == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

absl::StatusOr<Value> FilterAbs(Renderer& r, const Expr& at, Args& args, Kwargs&) {
  Value v = args[0];
  if (v.kind == Value::Kind::kDouble) return Value::Double(std::fabs(v.d));
  if (v.is_integer()) {
    if (v.AsInt() == INT64_MIN) return r.Error(at, "integer overflow");
    return Value::Int(std::llabs(v.AsInt()));
  }
  return r.Error(at, "bad operand type for abs()");
}

}  // namespace llmkit::internal::tmpl
