// Python's str methods (and a safe string's, as markupsafe's Markup) as templates call them,
// the dispatch of every method call, and loop.cycle/changed and cycler.next/reset. The list and
// dict methods are in container_methods.cc.

#include "template/methods.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "template/render.h"
#include "unicode/py_text.h"

namespace llmkit::internal::tmpl {
namespace {

using Result = absl::StatusOr<Value>;

constexpr std::string_view kStringMethods[] = {
    "strip",     "lstrip",    "rstrip",     "split",    "rsplit",  "splitlines",   "upper",
    "lower",     "title",     "capitalize", "swapcase", "replace", "startswith",   "endswith",
    "find",      "rfind",     "index",      "rindex",   "count",   "join",         "format",
    "isdigit",   "isalpha",   "isalnum",    "isspace",  "isupper", "islower",      "isnumeric",
    "isdecimal", "zfill",     "center",     "ljust",    "rjust",   "removeprefix", "removesuffix",
    "partition", "rpartition"};
constexpr std::string_view kListMethods[] = {"append", "extend", "insert", "pop",
                                             "remove", "index",  "count",  "reverse",
                                             "copy",   "clear",  "sort"};
constexpr std::string_view kDictMethods[] = {"items",  "keys",       "values", "get",   "pop",
                                             "update", "setdefault", "copy",   "clear", "popitem"};

template <size_t N>
bool In(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

absl::StatusOr<std::string_view> StringArg(Renderer& r, const Expr& at, std::string_view method,
                                           const Value& v) {
  if (v.kind != Value::Kind::kString) {
    return r.Error(at, absl::StrCat(ToAbsl(method), "() argument must be str"));
  }
  return v.str;
}

bool CharIn(uint32_t cp, std::string_view chars) {
  for (size_t i = 0; i < chars.size();) {
    if (DecodeAt(chars, &i) == cp) return true;
  }
  return false;
}

// str.strip/lstrip/rstrip with optional chars (None = whitespace).
std::string_view Strip(std::string_view s, bool left, bool right, const std::string_view* chars) {
  auto strip_cp = [&](uint32_t cp) { return chars ? CharIn(cp, *chars) : IsPySpace(cp); };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      size_t i = b;
      if (!strip_cp(DecodeAt(s, &i))) break;
      b = i;
    }
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t i = start;
      if (!strip_cp(DecodeAt(s, &i))) break;
      e = start;
    }
  }
  return s.substr(b, e - b);
}

// Python str.split / rsplit.
std::vector<std::string_view> Split(std::string_view s, const std::string_view* sep,
                                    int64_t maxsplit, bool from_right) {
  std::vector<std::string_view> parts;
  if (sep == nullptr) {
    // Runs of whitespace; leading/trailing ignored.
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && PySpaceLength(s, i) > 0) i += PySpaceLength(s, i);
      if (i >= s.size()) break;
      size_t b = i;
      while (i < s.size() && PySpaceLength(s, i) == 0) DecodeAt(s, &i);
      words.emplace_back(b, i);
    }
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) + 1 >= words.size()) {
      for (auto [b, e] : words) parts.push_back(s.substr(b, e - b));
      return parts;
    }
    size_t keep = static_cast<size_t>(maxsplit);
    if (!from_right) {
      for (size_t k = 0; k < keep; ++k)
        parts.push_back(s.substr(words[k].first, words[k].second - words[k].first));
      std::string_view rest = s.substr(words[keep].first);
      parts.push_back(rest.substr(0, RstripLength(rest)));
    } else {
      size_t first = words.size() - keep;
      std::string_view head = s.substr(0, words[first - 1].second);
      size_t b = 0;
      while (b < head.size() && PySpaceLength(head, b) > 0) b += PySpaceLength(head, b);
      parts.push_back(head.substr(b));
      for (size_t k = first; k < words.size(); ++k)
        parts.push_back(s.substr(words[k].first, words[k].second - words[k].first));
    }
    return parts;
  }
  if (!from_right) {
    size_t start = 0;
    int64_t n = 0;
    while (maxsplit < 0 || n < maxsplit) {
      size_t at = FindSubstring(s, *sep, start);
      if (at == std::string_view::npos) break;
      parts.push_back(s.substr(start, at - start));
      start = at + sep->size();
      ++n;
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  int64_t n = 0;
  std::vector<std::string_view> reversed;
  while (maxsplit < 0 || n < maxsplit) {
    if (end < sep->size()) break;
    size_t at = RFindSubstring(s, *sep, end - sep->size());
    if (at == std::string_view::npos) break;
    reversed.push_back(s.substr(at + sep->size(), end - at - sep->size()));
    end = at;
    ++n;
  }
  reversed.push_back(s.substr(0, end));
  parts.assign(reversed.rbegin(), reversed.rend());
  return parts;
}

// Upper bounds of how many parts a split makes, counted before any is stored: a split builds
// its parts (and, for whitespace, the words' bounds) before they are charged.
size_t CountWords(std::string_view s) {
  size_t words = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    size_t space = PySpaceLength(s, i);
    if (space > 0) {
      in_word = false;
      i += space;
    } else {
      words += in_word ? 0 : 1;
      in_word = true;
      ++i;
    }
  }
  return words;
}

