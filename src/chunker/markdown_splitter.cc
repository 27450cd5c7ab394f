// MarkdownSplitter: sections at ATX headings, heading paths as metadata, fenced code blocks kept
// whole; each section is sized by the recursive splitter with LangChain's Markdown separators.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

struct Section {
  size_t begin;
  Json headings;  // Array of heading texts, outermost first.
};

struct Outline {
  std::vector<Section> sections;
  std::vector<std::pair<size_t, size_t>> fences;  // [opening line start, closing line end).
};

// Number of leading spaces if at most 3 (CommonMark's limit for headings and fences), else -1.
int Indent(std::string_view line) {
  int spaces = 0;
  while (spaces < static_cast<int>(line.size()) && line[spaces] == ' ') ++spaces;
  return spaces <= 3 ? spaces : -1;
}

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

std::string_view StripTrailingBlanks(std::string_view text) {
  while (!text.empty() && IsSpaceOrTab(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view StripBlanks(std::string_view text) {
  while (!text.empty() && IsSpaceOrTab(text.front())) text.remove_prefix(1);
  return StripTrailingBlanks(text);
}

size_t RunLength(std::string_view text, char c) {
  size_t n = 0;
  while (n < text.size() && text[n] == c) ++n;
  return n;
}

// If `line` is an ATX heading, returns its level and sets `title`; otherwise returns 0.
int ParseHeading(std::string_view line, std::string* title) {
  int indent = Indent(line);
  if (indent < 0) return 0;
  line.remove_prefix(indent);
  size_t level = RunLength(line, '#');
  if (level == 0 || level > 6) return 0;
  std::string_view rest = line.substr(level);
  if (!rest.empty() && !IsSpaceOrTab(rest[0])) return 0;
  rest = StripBlanks(rest);
  // An optional closing sequence of #s, preceded by a space (or making up the whole content).
  size_t hashes = 0;
  while (hashes < rest.size() && rest[rest.size() - 1 - hashes] == '#') ++hashes;
  if (hashes == rest.size()) {
    rest = {};
  } else if (hashes > 0 && IsSpaceOrTab(rest[rest.size() - 1 - hashes])) {
    rest = StripTrailingBlanks(rest.substr(0, rest.size() - hashes));
  }
  *title = std::string(rest);
  return static_cast<int>(level);
}

Outline ParseOutline(std::string_view text, int max_heading_level) {
  Outline outline;
  std::vector<std::pair<int, std::string>> path;  // (level, title) of the open headings.
  bool in_fence = false;
  char fence_char = 0;
  size_t fence_length = 0;
  size_t fence_start = 0;
  outline.sections.push_back({0, Json::MakeArray()});
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t newline = text.find('\n', line_start);
    size_t line_end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(line_start, line_end - line_start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    int indent = Indent(line);
    std::string_view body = indent < 0 ? std::string_view() : line.substr(indent);
    if (in_fence) {
      size_t run = RunLength(body, fence_char);
      if (indent >= 0 && run >= fence_length && StripBlanks(body.substr(run)).empty()) {
        outline.fences.emplace_back(fence_start, line_end);
        in_fence = false;
      }
    } else if (size_t run = indent < 0 ? 0 : std::max(RunLength(body, '`'), RunLength(body, '~'));
               run >= 3 && (body[0] == '~' || body.substr(run).find('`') == std::string::npos)) {
      in_fence = true;
      fence_char = body[0];
      fence_length = run;
      fence_start = line_start;
    } else {
      std::string title;
      int level = ParseHeading(line, &title);
      if (level > 0 && level <= max_heading_level) {
        while (!path.empty() && path.back().first >= level) path.pop_back();
        path.emplace_back(level, std::move(title));
        Json headings = Json::MakeArray();
        for (const auto& [unused, heading] : path) headings.push_back(heading);
        if (outline.sections.back().begin == line_start) outline.sections.pop_back();
        outline.sections.push_back({line_start, std::move(headings)});
      }
    }
    line_start = line_end + 1;
  }
  if (in_fence) outline.fences.emplace_back(fence_start, text.size());  // Unclosed: to the end.
  return outline;
}

}  // namespace

MarkdownSplitter::MarkdownSplitter(MarkdownSplitterOptions options, RecursiveCharacterSplitter body)
    : options_(std::move(options)), body_(std::move(body)) {}

absl::StatusOr<MarkdownSplitter> MarkdownSplitter::Create(MarkdownSplitterOptions options) {
  if (options.max_heading_level < 1 || options.max_heading_level > 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_heading_level must be in [1, 6], got ", options.max_heading_level));
  }
  SplitterOptions body;
  body.chunk_size = options.chunk_size;
  body.chunk_overlap = options.chunk_overlap;
  body.length_unit = options.length_unit;
  body.length_function = options.length_function;
  body.strip_whitespace = options.strip_whitespace;
  body.hard_limit = options.hard_limit;
  LLMKIT_ASSIGN_OR_RETURN(RecursiveCharacterSplitter splitter,
                          RecursiveCharacterSplitter::FromLanguage("markdown", std::move(body)));
  return MarkdownSplitter(std::move(options), std::move(splitter));
}

absl::StatusOr<std::vector<Chunk>> MarkdownSplitter::Split(std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(text));
  Outline outline = ParseOutline(text, options_.max_heading_level);
  // A fenced block that fits in a chunk is never cut; a longer one is cut like any text.
  std::vector<std::pair<size_t, size_t>> protected_ranges;
  for (const auto& [begin, end] : outline.fences) {
    if (body_.Measure(text.substr(begin, end - begin)) <= options_.chunk_size) {
      protected_ranges.emplace_back(begin, end);
    }
  }
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < outline.sections.size(); ++i) {
    size_t begin = outline.sections[i].begin;
    size_t end = i + 1 < outline.sections.size() ? outline.sections[i + 1].begin : text.size();
    Json metadata = Json::MakeObject();
    metadata.Set("headings", outline.sections[i].headings);
    LLMKIT_RETURN_IF_ERROR(body_.SplitRange(text, begin, end, protected_ranges, metadata, &chunks));
  }
  return chunks;
}

}  // namespace llmkit
