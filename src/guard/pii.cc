// PII detectors (email, phone via libphonenumber, payment cards with Luhn, IBAN with mod-97,
// IP addresses, provider secrets) and redaction with placeholders.

#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/guard.h"

namespace llmkit {
namespace {

bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
// A byte that may continue a word (ASCII letters and digits, '_' and any non-ASCII byte).
bool WordByte(char c) { return Alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }

void Emails(std::string_view t, std::vector<PiiFinding>* out) {
  auto local = [](char c) {
    return Alnum(c) || std::string_view("._%+-").find(c) != std::string_view::npos;
  };
  auto domain = [](char c) { return Alnum(c) || c == '-' || c == '.'; };
  for (size_t at = t.find('@'); at != std::string_view::npos; at = t.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && local(t[b - 1])) --b;
    while (b < at && t[b] == '.') ++b;
    size_t e = at + 1;
    while (e < t.size() && domain(t[e])) ++e;
    while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
    if (b == at || e == at + 1) continue;
    std::string_view host = t.substr(at + 1, e - at - 1);
    size_t dot = host.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || host.size() - dot - 1 < 2) continue;
    bool letters = true;
    for (char c : host.substr(dot + 1))
      letters = letters && std::isalpha(static_cast<unsigned char>(c));
    if (!letters || host.find("..") != std::string_view::npos) continue;
    out->push_back({PiiKind::kEmail, b, e});
  }
}

// libphonenumber's matcher is not linear on long texts, so it only reads short windows: the runs
// of phone-number characters (digits, spaces, + ( ) - . /) with 7 to 17 digits, cut into
// windows of at most kWindow bytes at spaces (overlapping by half, duplicates dropped later).
constexpr size_t kWindow = 64;

bool PhoneByte(char c) {
  return Digit(c) || c == ' ' || c == '+' || c == '(' || c == ')' || c == '-' || c == '.' ||
         c == '/';
}

void PhonesIn(std::string_view t, size_t offset, const std::vector<std::string>& regions,
              std::vector<PiiFinding>* out) {
  using i18n::phonenumbers::PhoneNumberMatch;
  using i18n::phonenumbers::PhoneNumberMatcher;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  // The window with one byte of context each side, so the matcher sees what joins it.
  const size_t from = offset > 0 ? offset - 1 : 0;
  const std::string window(t.substr(from, std::min(t.size(), offset + kWindow + 1) - from));
  for (const std::string& region : regions) {
    PhoneNumberMatcher matcher(util, window, region, PhoneNumberMatcher::VALID, 16);
    PhoneNumberMatch match;
    while (matcher.HasNext()) {
      if (!matcher.Next(&match)) break;
      const size_t begin = from + static_cast<size_t>(match.start());
      const size_t end = begin + match.raw_string().size();
      // Not part of an identifier or a dotted number: INV-2025-000123, 126.0.6478.127.
      const bool joined_before =
          begin > 0 && (WordByte(t[begin - 1]) || t[begin - 1] == '.' ||
                        (t[begin - 1] == '-' && begin > 1 && WordByte(t[begin - 2])));
      const bool joined_after =
          end < t.size() && (WordByte(t[end]) || t[end] == '.' || t[end] == '-');
      if (joined_before ||
          (joined_after && !(t[end] == '.' && (end + 1 >= t.size() || t[end + 1] == ' ')))) {
        continue;
      }
      if (std::count(t.begin() + begin, t.begin() + end, '.') >= 3) continue;
      out->push_back({PiiKind::kPhone, begin, end});
    }
  }
}

void Phones(std::string_view t, const PiiOptions& options, std::vector<PiiFinding>* out) {
  std::vector<std::string> regions = options.phone_regions;
  if (regions.empty()) regions.push_back("ZZ");  // Only numbers written with + and a code.
  size_t i = 0;
  while (i < t.size()) {
    if (!(Digit(t[i]) || t[i] == '+' || t[i] == '(')) {
      ++i;
      continue;
    }
    size_t e = i;
    while (e < t.size() && PhoneByte(t[e])) ++e;
    // Windows over the run [i, e).
    for (size_t w = i; w < e; w += kWindow / 2) {
      const size_t w_end = std::min(e, w + kWindow);
      int digits = 0, run = 0, longest = 0;
      for (size_t k = w; k < w_end; ++k) {
        run = Digit(t[k]) ? run + 1 : 0;
        digits += Digit(t[k]);
        longest = std::max(longest, run);
      }
      if (digits >= 7 && longest <= 17) PhonesIn(t, w, regions, out);
      if (w_end == e) break;
    }
    i = e;
  }
}

