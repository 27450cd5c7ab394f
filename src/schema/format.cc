// `format` checks (RFC 3339 dates and times, ISO 8601 durations, RFC 5321 addresses, RFC 1123
// host names, IPv4/IPv6, RFC 3986 URIs, UUIDs, JSON Pointers, regexes) and the translation of
// ECMA-262 regexes to RE2.

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "schema/program.h"
#include "schema/uri.h"

namespace llmkit::internal::schema {
namespace {

bool Digits(std::string_view s, size_t n) {
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int Number(std::string_view s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool LeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool Date(std::string_view s) {
  if (s.size() != 10 || !Digits(s, 4) || s[4] != '-' || !Digits(s.substr(5), 2) || s[7] != '-' ||
      !Digits(s.substr(8), 2)) {
    return false;
  }
  const int year = Number(s, 4), month = Number(s.substr(5), 2), day = Number(s.substr(8), 2);
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const int last = month == 2 && LeapYear(year) ? 29 : kDays[month - 1];
  return day <= last;
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM); a leap second only at 23:59:60 UTC.
bool Time(std::string_view s) {
  if (s.size() < 9 || !Digits(s, 2) || s[2] != ':' || !Digits(s.substr(3), 2) || s[5] != ':' ||
      !Digits(s.substr(6), 2)) {
    return false;
  }
  const int hour = Number(s, 2), minute = Number(s.substr(3), 2), second = Number(s.substr(6), 2);
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int offset_minutes = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return false;
  } else if (s[i] == '+' || s[i] == '-') {
    std::string_view off = s.substr(i + 1);
    if (off.size() != 5 || !Digits(off, 2) || off[2] != ':' || !Digits(off.substr(3), 2)) {
      return false;
    }
    const int oh = Number(off, 2), om = Number(off.substr(3), 2);
    if (oh > 23 || om > 59) return false;
    offset_minutes = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (second == 60) {
    int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool DateTime(std::string_view s) {
  if (s.size() < 11 || (s[10] != 'T' && s[10] != 't')) return false;
  return Date(s.substr(0, 10)) && Time(s.substr(11));
}

// ISO 8601 durations as RFC 3339 appendix A gives them: P[nY][nM][nD][T[nH][nM][nS]] or PnW.
bool Duration(std::string_view s) {
  if (s.size() < 2 || s[0] != 'P') return false;
  size_t i = 1;
  // Units in the grammar's order with none skipped: Y[M[D]], M[D] or D; H[M[S]], M[S] or S.
  auto units = [&](std::string_view allowed) {
    size_t previous = std::string_view::npos;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size()) return -1;
      const size_t at = allowed.find(s[i]);
      if (at == std::string_view::npos ||
          (previous != std::string_view::npos && at != previous + 1)) {
        return -1;
      }
      previous = at;
      ++i;
    }
    return previous == std::string_view::npos ? 0 : 1;
  };
  if (s[1] != 'T') {
    if (s.size() > 2 && s.back() == 'W') {
      return s.size() > 2 &&
             s.substr(1, s.size() - 2).find_first_not_of("0123456789") == std::string_view::npos;
    }
    if (units("YMD") < 0) return false;
  }
  if (i == s.size()) return i > 1;
  if (s[i] != 'T') return false;
  ++i;
  return units("HMS") == 1 && i == s.size();
}

bool Ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    size_t n = 0;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0') || Number(s, n) > 255) return false;
    ++parts;
    s.remove_prefix(n);
    if (s.empty()) break;
    if (s[0] != '.' || parts == 4) return false;
    s.remove_prefix(1);
  }
  return parts == 4;
}

bool Ipv6(std::string_view s) {
  if (s.empty()) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i < s.size() && s[i] == '.') {  // An embedded IPv4 address ends it.
      if (!Ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (i == start || i - start > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

bool Hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  while (true) {
    size_t dot = s.find('.');
    std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

bool Email(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    // A quoted local part: any printable ASCII, with \ escapes.
  } else {
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
      return false;
    }
    for (char c : local) {
      if (!std::isalnum(static_cast<unsigned char>(c)) &&
          std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) == std::string_view::npos) {
        return false;
      }
    }
  }
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.substr(0, 5) == "IPv6:") return Ipv6(literal.substr(5));
    return Ipv4(literal);
  }
  return Hostname(domain);
}

bool Hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool Uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !Hex(s[i])) return false;
  }
  return true;
}