size_t CountSeparators(std::string_view s, std::string_view sep) {
  size_t n = 0;
  for (size_t at = FindSubstring(s, sep); at != std::string_view::npos;
       at = FindSubstring(s, sep, at + sep.size())) {
    ++n;
  }
  return n;
}

size_t CountLineBreaks(std::string_view s) {
  // \n \r \v \f \x1c-\x1e, and the last bytes of U+0085, U+2028, U+2029 (over-counted: fine).
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return std::strchr("\n\r\v\f\x1c\x1d\x1e\x85\xa8\xa9", c) != nullptr && c != '\0';
  }));
}

absl::Status CheckParts(Renderer& r, const Expr& at, size_t parts) {
  return r.CheckFits(at, parts * (sizeof(Value) + 2 * sizeof(std::string_view)));
}

// The parts as a list of strings (views into the split string), charged to the render's
// memory before the list is built.
Result Strings(Renderer& r, const Expr& at, const std::vector<std::string_view>& parts) {
  LLMKIT_RETURN_IF_ERROR(r.CheckFits(at, parts.size() * sizeof(Value)));
  List* list = r.NewList(parts.size());
  for (std::string_view p : parts) list->items.push_back(Value::String(p));
  r.Charge(parts.size() * sizeof(Value));
  LLMKIT_RETURN_IF_ERROR(r.CheckMemory(at));
  return Value::Of(list);
}

// Python str.format with {}, {0}, {name}, {name.attr}, {name[key]}; no format specs.
Result StrFormat(Renderer& r, const Expr& at, std::string_view fmt, Args& args, Kwargs& kwargs) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return r.Error(at, "single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string_view::npos)
      return r.Error(at, "single '{' encountered in format string");
    std::string_view field = fmt.substr(i + 1, close - i - 1);
    i = close;
    if (field.find_first_of(":!") != std::string_view::npos) {
      return r.Error(at, "format specs and conversions are not supported in str.format");
    }
    size_t end = field.find_first_of(".[");
    std::string_view head = field.substr(0, end);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.size()) return r.Error(at, "format: not enough positional arguments");
      v = args[auto_index++];
    } else if (std::all_of(head.begin(), head.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      size_t index = std::stoul(std::string(head));
      if (index >= args.size()) return r.Error(at, "format: positional index out of range");
      v = args[index];
    } else {
      bool found = false;
      for (const auto& [k, val] : kwargs) {
        if (k == head) {
          v = val;
          found = true;
        }
      }
      if (!found) return r.Error(at, absl::StrCat("format: missing key '", ToAbsl(head), "'"));
    }
    std::string_view rest = end == std::string_view::npos ? std::string_view() : field.substr(end);
    while (!rest.empty()) {
      if (rest[0] == '.') {
        size_t n = rest.find_first_of(".[", 1);
        LLMKIT_ASSIGN_OR_RETURN(
            v, r.GetAttr(at, v, rest.substr(1, n == std::string_view::npos ? rest.npos : n - 1)));
        rest = n == std::string_view::npos ? std::string_view() : rest.substr(n);
      } else {
        size_t n = rest.find(']');
        if (n == std::string_view::npos) return r.Error(at, "format: missing ']'");
        std::string_view key = rest.substr(1, n - 1);
        Value k = Value::String(key);
        if (!key.empty() &&
            std::all_of(key.begin(), key.end(), [](char d) { return d >= '0' && d <= '9'; })) {
          k = Value::Int(std::stoll(std::string(key)));
        }
        LLMKIT_ASSIGN_OR_RETURN(v, r.GetItem(at, v, k));
        rest = rest.substr(n + 1);
      }
    }
    LLMKIT_RETURN_IF_ERROR(r.AppendStr(at, v, &out));
    LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, out.size()));
  }
  return r.NewString(std::move(out));
}

