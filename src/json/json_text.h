// The text writers behind Json::Dump, shared with the template engine's tojson and repr.

#ifndef LLMKIT_SRC_JSON_JSON_TEXT_H_
#define LLMKIT_SRC_JSON_JSON_TEXT_H_

#include <string>
#include <string_view>

namespace llmkit::internal {

// Appends `text` as a JSON string literal (quotes included), escaped as Python's json.dumps
// escapes it; `ensure_ascii` escapes every non-ASCII code point.
void AppendString(std::string_view text, bool ensure_ascii, std::string* out);

// Appends `value` as Python's float.__repr__ prints it (NaN, Infinity, -Infinity included).
void AppendDouble(double value, std::string* out);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_JSON_JSON_TEXT_H_
