// URI references as JSON Schema uses them for $id and $ref: RFC 3986 reference resolution,
// fragments, and JSON Pointer tokens.

#ifndef LLMKIT_SRC_SCHEMA_URI_H_
#define LLMKIT_SRC_SCHEMA_URI_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::internal::schema {

// `reference` resolved against the absolute `base` (RFC 3986 section 5.2, with dot segments
// removed). A base without a scheme (a schema with no $id) resolves as a path.
std::string ResolveUri(std::string_view base, std::string_view reference);

// The URI without its fragment, and the fragment (percent-decoded, without '#').
std::string WithoutFragment(std::string_view uri);
std::string FragmentOf(std::string_view uri);

// The tokens of a JSON Pointer ("/a~1b/0" -> {"a/b", "0"}), or nullopt if it is not one.
std::optional<std::vector<std::string>> PointerTokens(std::string_view pointer);

// `token` escaped for a JSON Pointer ('~' -> "~0", '/' -> "~1").
void AppendPointerToken(std::string* out, std::string_view token);

}  // namespace llmkit::internal::schema

#endif  // LLMKIT_SRC_SCHEMA_URI_H_
