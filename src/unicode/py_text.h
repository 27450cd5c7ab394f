// Python's string semantics over UTF-8: whitespace, code-point indexing, case mapping and repr(),
// as the template engine's methods and filters need them.

#ifndef LLMKIT_SRC_UNICODE_PY_TEXT_H_
#define LLMKIT_SRC_UNICODE_PY_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::internal {

// Decodes the code point at `*i` and advances past it (an invalid byte decodes as itself).
uint32_t DecodeAt(std::string_view s, size_t* i);
void AppendUtf8(uint32_t cp, std::string* out);

// Python's str.isspace() for one code point.
bool IsPySpace(uint32_t cp);
// Byte length of the whitespace code point at `i`, or 0.
size_t PySpaceLength(std::string_view s, size_t i);
// Length of `s` without its trailing whitespace (str.rstrip()).
size_t RstripLength(std::string_view s);

bool IsAscii(std::string_view s);
// Number of code points (Python's len()).
size_t PyLength(std::string_view s);
// Byte offsets of each code point, plus s.size() at the end (only needed for non-ASCII text).
std::vector<size_t> CodePointOffsets(std::string_view s);

// Substring search in linear time whatever the needle (Python's str.find is too; a naive search
// of a long needle is quadratic). Same results as std::string_view::find / rfind.
size_t FindSubstring(std::string_view haystack, std::string_view needle, size_t from = 0);
size_t RFindSubstring(std::string_view haystack, std::string_view needle,
                      size_t before = std::string_view::npos);

// Case mapping: Python's str.upper/lower/title/capitalize/swapcase (simple Unicode mappings).
std::string ToUpper(std::string_view s);
std::string ToLower(std::string_view s);
std::string PyTitle(std::string_view s);       // str.title()
std::string PyCapitalize(std::string_view s);  // str.capitalize()
bool IsCased(uint32_t cp);
bool IsUpperCp(uint32_t cp);
bool IsLowerCp(uint32_t cp);
bool IsAlphaCp(uint32_t cp);
bool IsDigitCp(uint32_t cp);

// repr() of a str: quotes chosen and characters escaped as Python does.
void AppendPyRepr(std::string_view s, std::string* out);

// Python's str.splitlines() (keepends=False).
std::vector<std::string_view> SplitLines(std::string_view s);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_UNICODE_PY_TEXT_H_
