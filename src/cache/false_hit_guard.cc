// FalseHitReason: whether two questions that embed alike can still want different answers,
// judged by rules on their surface (cache.h lists them).

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "llmkit/cache.h"

namespace llmkit {
namespace {

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

// Words that turn a question around. "n't" endings count as "not".
constexpr std::string_view kNegations[] = {
    "not",     "no",  "never",  "none",    "nobody", "nothing", "nowhere",
    "neither", "nor", "cannot", "without", "except", "unless",
};

// Operations that ask for opposite things: each word maps to its pair's first member so that
// "enable" and "disable" differ while a question keeps its own operation.
struct Opposite {
  std::string_view word;
  std::string_view group;
};
constexpr Opposite kOperations[] = {
    {"enable", "enable"},
    {"disable", "disable"},
    {"add", "add"},
    {"remove", "remove"},
    {"delete", "delete"},
    {"create", "create"},
    {"install", "install"},
    {"uninstall", "uninstall"},
    {"start", "start"},
    {"stop", "stop"},
    {"open", "open"},
    {"close", "close"},
    {"increase", "increase"},
    {"decrease", "decrease"},
    {"raise", "increase"},
    {"lower", "decrease"},
    {"allow", "allow"},
    {"deny", "deny"},
    {"block", "deny"},
    {"encrypt", "encrypt"},
    {"decrypt", "decrypt"},
    {"upload", "upload"},
    {"download", "download"},
    {"import", "import"},
    {"export", "export"},
    {"push", "push"},
    {"pull", "pull"},
    {"lock", "lock"},
    {"unlock", "unlock"},
    {"show", "show"},
    {"hide", "hide"},
    {"include", "include"},
    {"exclude", "exclude"},
    {"connect", "connect"},
    {"disconnect", "disconnect"},
    {"mount", "mount"},
    {"unmount", "unmount"},
    {"compress", "compress"},
    {"decompress", "decompress"},
    {"upgrade", "upgrade"},
    {"downgrade", "downgrade"},
    {"buy", "buy"},
    {"sell", "sell"},
    {"before", "before"},
    {"after", "after"},
    {"min", "min"},
    {"max", "max"},
    {"minimum", "min"},
    {"maximum", "max"},
    {"first", "first"},
    {"last", "last"},
    {"more", "more"},
    {"less", "less"},
    {"fewer", "less"},
    {"above", "above"},
    {"below", "below"},
    {"higher", "higher"},
    {"off", "off"},
    {"encode", "encode"},
    {"decode", "decode"},
    {"subscribe", "subscribe"},
    {"unsubscribe", "unsubscribe"},
    {"join", "join"},
    {"leave", "leave"},
    {"login", "login"},
    {"logout", "logout"},
    {"sign", "sign"},
    {"accept", "accept"},
    {"reject", "reject"},
    {"merge", "merge"},
    {"split", "split"},
    {"send", "send"},
    {"receive", "receive"},
    {"read", "read"},
    {"write", "write"},
    {"win", "win"},
    {"lose", "lose"},
    {"true", "true"},
    {"false", "false"},
    {"best", "best"},
    {"worst", "worst"},
    {"cheapest", "cheapest"},
    {"fastest", "fastest"},
    {"slowest", "slowest"},
    {"largest", "largest"},
    {"smallest", "smallest"},
    {"oldest", "oldest"},
    {"newest", "newest"},
    {"latest", "newest"},
    {"earliest", "earliest"},
    {"inside", "inside"},
    {"outside", "outside"},
    {"sum", "sum"},
    {"average", "average"},
    {"mean", "average"},
    {"median", "median"},
};

// Number words up to twenty and the tens, as numbers in text.
constexpr std::string_view kNumberWords[] = {
    "zero",     "one",      "two",     "three",     "four",     "five",     "six",
    "seven",    "eight",    "nine",    "ten",       "eleven",   "twelve",   "thirteen",
    "fourteen", "fifteen",  "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty",   "forty",    "fifty",   "sixty",     "seventy",  "eighty",   "ninety",
    "hundred",  "thousand", "million", "billion",   "twice",    "half",     "double",
    "triple",   "once",     "second",  "third",     "fourth",   "fifth",
};

// Capitalised words that are not names (sentence openers and the like).
constexpr std::string_view kCommonCapitals[] = {
    "i",     "a",     "an",    "the",    "what", "whats",  "what's",  "how",   "why",
    "when",  "where", "which", "who",    "whom", "whose",  "is",      "are",   "was",
    "were",  "do",    "does",  "did",    "can",  "could",  "should",  "would", "will",
    "may",   "might", "must",  "please", "tell", "give",   "explain", "list",  "describe",
    "show",  "find",  "in",    "on",     "for",  "to",     "of",      "and",   "or",
    "if",    "my",    "our",   "your",   "it",   "its",    "this",    "that",  "these",
    "those", "there", "hi",    "hello",  "hey",  "thanks", "ok",      "okay",  "yes",
    "no",    "not",   "any",   "some",   "we",   "you",    "me",
};

template <size_t N>
bool In(const std::string_view (&list)[N], std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

struct Features {
  std::vector<std::string> negations, operations, numbers, quoted, identifiers, names;
};

// "France's" -> "France"; "don't" -> "do" + negation.
std::string_view StripPossessive(std::string_view w) {
  if (w.size() > 2 && (w.substr(w.size() - 2) == "'s" || w.substr(w.size() - 2) == "\u2019s")) {
    return w.substr(0, w.size() - 2);
  }
  if (w.size() > 4 && w.substr(w.size() - 4) == "\u2019s") return w.substr(0, w.size() - 4);
  return w;
}

bool IsIdentifier(std::string_view w) {
  // snake_case, dotted.names, paths, flags, CamelCase inside a word, letters mixed with digits.
  bool letter = false, digit = false, inner_upper = false;
  for (size_t i = 0; i < w.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(w[i]);
    if (c == '_' || c == '.' || c == '/' || c == '-' || c == ':' || c == '=') {
      if (i > 0 && i + 1 < w.size()) return true;
      if (i == 0 && (c == '-' || c == '/') && w.size() > 1) return true;
    }
    if (std::isalpha(c)) letter = true;
    if (std::isdigit(c)) digit = true;
    if (i > 0 && std::isupper(c) && std::islower(static_cast<unsigned char>(w[i - 1]))) {
      inner_upper = true;
    }
  }
  return (letter && digit) || inner_upper;
}

Features Extract(std::string_view text) {
  Features f;
  // Quoted strings first: '...', "...", `...`, and typographic quotes.
  std::string rest;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    bool apostrophe = c == '\'' && i > 0 && IsWordByte(static_cast<unsigned char>(text[i - 1]));
    if ((c == '"' || c == '`' || c == '\'') && !apostrophe) {
      size_t end = text.find(c, i + 1);
      if (end != std::string_view::npos && end > i + 1) {
        f.quoted.emplace_back(text.substr(i + 1, end - i - 1));
        rest.push_back(' ');
        i = end + 1;
        continue;
      }
    }
    if (text.compare(i, 3, "\u201c") == 0) {
      size_t end = text.find("\u201d", i + 3);
      if (end != std::string_view::npos) {
        f.quoted.emplace_back(text.substr(i + 3, end - i - 3));
        i = end + 3;
        continue;
      }
    }
    rest.push_back(c);
    ++i;
  }
  // Words: runs of word bytes, with inner apostrophes, dots, slashes, dashes and the like kept
  // (so that file.txt, v1.2, --flag and don't stay one word).
  bool sentence_start = true;
  size_t i = 0;
  while (i < rest.size()) {
    unsigned char c = static_cast<unsigned char>(rest[i]);
    if (!IsWordByte(c) && !(c == '-' && i + 1 < rest.size() && rest[i + 1] == '-') &&
        !(c == '/' && i + 1 < rest.size() && IsWordByte(static_cast<unsigned char>(rest[i + 1])) &&
          (i == 0 || rest[i - 1] == ' '))) {
      if (c == '.' || c == '?' || c == '!' || c == ':' || c == '\n') sentence_start = true;
      ++i;
      continue;
    }
    size_t start = i;
    while (i < rest.size()) {
      unsigned char d = static_cast<unsigned char>(rest[i]);
      if (IsWordByte(d) || d == '-' || d == '/') {
        ++i;
        continue;
      }
      // Inner punctuation that keeps a word whole: don't, file.txt, 3.14, a=b, ns::name.
      if ((d == '\'' || d == '.' || d == '=' || d == ':') && i + 1 < rest.size() &&
          IsWordByte(static_cast<unsigned char>(rest[i + 1])) && i > start) {
        ++i;
        continue;
      }
      if (rest.compare(i, 3, "\u2019") == 0 && i + 3 < rest.size() && i > start) {
        i += 3;
        continue;
      }
      break;
    }
    std::string_view word = std::string_view(rest).substr(start, i - start);
    while (!word.empty() && (word.back() == '-' || word.back() == '/')) word.remove_suffix(1);
    if (word.empty()) continue;
    std::string lower = absl::AsciiStrToLower(internal::ToAbsl(word));
    std::string_view base = StripPossessive(word);
    std::string lower_base = absl::AsciiStrToLower(internal::ToAbsl(base));
    const bool opener = sentence_start;
    sentence_start = false;

    bool numeric = std::all_of(word.begin(), word.end(), [](char ch) {
      return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == ',';
    });
    if (numeric && std::any_of(word.begin(), word.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch));
        })) {
      std::string n(word);
      n.erase(std::remove(n.begin(), n.end(), ','), n.end());
      f.numbers.push_back(n);
      continue;
    }
    if (In(kNumberWords, lower)) {
      f.numbers.push_back(lower);
      continue;
    }
    if (In(kNegations, lower) ||
        (lower.size() > 3 && (lower.ends_with("n't") || lower.ends_with("n\u2019t")))) {
      f.negations.push_back("not");
      continue;
    }
    bool operation = false;
    for (const Opposite& o : kOperations) {
      // The word or a simple inflection of it (enables, enabled, enabling).
      if (lower == o.word || (lower.starts_with(o.word) && lower.size() <= o.word.size() + 3 &&
                              (lower.ends_with("s") || lower.ends_with("ed") ||
                               lower.ends_with("d") || lower.ends_with("ing")))) {
        f.operations.emplace_back(o.group);
        operation = true;
        break;
      }
    }
    if (operation) continue;
    if (IsIdentifier(base)) {
      f.identifiers.emplace_back(base);
      continue;
    }
    const bool capital = std::isupper(static_cast<unsigned char>(base[0])) != 0;
    const bool all_caps = base.size() > 1 && std::all_of(base.begin(), base.end(), [](char ch) {
                            return std::isupper(static_cast<unsigned char>(ch)) ||
                                   std::isdigit(static_cast<unsigned char>(ch));
                          });
    if ((capital && !opener && !In(kCommonCapitals, lower_base)) || all_caps) {
      f.names.push_back(lower_base);
    } else if (capital && opener && !In(kCommonCapitals, lower_base)) {
      // A capitalised first word may be a name ("Paris is ...") or just the opener ("Explain
      // ..."): it counts as a name when the other question has it too as a name; see Compare.
      f.names.push_back("?" + lower_base);
    }
  }
  return f;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string Differ(std::string_view what, const std::vector<std::string>& a,
                   const std::vector<std::string>& b) {
  return absl::StrCat(internal::ToAbsl(what), " differ: [", absl::StrJoin(a, ", "), "] vs [",
                      absl::StrJoin(b, ", "), "]");
}

}  // namespace