// Python str.center/ljust/rjust.
std::string Pad(std::string_view s, int64_t width, std::string_view fill, int align) {
  int64_t len = static_cast<int64_t>(PyLength(s));
  if (width <= len) return std::string(s);
  int64_t marg = width - len;
  int64_t left = align < 0 ? 0 : align > 0 ? marg : marg / 2 + (marg & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out.append(fill);
  out.append(s);
  for (int64_t i = 0; i < marg - left; ++i) out.append(fill);
  return out;
}

Result StringMethod(Renderer& r, const Expr& at, std::string_view s, std::string_view name,
                    Args& args, Kwargs& kwargs) {
  if (!kwargs.empty() && name != "format") {
    // Python's str methods take few keyword arguments; support the common ones by position.
    for (const auto& [k, v] : kwargs) {
      if (k == "maxsplit" || k == "sep" || k == "count") {
        if (k == "sep" && args.empty())
          args.push_back(v);
        else if (k == "maxsplit") {
          if (args.empty()) args.push_back(Value::None());
          args.push_back(v);
        } else if (k == "count") {
          args.push_back(v);
        }
      } else {
        return r.Error(at, absl::StrCat(ToAbsl(name), "() got an unexpected keyword argument '",
                                        ToAbsl(k), "'"));
      }
    }
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 0, 1));
    Value chars = Arg(args, 0, Value::None());
    std::string_view chars_view;
    const std::string_view* cp = nullptr;
    if (!chars.is_none()) {
      LLMKIT_ASSIGN_OR_RETURN(chars_view, StringArg(r, at, name, chars));
      cp = &chars_view;
    }
    return Value::String(Strip(s, name != "rstrip", name != "lstrip", cp));
  }
  if (name == "split" || name == "rsplit") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 0, 2));
    Value sep = Arg(args, 0, Value::None());
    Value maxsplit = Arg(args, 1, Value::Int(-1));
    if (!maxsplit.is_integer()) return r.Error(at, "maxsplit must be an integer");
    if (sep.is_none()) {
      LLMKIT_RETURN_IF_ERROR(CheckParts(r, at, CountWords(s)));
      return Strings(r, at, Split(s, nullptr, maxsplit.AsInt(), name == "rsplit"));
    }
    LLMKIT_ASSIGN_OR_RETURN(std::string_view sep_view, StringArg(r, at, name, sep));
    if (sep_view.empty()) return r.Error(at, "empty separator");
    LLMKIT_RETURN_IF_ERROR(CheckParts(r, at, CountSeparators(s, sep_view) + 1));
    return Strings(r, at, Split(s, &sep_view, maxsplit.AsInt(), name == "rsplit"));
  }
  if (name == "splitlines") {
    LLMKIT_RETURN_IF_ERROR(CheckParts(r, at, CountLineBreaks(s) + 1));
    return Strings(r, at, SplitLines(s));
  }
  if (name == "upper") return r.NewString(ToUpper(s));
  if (name == "lower") return r.NewString(ToLower(s));
  if (name == "title") return r.NewString(PyTitle(s));
  if (name == "capitalize") return r.NewString(PyCapitalize(s));
  if (name == "swapcase") {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      size_t b = i;
      uint32_t cp = DecodeAt(s, &i);
      std::string_view one = s.substr(b, i - b);
      out += IsUpperCp(cp) ? ToLower(one) : IsLowerCp(cp) ? ToUpper(one) : std::string(one);
    }
    return r.NewString(std::move(out));
  }
  if (name == "replace") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 2, 3));
    LLMKIT_ASSIGN_OR_RETURN(std::string_view old_s, StringArg(r, at, name, args[0]));
    LLMKIT_ASSIGN_OR_RETURN(std::string_view new_s, StringArg(r, at, name, args[1]));
    int64_t count = args.size() > 2 && args[2].is_integer() ? args[2].AsInt() : -1;
    std::string out;
    if (old_s.empty()) {
      // Python inserts `new` between characters (and at both ends).
      LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, (s.size() + 1) * new_s.size()));
      int64_t n = 0;
      for (size_t i = 0; i <= s.size();) {
        if (count < 0 || n < count) {
          out.append(new_s);
          ++n;
        }
        if (i == s.size()) break;
        size_t b = i;
        DecodeAt(s, &i);
        out.append(s.substr(b, i - b));
      }
      return r.NewString(std::move(out));
    }
    size_t start = 0;
    int64_t n = 0;
    while (count < 0 || n < count) {
      size_t found = FindSubstring(s, old_s, start);
      if (found == std::string_view::npos) break;
      out.append(s.substr(start, found - start)).append(new_s);
      start = found + old_s.size();
      ++n;
      LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, out.size()));
      LLMKIT_RETURN_IF_ERROR(r.CheckTime(at));
    }
    out.append(s.substr(start));
    return r.NewString(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    std::vector<Value> options;
    Value a = r.Resolve(args[0]);
    if (a.kind == Value::Kind::kList && a.list->tuple) {
      options = a.list->items;
    } else {
      options.push_back(a);
    }
    for (const Value& o : options) {
      LLMKIT_ASSIGN_OR_RETURN(std::string_view p, StringArg(r, at, name, o));
      bool hit = name == "startswith" ? s.substr(0, p.size()) == p
                                      : s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
      if (hit) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    LLMKIT_ASSIGN_OR_RETURN(std::string_view sub, StringArg(r, at, name, args[0]));
    if (name == "count") {
      if (sub.empty()) return Value::Int(static_cast<int64_t>(PyLength(s)) + 1);
      int64_t n = 0;
      for (size_t at_pos = FindSubstring(s, sub); at_pos != std::string_view::npos;
           at_pos = FindSubstring(s, sub, at_pos + sub.size())) {
        ++n;
      }
      return Value::Int(n);
    }
    size_t found =
        name == "find" || name == "index" ? FindSubstring(s, sub) : RFindSubstring(s, sub);
    if (found == std::string_view::npos) {
      if (name == "index" || name == "rindex") return r.Error(at, "substring not found");
      return Value::Int(-1);
    }
    return Value::Int(static_cast<int64_t>(PyLength(s.substr(0, found))));
  }
  if (name == "join") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    std::vector<Value> items;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].kind != Value::Kind::kString) {
        return r.Error(at, absl::StrCat("sequence item ", i, ": expected str instance"));
      }
      if (i > 0) out.append(s);
      out.append(items[i].str);
    }
    return r.NewString(std::move(out));
  }
  if (name == "format") return StrFormat(r, at, s, args, kwargs);
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
      name == "isnumeric" || name == "isdecimal") {
    if (s.empty()) return Value::Bool(false);
    for (size_t i = 0; i < s.size();) {
      uint32_t cp = DecodeAt(s, &i);
      bool ok = name == "isalpha"   ? IsAlphaCp(cp)
                : name == "isspace" ? IsPySpace(cp)
                : name == "isalnum" ? IsAlphaCp(cp) || IsDigitCp(cp)
                                    : IsDigitCp(cp);
      if (!ok) return Value::Bool(false);
    }
    return Value::Bool(true);
  }
  if (name == "isupper" || name == "islower") {
    bool cased = false;
    for (size_t i = 0; i < s.size();) {
      uint32_t cp = DecodeAt(s, &i);
      if (name == "isupper" ? IsLowerCp(cp) : IsUpperCp(cp)) return Value::Bool(false);
      if (name == "isupper" ? IsUpperCp(cp) : IsLowerCp(cp)) cased = true;
    }
    return Value::Bool(cased);
  }
  if (name == "zfill") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    if (!args[0].is_integer()) return r.Error(at, "zfill() needs an integer");
    int64_t width = args[0].AsInt();
    int64_t len = static_cast<int64_t>(PyLength(s));
    if (width <= len) return Value::String(s);
    LLMKIT_RETURN_IF_ERROR(r.CheckStringSize(at, static_cast<uint64_t>(width - len) + s.size()));
    std::string out;
    std::string_view body = s;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      out.push_back(body[0]);
      body.remove_prefix(1);
    }
    out.append(static_cast<size_t>(width - len), '0');
    out.append(body);
    return r.NewString(std::move(out));
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 2));
    if (!args[0].is_integer())
      return r.Error(at, absl::StrCat(ToAbsl(name), "() needs an integer width"));
    std::string_view fill = " ";
    if (args.size() > 1) {
      LLMKIT_ASSIGN_OR_RETURN(fill, StringArg(r, at, name, args[1]));
      if (PyLength(fill) != 1)
        return r.Error(at, "the fill character must be exactly one character long");
    }
    int64_t width = args[0].AsInt();
    int64_t len = static_cast<int64_t>(PyLength(s));
    if (width > len) {
      LLMKIT_RETURN_IF_ERROR(
          r.CheckStringSize(at, static_cast<uint64_t>(width - len) * fill.size() + s.size()));
    }
    return r.NewString(Pad(s, width, fill, name == "center" ? 0 : name == "ljust" ? -1 : 1));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    LLMKIT_ASSIGN_OR_RETURN(std::string_view a, StringArg(r, at, name, args[0]));
    if (name == "removeprefix" && s.substr(0, a.size()) == a)
      return Value::String(s.substr(a.size()));
    if (name == "removesuffix" && !a.empty() && s.size() >= a.size() &&
        s.substr(s.size() - a.size()) == a) {
      return Value::String(s.substr(0, s.size() - a.size()));
    }
    return Value::String(s);
  }
  if (name == "partition" || name == "rpartition") {
    LLMKIT_RETURN_IF_ERROR(ArgCount(r, at, name, args, 1, 1));
    LLMKIT_ASSIGN_OR_RETURN(std::string_view sep, StringArg(r, at, name, args[0]));
    if (sep.empty()) return r.Error(at, "empty separator");
    size_t found = name == "partition" ? FindSubstring(s, sep) : RFindSubstring(s, sep);
    List* list = r.NewList(3);
    list->tuple = true;
    if (found == std::string_view::npos) {
      if (name == "partition") {
        list->items = {Value::String(s), Value::String(""), Value::String("")};
      } else {
        list->items = {Value::String(""), Value::String(""), Value::String(s)};
      }
    } else {
      list->items = {Value::String(s.substr(0, found)), Value::String(sep),
                     Value::String(s.substr(found + sep.size()))};
    }
    return Value::Of(list);
  }
  return r.Error(at, absl::StrCat("'str' object has no attribute '", ToAbsl(name), "'"));
}
// markupsafe's Markup methods: these escape their string arguments and return a safe string;
// split/rsplit/splitlines/partition/rpartition return safe parts; join escapes each item and
// format each argument. The rest (find, count, startswith, is*) answer as for a plain string.
constexpr std::string_view kSafeResultMethods[] = {
    "capitalize", "title",  "lower",  "upper",        "replace",     "ljust",
    "rjust",      "lstrip", "rstrip", "center",       "strip",       "swapcase",
    "zfill",      "join",   "format", "removeprefix", "removesuffix"};