bool Luhn(const std::string& digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// A card network's prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
// Maestro).
bool CardNetwork(const std::string& d) {
  auto starts = [&](std::string_view p) { return d.compare(0, p.size(), p) == 0; };
  const size_t n = d.size();
  const int two = std::stoi(d.substr(0, 2)), four = std::stoi(d.substr(0, 4));
  if (d[0] == '4') return n == 13 || n == 16 || n == 19;
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return n == 16;
  if (two == 34 || two == 37) return n == 15;
  if (starts("6011") || starts("65") ||
      (std::stoi(d.substr(0, 3)) >= 644 && std::stoi(d.substr(0, 3)) <= 649)) {
    return n >= 16 && n <= 19;
  }
  if (four >= 3528 && four <= 3589) return n >= 16 && n <= 19;
  if (two == 36 || two == 38 ||
      (std::stoi(d.substr(0, 3)) >= 300 && std::stoi(d.substr(0, 3)) <= 305)) {
    return n >= 14 && n <= 19;
  }
  if (two == 62) return n >= 16 && n <= 19;
  if (two == 50 || (two >= 56 && two <= 69)) return n >= 12 && n <= 19;
  return false;
}

void Cards(std::string_view t, std::vector<PiiFinding>* out) {
  size_t i = 0;
  while (i < t.size()) {
    if (!Digit(t[i]) || (i > 0 && (WordByte(t[i - 1]) || t[i - 1] == '-' || t[i - 1] == '.'))) {
      ++i;
      continue;
    }
    // Digits with at most one space or dash between them; one kind of separator.
    std::string digits;
    size_t e = i;
    char sep = 0;
    while (e < t.size()) {
      if (Digit(t[e])) {
        digits += t[e++];
      } else if ((t[e] == ' ' || t[e] == '-') && e + 1 < t.size() && Digit(t[e + 1]) &&
                 (sep == 0 || sep == t[e])) {
        sep = t[e++];
      } else {
        break;
      }
      if (digits.size() > 19) break;
    }
    const bool bounded =
        e >= t.size() || !(WordByte(t[e]) || (t[e] == '.' && e + 1 < t.size() && Digit(t[e + 1])));
    if (bounded && digits.size() >= 13 && digits.size() <= 19 && CardNetwork(digits) &&
        Luhn(digits)) {
      out->push_back({PiiKind::kPaymentCard, i, e});
    }
    i = std::max(e, i + 1);
  }
}

int IbanLength(std::string_view country) {
  static const absl::flat_hash_map<std::string_view, int> kLengths = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
      {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
      {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
      {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
      {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
      {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
      {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}};
  auto it = kLengths.find(country);
  return it == kLengths.end() ? 0 : it->second;
}

bool Mod97(const std::string& iban) {
  const std::string moved = iban.substr(4) + iban.substr(0, 4);
  int remainder = 0;
  for (char c : moved) {
    const int value = Digit(c) ? c - '0' : std::toupper(static_cast<unsigned char>(c)) - 'A' + 10;
    remainder = (remainder * (value >= 10 ? 100 : 10) + value) % 97;
  }
  return remainder == 1;
}

void Ibans(std::string_view t, std::vector<PiiFinding>* out) {
  for (size_t i = 0; i + 15 <= t.size(); ++i) {
    if (!Upper(t[i]) || !Upper(t[i + 1]) || !Digit(t[i + 2]) || !Digit(t[i + 3])) continue;
    if (i > 0 && WordByte(t[i - 1])) continue;
    const int length = IbanLength(t.substr(i, 2));
    if (length == 0) continue;
    std::string compact;
    size_t e = i;
    while (e < t.size() && static_cast<int>(compact.size()) < length) {
      if (Alnum(t[e])) {
        compact += static_cast<char>(std::toupper(static_cast<unsigned char>(t[e])));
        ++e;
      } else if (t[e] == ' ' && e + 1 < t.size() && Alnum(t[e + 1]) && compact.size() % 4 == 0) {
        ++e;
      } else {
        break;
      }
    }
    if (static_cast<int>(compact.size()) != length || (e < t.size() && WordByte(t[e]))) continue;
    if (Mod97(compact)) {
      out->push_back({PiiKind::kIban, i, e});
      i = e - 1;
    }
  }
}

// Whether the word before `i` names a version or a section ("Release 2.4.56.1", "Section
// 4.2.1.3"), which dotted quads so often are.
bool AfterVersionWord(std::string_view t, size_t i) {
  size_t e = i;
  while (e > 0 && t[e - 1] == ' ') --e;
  size_t b = e;
  while (b > 0 && std::isalpha(static_cast<unsigned char>(t[b - 1]))) --b;
  const std::string word = absl::AsciiStrToLower(internal::ToAbsl(t.substr(b, e - b)));
  static constexpr std::string_view kWords[] = {
      "version", "ver",    "release", "rel", "rev",   "revision", "build", "section",   "sec",
      "chapter", "clause", "figure",  "fig", "table", "step",     "rule",  "paragraph", "v"};
  for (std::string_view w : kWords) {
    if (word == w) return true;
  }
  return false;
}

// An IPv4 address at `i`, or 0: its length.
size_t Ipv4At(std::string_view t, size_t i) {
  size_t at = i;
  for (int part = 0; part < 4; ++part) {
    size_t n = 0;
    while (at + n < t.size() && Digit(t[at + n]) && n < 4) ++n;
    if (n == 0 || n > 3 || (n > 1 && t[at] == '0') ||
        std::stoi(std::string(t.substr(at, n))) > 255) {
      return 0;
    }
    at += n;
    if (part < 3) {
      if (at >= t.size() || t[at] != '.') return 0;
      ++at;
    }
  }
  return at - i;
}

bool Hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

void Ips(std::string_view t, std::vector<PiiFinding>* out) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (!Digit(t[i]) || (i > 0 && (WordByte(t[i - 1]) || t[i - 1] == '.'))) continue;
    const size_t n = Ipv4At(t, i);
    if (n == 0) continue;
    const size_t e = i + n;
    // Not a longer dotted number (1.2.3.4.5) nor a version (v1.2.3.4, "version 10.0.0.1").
    if (e < t.size() && (WordByte(t[e]) || (t[e] == '.' && e + 1 < t.size() && Digit(t[e + 1]))))
      continue;
    if (i > 0 && (t[i - 1] == 'v' || t[i - 1] == 'V')) continue;
    if (AfterVersionWord(t, i)) continue;
    out->push_back({PiiKind::kIpAddress, i, e});
    i = e;
  }
  // IPv6: a run of hex digits and colons with 8 groups, or 3+ groups around one "::".
  for (size_t i = 0; i < t.size(); ++i) {
    if (!(Hex(t[i]) || t[i] == ':') || (i > 0 && (WordByte(t[i - 1]) || t[i - 1] == ':'))) continue;
    size_t e = i;
    while (e < t.size() && (Hex(t[e]) || t[e] == ':')) ++e;
    std::string_view run = t.substr(i, e - i);
    const size_t compress = run.find("::");
    if (compress != std::string_view::npos &&
        run.find("::", compress + 1) != std::string_view::npos) {
      i = e;
      continue;
    }
    int groups = 0;
    bool ok = run.find(":::") == std::string_view::npos;
    size_t at = 0;
    while (ok && at < run.size()) {
      if (run[at] == ':') {
        ++at;
        continue;
      }
      size_t n = 0;
      while (at + n < run.size() && Hex(run[at + n])) ++n;
      ok = n <= 4;
      ++groups;
      at += n;
    }
    const bool shaped =
        compress == std::string_view::npos ? groups == 8 : groups >= 2 && groups < 8;
    const bool edges = (run.front() != ':' || run.substr(0, 2) == "::") &&
                       (run.back() != ':' || run.substr(run.size() - 2) == "::");
    if (ok && shaped && edges && (e >= t.size() || !WordByte(t[e]))) {
      out->push_back({PiiKind::kIpAddress, i, e});
    }
    i = e;
  }
}

double Entropy(std::string_view s) {
  int counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (int c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

bool TokenByte(char c) { return Alnum(c) || c == '_' || c == '-'; }

void Secrets(std::string_view t, std::vector<PiiFinding>* out) {
  struct Prefix {
    std::string_view text;
    size_t min_rest;  // Token characters after the prefix.
  };
  static constexpr Prefix kPrefixes[] = {
      {"sk-ant-", 20},     {"sk-proj-", 20}, {"sk-", 20},    {"AKIA", 16},  {"ASIA", 16},
      {"ghp_", 36},        {"gho_", 36},     {"ghu_", 36},   {"ghs_", 36},  {"ghr_", 36},
      {"github_pat_", 22}, {"xoxb-", 10},    {"xoxp-", 10},  {"xoxa-", 10}, {"xoxr-", 10},
      {"xoxs-", 10},       {"AIza", 35},     {"glpat-", 20}, {"hf_", 30},   {"sk_live_", 20},
      {"rk_live_", 20},    {"sk_test_", 20}};
  for (size_t i = 0; i < t.size(); ++i) {
    if (i > 0 && TokenByte(t[i - 1])) continue;
    for (const Prefix& p : kPrefixes) {
      if (t.compare(i, p.text.size(), p.text) != 0) continue;
      size_t e = i + p.text.size();
      while (e < t.size() && TokenByte(t[e])) ++e;
      if (e - i - p.text.size() >= p.min_rest) {
        out->push_back({PiiKind::kSecret, i, e});
        i = e;
      }
      break;
    }
  }
  for (size_t at = t.find("-----BEGIN "); at != std::string_view::npos;
       at = t.find("-----BEGIN ", at + 1)) {
    const size_t title_end = t.find("-----", at + 11);
    if (title_end == std::string_view::npos) break;
    if (t.substr(at, title_end - at).find("PRIVATE KEY") == std::string_view::npos) continue;
    const size_t end_marker = t.find("-----END ", title_end);
    size_t e = end_marker == std::string_view::npos ? t.size() : t.find("-----", end_marker + 9);
    e = e == std::string_view::npos ? t.size() : e + 5;
    out->push_back({PiiKind::kSecret, at, e});
  }
  // A value assigned to a key-like name: 16+ token characters, letters and digits mixed, not
  // hex-only, high entropy.
  static constexpr std::string_view kNames[] = {"api_key", "apikey",   "api-key", "token",
                                                "secret",  "password", "passwd",  "access_key"};
  const std::string lower = absl::AsciiStrToLower(internal::ToAbsl(t));
  for (std::string_view name : kNames) {
    for (size_t at = lower.find(name); at != std::string::npos; at = lower.find(name, at + 1)) {
      size_t v = at + name.size();
      while (v < t.size() && (TokenByte(t[v]) && !Alnum(t[v]))) ++v;  // _ID, -value suffixes
      while (v < t.size() && Alnum(t[v])) ++v;                        // rest of the name
      size_t s = v;
      while (s < t.size() && (t[s] == ' ' || t[s] == '"' || t[s] == '\'')) ++s;
      if (s >= t.size() || (t[s] != '=' && t[s] != ':')) continue;
      ++s;
      while (s < t.size() && (t[s] == ' ' || t[s] == '"' || t[s] == '\'')) ++s;
      size_t e = s;
      while (e < t.size() && (TokenByte(t[e]) || t[e] == '/' || t[e] == '+' || t[e] == '.')) ++e;
      std::string_view value = t.substr(s, e - s);
      if (value.size() < 16) continue;
      bool letters = false, digits = false, non_hex = false;
      for (char c : value) {
        letters = letters || std::isalpha(static_cast<unsigned char>(c));
        digits = digits || Digit(c);
        non_hex = non_hex || (std::isalpha(static_cast<unsigned char>(c)) && !Hex(c));
      }
      if (letters && digits && non_hex && Entropy(value) >= 3.5) {
        out->push_back({PiiKind::kSecret, s, e});
      }
    }
  }
}

std::string_view PlaceholderStem(PiiKind kind) {
  switch (kind) {
    case PiiKind::kEmail:
      return "EMAIL";
    case PiiKind::kPhone:
      return "PHONE";
    case PiiKind::kPaymentCard:
      return "CARD";
    case PiiKind::kIban:
      return "IBAN";
    case PiiKind::kIpAddress:
      return "IP";
    case PiiKind::kSecret:
      return "SECRET";
  }
  return "PII";
}

}  // namespace

std::string_view PiiKindName(PiiKind kind) {
  switch (kind) {
    case PiiKind::kEmail:
      return "email";
    case PiiKind::kPhone:
      return "phone";
    case PiiKind::kPaymentCard:
      return "payment_card";
    case PiiKind::kIban:
      return "iban";
    case PiiKind::kIpAddress:
      return "ip_address";
    case PiiKind::kSecret:
      return "secret";
  }
  return "";
}

std::optional<PiiKind> PiiKindFromName(std::string_view name) {
  for (PiiKind k : {PiiKind::kEmail, PiiKind::kPhone, PiiKind::kPaymentCard, PiiKind::kIban,
                    PiiKind::kIpAddress, PiiKind::kSecret}) {
    if (PiiKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::vector<PiiFinding> FindPii(std::string_view text, const PiiOptions& options) {
  std::vector<PiiFinding> all;
  auto on = [&](PiiKind k) {
    return std::find(options.kinds.begin(), options.kinds.end(), k) != options.kinds.end();
  };
  // Secrets and cards first: a key or a card number is never reported as a phone number.
  if (on(PiiKind::kSecret)) Secrets(text, &all);
  if (on(PiiKind::kEmail)) Emails(text, &all);
  if (on(PiiKind::kPaymentCard)) Cards(text, &all);
  if (on(PiiKind::kIban)) Ibans(text, &all);
  if (on(PiiKind::kIpAddress)) Ips(text, &all);
  if (on(PiiKind::kPhone)) Phones(text, options, &all);
  // Text order. Of overlapping findings the earliest wins; at one start, the detector run first
  // above (then the longest). Sorting then one sweep: linear after the sort.
  std::vector<std::pair<size_t, PiiFinding>> ranked;  // (detector rank, finding)
  ranked.reserve(all.size());
  for (const PiiFinding& f : all) {
    static constexpr PiiKind kRank[] = {PiiKind::kSecret,      PiiKind::kEmail,
                                        PiiKind::kPaymentCard, PiiKind::kIban,
                                        PiiKind::kIpAddress,   PiiKind::kPhone};
    ranked.emplace_back(std::find(std::begin(kRank), std::end(kRank), f.kind) - std::begin(kRank),
                        f);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.begin != b.second.begin) return a.second.begin < b.second.begin;
    if (a.first != b.first) return a.first < b.first;
    return a.second.end > b.second.end;
  });
  std::vector<PiiFinding> kept;
  for (const auto& [rank, f] : ranked) {
    if (!kept.empty() && f.begin < kept.back().end) continue;
    kept.push_back(f);
  }
  return kept;
}

Redaction RedactPii(std::string_view text, absl::Span<const PiiFinding> findings) {
  Redaction r;
  absl::flat_hash_map<std::string, std::string> by_value;
  absl::flat_hash_map<PiiKind, int> counts;
  size_t at = 0;
  for (const PiiFinding& f : findings) {
    if (f.begin < at || f.end > text.size()) continue;
    r.text.append(text.substr(at, f.begin - at));
    const std::string original(text.substr(f.begin, f.end - f.begin));
    auto it = by_value.find(original);
    if (it == by_value.end()) {
      std::string placeholder =
          absl::StrCat("[", std::string(PlaceholderStem(f.kind)), "_", ++counts[f.kind], "]");
      r.placeholders.emplace_back(placeholder, original);
      it = by_value.emplace(original, std::move(placeholder)).first;
    }
    r.text.append(it->second);
    at = f.end;
  }
  r.text.append(text.substr(at));
  return r;
}

std::string RestorePii(std::string_view text, const Redaction& redaction) {
  std::string out(text);
  for (const auto& [placeholder, original] : redaction.placeholders) {
    for (size_t at = out.find(placeholder); at != std::string::npos;
         at = out.find(placeholder, at + original.size())) {
      out.replace(at, placeholder.size(), original);
    }
  }
  return out;
}

}  // namespace llmkit
