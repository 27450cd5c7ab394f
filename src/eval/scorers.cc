// The deterministic scorers (autoevals' Levenshtein and JSONDiff) and the statistics of a report:
// Wilson intervals, McNemar's exact test, Fisher's exact test.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "eval/eval_impl.h"
#include "llmkit/eval.h"
#include "unicode/py_text.h"

namespace llmkit {

namespace internal::eval {

std::u16string Utf16(std::string_view text) {
  std::u16string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = DecodeAt(text, &i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

}  // namespace internal::eval

using internal::eval::Utf16;

namespace {

// The edit distance of two strings of UTF-16 code units.
size_t Distance(const std::u16string& a, const std::u16string& b) {
  if (a.empty()) return b.size();
  if (b.empty()) return a.size();
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

size_t LevenshteinDistance(std::string_view a, std::string_view b) {
  return Distance(Utf16(a), Utf16(b));
}

double LevenshteinRatio(std::string_view a_text, std::string_view b_text) {
  const std::u16string a = Utf16(a_text), b = Utf16(b_text);
  const size_t longer = std::max(a.size(), b.size());
  if (longer == 0) return 1;
  return 1 - static_cast<double>(Distance(a, b)) / static_cast<double>(longer);
}

namespace {

// A string that is a JSON object or array, parsed (autoevals compares those structurally).
const Json* Structured(const Json& value, Json* storage) {
  if (!value.is_string()) return &value;
  absl::StatusOr<Json> parsed = Json::Parse(value.as_string());
  if (!parsed.ok() || !(parsed->is_object() || parsed->is_array())) return &value;
  *storage = *std::move(parsed);
  return storage;
}

// A number as JavaScript's String(x) prints it: integers without a fraction below 1e21, else the
// shortest text that reads back, with an exponent ("1e+21", "1.5e-7") outside [1e-7, 1e21).
std::string JsNumber(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x == 0) return "0";
  char buffer[40];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*e", precision - 1, x);
    if (std::strtod(buffer, nullptr) == x) break;
  }
  // buffer: [-]d[.ddd]e[+-]XX; digits and exponent as JavaScript lays them out.
  std::string text(buffer);
  const bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  const size_t e = text.find('e');
  std::string digits = text.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::atoi(text.c_str() + e + 1);
  const int k = static_cast<int>(digits.size());
  std::string out;
  if (exponent >= k - 1 && exponent < 21) {
    out = digits + std::string(static_cast<size_t>(exponent - k + 1), '0');
  } else if (exponent >= 0 && exponent < 21) {
    out = digits.substr(0, static_cast<size_t>(exponent + 1)) + "." +
          digits.substr(static_cast<size_t>(exponent + 1));
  } else if (exponent < 0 && exponent > -7) {
    out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += exponent > 0 ? "e+" : "e-";
    out += std::to_string(exponent > 0 ? exponent : -exponent);
  }
  return negative ? "-" + out : out;
}

// JSON.stringify: compact, numbers as JavaScript prints them; `sort` orders object keys (autoevals'
// replacer does, for values of different kinds).
void Stringify(const Json& value, bool sort, std::string* out) {
  switch (value.type()) {
    case Json::Type::kNull:
      *out += "null";
      return;
    case Json::Type::kBool:
      *out += value.as_bool() ? "true" : "false";
      return;
    case Json::Type::kInt:
      *out += JsNumber(static_cast<double>(value.as_int()));
      return;
    case Json::Type::kDouble:
      *out += std::isfinite(value.as_double()) ? JsNumber(value.as_double()) : "null";
      return;
    case Json::Type::kString:
      *out += value.Dump();
      return;
    case Json::Type::kArray: {
      *out += '[';
      bool first = true;
      for (const Json& item : value.as_array()) {
        if (!first) *out += ',';
        first = false;
        Stringify(item, sort, out);
      }
      *out += ']';
      return;
    }
    case Json::Type::kObject: {
      std::vector<const std::pair<std::string, Json>*> members;
      for (const auto& member : value.as_object()) members.push_back(&member);
      if (sort) {
        std::stable_sort(members.begin(), members.end(),
                         [](auto* a, auto* b) { return Utf16(a->first) < Utf16(b->first); });
      }
      *out += '{';
      bool first = true;
      for (const auto* member : members) {
        if (!first) *out += ',';
        first = false;
        *out += Json(member->first).Dump();
        *out += ':';
        Stringify(member->second, sort, out);
      }
      *out += '}';
      return;
    }
  }
}

std::string Stringified(const Json& value, bool sort = true) {
  std::string out;
  Stringify(value, sort, &out);
  return out;
}

// ExactMatch's normalizeValue.
std::string Normalized(const Json& value, bool maybe_object) {
  if (value.is_null() || value.is_object() || value.is_array()) return Stringified(value, false);
  if (value.is_string()) {
    if (maybe_object) {
      absl::StatusOr<Json> parsed = Json::Parse(value.as_string());
      if (parsed.ok()) return Stringified(*parsed, false);
    }
    return value.as_string();
  }
  if (value.is_bool()) return value.as_bool() ? "true" : "false";
  return Stringified(value, false);
}

double Diff(const Json* a, const Json* b) {
  Json a_storage, b_storage;
  if (a != nullptr) a = Structured(*a, &a_storage);
  if (b != nullptr) b = Structured(*b, &b_storage);
  const bool a_missing = a == nullptr || a->is_null();
  const bool b_missing = b == nullptr || b->is_null();
  if (a_missing || b_missing) return a_missing && b_missing ? 1 : 0;
  if (a->is_object() && b->is_object()) {
    if (a->size() == 0 && b->size() == 0) return 1;
    std::vector<std::string_view> keys;
    for (const auto& [key, unused] : a->as_object()) keys.push_back(key);
    for (const auto& [key, unused] : b->as_object()) {
      if (a->Find(key) == nullptr) keys.push_back(key);
    }
    double sum = 0;
    for (std::string_view key : keys) sum += Diff(a->Find(key), b->Find(key));
    return sum / static_cast<double>(keys.size());
  }
  if (a->is_array() && b->is_array()) {
    const auto& x = a->as_array();
    const auto& y = b->as_array();
    if (x.empty() && y.empty()) return 1;
    double sum = 0;
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) sum += Diff(&x[i], &y[i]);
    return sum / static_cast<double>(std::max(x.size(), y.size()));
  }
  if (a->is_string() && b->is_string()) return LevenshteinRatio(a->as_string(), b->as_string());
  if (a->is_number() && b->is_number()) {
    const double x = a->as_double(), y = b->as_double();
    if (x == 0 && y == 0) return 1;
    return 1 - std::fabs(y - x) / (std::fabs(y) + std::fabs(x));
  }
  return LevenshteinRatio(Stringified(*a), Stringified(*b));
}

// log(n choose k).
double LogChoose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

}  // namespace

double JsonDiffScore(const Json& a, const Json& b) { return Diff(&a, &b); }

double ExactMatchScore(const Json& a, const Json& b) {
  auto needs_json = [](const Json& v) { return v.is_null() || v.is_object() || v.is_array(); };
  const bool maybe_object = needs_json(a) || needs_json(b);
  return Normalized(a, maybe_object) == Normalized(b, maybe_object) ? 1 : 0;
}

PassRate WilsonInterval(int passed, int runs) {
  PassRate rate;
  rate.passed = passed;
  rate.runs = runs;
  if (runs <= 0) return rate;
  constexpr double z = 1.959963984540054;
  const double n = runs, p = static_cast<double>(passed) / n;
  const double denominator = 1 + z * z / n;
  const double center = (p + z * z / (2 * n)) / denominator;
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator;
  rate.rate = p;
  rate.low = std::max(0.0, center - half);
  rate.high = std::min(1.0, center + half);
  return rate;
}

PairedComparison McNemar(const std::vector<bool>& a, const std::vector<bool>& b) {
  PairedComparison c;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] && b[i]) ++c.both_pass;
    if (a[i] && !b[i]) ++c.only_a;
    if (!a[i] && b[i]) ++c.only_b;
    if (!a[i] && !b[i]) ++c.both_fail;
  }
  const int discordant = c.only_a + c.only_b;
  if (discordant == 0) return c;
  // Two-sided exact binomial test of min(only_a, only_b) under p = 1/2.
  const int k = std::min(c.only_a, c.only_b);
  double tail = 0;
  for (int i = 0; i <= k; ++i)
    tail += std::exp(LogChoose(discordant, i) - discordant * std::log(2.0));
  c.p_value = std::min(1.0, 2 * tail);
  return c;
}

namespace internal::eval {

double FisherExact(int a_pass, int a_runs, int b_pass, int b_runs) {
  // Two-sided: the probability of every table with the same margins at most as likely as this one.
  const int passes = a_pass + b_pass, total = a_runs + b_runs;
  if (a_runs <= 0 || b_runs <= 0) return 1;
  auto log_p = [&](int x) {
    return LogChoose(a_runs, x) + LogChoose(b_runs, passes - x) - LogChoose(total, passes);
  };
  const double observed = log_p(a_pass);
  double p = 0;
  for (int x = std::max(0, passes - b_runs); x <= std::min(passes, a_runs); ++x) {
    const double lp = log_p(x);
    if (lp <= observed + 1e-9) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

}  // namespace internal::eval

}  // namespace llmkit