constexpr std::string_view kSafePartsMethods[] = {"split", "rsplit", "splitlines", "partition",
                                                  "rpartition"};

Result SafeStringMethod(Renderer& r, const Expr& at, const Value& obj, std::string_view name,
                        Args& args, Kwargs& kwargs) {
  const bool whole = In(kSafeResultMethods, name), parts = In(kSafePartsMethods, name);
  if (!whole && !parts) return StringMethod(r, at, obj.str, name, args, kwargs);
  auto escape = [&](Value& v) -> absl::Status {
    // Strings are escaped; format also escapes what other values print as.
    if (v.is_string() || (name == "format" && !v.is_number() && !v.is_none())) {
      LLMKIT_ASSIGN_OR_RETURN(v, r.Escape(at, v));
    }
    return absl::OkStatus();
  };
  if (name == "join" && args.size() == 1) {
    std::vector<Value> items;
    LLMKIT_RETURN_IF_ERROR(r.Iterate(at, args[0], &items));
    List* escaped = r.NewList(items.size());
    for (Value& item : items) {
      if (item.is_string()) LLMKIT_RETURN_IF_ERROR(escape(item));
      escaped->items.push_back(item);
    }
    args[0] = Value::Of(escaped);
  } else {
    for (Value& v : args) LLMKIT_RETURN_IF_ERROR(escape(v));
    for (auto& [k, v] : kwargs) LLMKIT_RETURN_IF_ERROR(escape(v));
  }
  LLMKIT_ASSIGN_OR_RETURN(Value result, StringMethod(r, at, obj.str, name, args, kwargs));
  if (result.is_string()) {
    result.safe = true;
  } else if (parts && result.kind == Value::Kind::kList) {
    for (Value& item : result.list->items) item.safe = item.is_string();
  }
  return result;
}

}  // namespace