// RFC 3986 characters: unreserved, reserved, and %XX; a scheme for absolute URIs.
bool UriCharacters(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !Hex(s[i + 1]) || !Hex(s[i + 2])) return false;
      i += 2;
    } else if (!std::isalnum(c) &&
               std::string_view("-._~:/?#[]@!$&'()*+,;=").find(static_cast<char>(c)) ==
                   std::string_view::npos) {
      return false;
    }
  }
  // At most one '#', and brackets only around an IP literal host.
  size_t hash = s.find('#');
  if (hash != std::string_view::npos && s.find('#', hash + 1) != std::string_view::npos) {
    return false;
  }
  return true;
}

bool Uri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (size_t i = 0; i < colon; ++i) {
    const char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  if (!UriCharacters(s)) return false;
  std::string_view rest = s.substr(colon + 1);
  if (rest.substr(0, 2) == "//") {
    std::string_view authority = rest.substr(2, rest.find_first_of("/?#", 2) - 2);
    size_t at = authority.rfind('@');
    std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (at != std::string_view::npos &&
        authority.substr(0, at).find_first_of("[]") != std::string_view::npos) {
      return false;
    }
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close == std::string_view::npos) return false;
      std::string_view literal = host.substr(1, close - 1);
      if (!Ipv6(literal) && !(literal.size() > 1 && (literal[0] == 'v' || literal[0] == 'V'))) {
        return false;
      }
      host = host.substr(close + 1);
      if (!host.empty() && host[0] != ':') return false;
    } else if (host.find_first_of("[]") != std::string_view::npos) {
      return false;
    }
    size_t port = host.rfind(':');
    if (port != std::string_view::npos) {
      for (char c : host.substr(port + 1)) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      }
    }
  } else if (rest.find_first_of("[]") != std::string_view::npos) {
    return false;
  }
  return true;
}

bool UriReference(std::string_view s) {
  if (s.find('\\') != std::string_view::npos) return false;
  size_t colon = s.find(':');
  size_t first_special = s.find_first_of("/?#");
  if (colon != std::string_view::npos &&
      (first_special == std::string_view::npos || colon < first_special)) {
    return Uri(s);
  }
  return UriCharacters(s) &&
         s.substr(0, s.find_first_of("?#")).find_first_of("[]") == std::string_view::npos;
}

// Unicode general categories by their long names (ECMA-262 accepts both; RE2 the short ones).
std::string_view ShortCategory(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"Letter", "L"},
      {"Cased_Letter", "L"},
      {"Uppercase_Letter", "Lu"},
      {"Lowercase_Letter", "Ll"},
      {"Titlecase_Letter", "Lt"},
      {"Modifier_Letter", "Lm"},
      {"Other_Letter", "Lo"},
      {"Mark", "M"},
      {"Nonspacing_Mark", "Mn"},
      {"Spacing_Mark", "Mc"},
      {"Enclosing_Mark", "Me"},
      {"Number", "N"},
      {"Decimal_Number", "Nd"},
      {"digit", "Nd"},
      {"Letter_Number", "Nl"},
      {"Other_Number", "No"},
      {"Punctuation", "P"},
      {"punct", "P"},
      {"Connector_Punctuation", "Pc"},
      {"Dash_Punctuation", "Pd"},
      {"Open_Punctuation", "Ps"},
      {"Close_Punctuation", "Pe"},
      {"Initial_Punctuation", "Pi"},
      {"Final_Punctuation", "Pf"},
      {"Other_Punctuation", "Po"},
      {"Symbol", "S"},
      {"Math_Symbol", "Sm"},
      {"Currency_Symbol", "Sc"},
      {"Modifier_Symbol", "Sk"},
      {"Other_Symbol", "So"},
      {"Separator", "Z"},
      {"Space_Separator", "Zs"},
      {"Line_Separator", "Zl"},
      {"Paragraph_Separator", "Zp"},
      {"Other", "C"},
      {"Control", "Cc"},
      {"cntrl", "Cc"},
      {"Format", "Cf"},
      {"Surrogate", "Cs"},
      {"Private_Use", "Co"},
      {"Unassigned", "Cn"},
  };
  for (const auto& [long_name, short_name] : kNames) {
    if (name == long_name) return short_name;
  }
  return name;
}

}  // namespace