std::string FalseHitReason(std::string_view question, std::string_view candidate) {
  Features a = Extract(question), b = Extract(candidate);
  auto check = [](std::string_view what, std::vector<std::string> x, std::vector<std::string> y,
                  bool as_set) -> std::string {
    x = Sorted(std::move(x));
    y = Sorted(std::move(y));
    if (as_set) {
      x.erase(std::unique(x.begin(), x.end()), x.end());
      y.erase(std::unique(y.begin(), y.end()), y.end());
    }
    return x == y ? std::string() : Differ(what, x, y);
  };
  // An opener that may be a name: a name when the other question names it anywhere. Openers
  // named by neither stay apart: two questions each opening with its own such word ("Paris
  // weather" / "London weather") differ.
  std::vector<std::string> open_a, open_b;
  auto resolve = [](std::vector<std::string>& names, const std::vector<std::string>& other,
                    std::vector<std::string>* openers) {
    std::vector<std::string> out;
    for (std::string& n : names) {
      if (n[0] != '?') {
        out.push_back(n);
        continue;
      }
      std::string bare = n.substr(1);
      bool named = std::any_of(other.begin(), other.end(),
                               [&](const std::string& o) { return o == bare || o == n; });
      if (named) {
        out.push_back(bare);
      } else {
        openers->push_back(bare);
      }
    }
    names = std::move(out);
  };
  std::vector<std::string> names_a = a.names, names_b = b.names;
  resolve(names_a, b.names, &open_a);
  resolve(names_b, a.names, &open_b);
  std::string why;
  if (!(why = check("negations", a.negations, b.negations, false)).empty()) return why;
  if (!(why = check("numbers", a.numbers, b.numbers, true)).empty()) return why;
  if (!(why = check("quoted strings", a.quoted, b.quoted, true)).empty()) return why;
  if (!(why = check("identifiers", a.identifiers, b.identifiers, true)).empty()) return why;
  if (!(why = check("operations", a.operations, b.operations, true)).empty()) return why;
  // Names in order: "from Berlin to Rome" is not "from Rome to Berlin".
  auto unique_in_order = [](std::vector<std::string> v) {
    std::vector<std::string> out;
    for (std::string& x : v) {
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(std::move(x));
    }
    return out;
  };
  names_a = unique_in_order(std::move(names_a));
  names_b = unique_in_order(std::move(names_b));
  if (names_a != names_b) return Differ("names", names_a, names_b);
  if (!open_a.empty() && !open_b.empty() && open_a != open_b) {
    return Differ("opening names", open_a, open_b);
  }
  return {};
}

}  // namespace llmkit