bool HasMethod(const Value& obj, std::string_view name) {
  switch (obj.kind) {
    case Value::Kind::kString:
      return In(kStringMethods, name);
    case Value::Kind::kJsonArray:
      return In(kListMethods, name);
    case Value::Kind::kList:
      return In(kListMethods, name);
    case Value::Kind::kJsonObject:
      return In(kDictMethods, name);
    case Value::Kind::kDict:
      return !obj.dict->is_namespace && In(kDictMethods, name);
    case Value::Kind::kCallable:
      if (obj.callable->kind == Callable::Kind::kLoop) return name == "cycle" || name == "changed";
      if (obj.callable->kind == Callable::Kind::kCycler) return name == "next" || name == "reset";
      return false;
    default:
      return false;
  }
}

absl::StatusOr<Value> CallMethod(Renderer& r, const Expr& at, const Value& obj_in,
                                 std::string_view name, Args& args, Kwargs& kwargs, bool* found) {
  Value obj = r.Resolve(obj_in);
  *found = HasMethod(obj, name);
  if (!*found) {
    return r.Error(at, absl::StrCat("object has no method '", ToAbsl(name), "'"));
  }
  switch (obj.kind) {
    case Value::Kind::kString:
      if (obj.safe) return SafeStringMethod(r, at, obj, name, args, kwargs);
      return StringMethod(r, at, obj.str, name, args, kwargs);
    case Value::Kind::kJsonArray:
    case Value::Kind::kList:
      return ListMethod(r, at, obj_in, name, args);
    case Value::Kind::kJsonObject:
    case Value::Kind::kDict:
      return DictMethod(r, at, obj_in, name, args, kwargs);
    case Value::Kind::kCallable: {
      Callable* c = obj.callable;
      if (c->kind == Callable::Kind::kLoop) {
        if (name == "cycle") {
          if (args.empty()) return r.Error(at, "no items for cycling given");
          return args[static_cast<size_t>(c->loop.index0) % args.size()];
        }
        List* current = r.NewList();
        current->items.assign(args.begin(), args.end());
        Value now = Value::Of(current);
        bool changed = !c->loop.has_changed || !r.Equal(c->loop.last_changed, now);
        c->loop.has_changed = true;
        c->loop.last_changed = now;
        return Value::Bool(changed);
      }
      if (name == "reset") {
        c->position = 0;
        return Value::None();
      }
      Value v = c->items[c->position];
      c->position = (c->position + 1) % c->items.size();
      return v;
    }
    default:
      break;
  }
  return r.Error(at, "no such method");
}

}  // namespace llmkit::internal::tmpl