bool FormatValid(std::string_view format, std::string_view value) {
  if (format == "date-time") return DateTime(value);
  if (format == "date") return Date(value);
  if (format == "time") return Time(value);
  if (format == "duration") return Duration(value);
  if (format == "email" || format == "idn-email") return Email(value);
  if (format == "hostname") return Hostname(value);
  if (format == "ipv4") return Ipv4(value);
  if (format == "ipv6") return Ipv6(value);
  if (format == "uri" || format == "iri") return Uri(value);
  if (format == "uri-reference" || format == "iri-reference") return UriReference(value);
  if (format == "uuid") return Uuid(value);
  if (format == "json-pointer") return PointerTokens(value).has_value();
  if (format == "regex") {
    absl::StatusOr<std::string> re2 = EcmaToRe2(value);
    if (!re2.ok()) return false;
    RE2::Options options;
    options.set_log_errors(false);
    return RE2(*re2, options).ok();
  }
  return true;  // Unknown formats are annotations only.
}

absl::StatusOr<std::string> EcmaToRe2(std::string_view source) {
  // ECMA-262's \s: ASCII white space and Unicode's space separators, BOM, line terminators.
  static constexpr std::string_view kSpace =
      "\\t\\n\\v\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
      "\\x{3000}\\x{FEFF}";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\' && i + 1 < source.size()) {
      const char e = source[i + 1];
      ++i;
      if (e == 's') {
        if (in_class) {
          out.append(kSpace);
        } else {
          out.append("[").append(kSpace).append("]");
        }
      } else if (e == 'S') {
        if (in_class)
          return absl::InvalidArgumentError("\\S inside a character class is not supported");
        out.append("[^").append(kSpace).append("]");
      } else if (e >= '1' && e <= '9' && !in_class) {
        return absl::InvalidArgumentError(
            "backreferences (\\1..\\9) are not supported (RE2 runs in linear time)");
      } else if (e == 'u' && i + 4 < source.size() && Hex(source[i + 1]) && Hex(source[i + 2]) &&
                 Hex(source[i + 3]) && Hex(source[i + 4])) {
        out.append("\\x{").append(source.substr(i + 1, 4)).append("}");
        i += 4;
      } else if (e == 'c' && i + 1 < source.size() &&
                 std::isalpha(static_cast<unsigned char>(source[i + 1]))) {
        char code[8];
        std::snprintf(code, sizeof(code), "\\x%02X", source[i + 1] % 32);
        out.append(code);
        ++i;
      } else if ((e == 'p' || e == 'P') && i + 1 < source.size() && source[i + 1] == '{') {
        const size_t close = source.find('}', i);
        if (close == std::string_view::npos) {
          return absl::InvalidArgumentError("unterminated \\p{...}");
        }
        std::string_view name = source.substr(i + 2, close - i - 2);
        if (const size_t eq = name.find('='); eq != std::string_view::npos) {
          name = name.substr(eq + 1);  // General_Category=Letter, Script=Greek.
        }
        out += '\\';
        out += e;
        out += '{';
        out.append(ShortCategory(name));
        out += '}';
        i = close;
      } else if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 'b' || e == 'B' || e == 'n' ||
                 e == 'r' || e == 't' || e == 'f' || e == 'v' || e == 'x' || e == '0' ||
                 !std::isalnum(static_cast<unsigned char>(e))) {
        if (e == '0') {
          out.append("\\x00");
        } else {
          out += '\\';
          out += e;
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("\\", std::string(1, e), " is not an ECMA-262 escape"));
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < source.size() && source[i + 1] == '^') {
        out += '^';
        ++i;
      }
      if (i + 1 < source.size() && source[i + 1] == ']') {
        return absl::InvalidArgumentError("an empty character class ([] or [^]) is not supported");
      }
      continue;
    }
    if (c == '(' && i + 2 < source.size() && source[i + 1] == '?') {
      const char kind = source[i + 2];
      if (kind == '=' || kind == '!') {
        return absl::InvalidArgumentError("lookahead ((?= and (?!) is not supported");
      }
      if (kind == '<' && i + 3 < source.size() && (source[i + 3] == '=' || source[i + 3] == '!')) {
        return absl::InvalidArgumentError("lookbehind ((?<= and (?<!) is not supported");
      }
      if (kind == '<') {
        out.append("(?P<");
        i += 2;
        continue;
      }
      if (kind != ':') {
        return absl::InvalidArgumentError(absl::StrCat(
            "(?", std::string(1, kind), " is not ECMA-262 (inline flags, Python groups)"));
      }
    }
    out += c;
  }
  return out;
}

}  // namespace llmkit::internal::schema
