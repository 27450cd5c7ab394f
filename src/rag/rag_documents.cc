// How the pipeline cuts documents: the splitter for each kind of file, line numbers of chunks,
// the default file set and the reserved metadata names.

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"
#include "rag/rag_impl.h"
#include "unicode/utf8.h"

namespace llmkit::internal {
namespace {

struct Suffix {
  const char* suffix;
  const char* language;
};

// Longest suffixes first where one ends another (".rst.txt" before ".txt").
constexpr Suffix kSuffixes[] = {
    {".rst.txt", "rst"}, {".md", "markdown"}, {".markdown", "markdown"},
    {".rst", "rst"},     {".py", "python"},   {".c", "c"},
    {".h", "cpp"},       {".cc", "cpp"},      {".cpp", "cpp"},
    {".cxx", "cpp"},     {".hpp", "cpp"},     {".hh", "cpp"},
    {".go", "go"},       {".java", "java"},   {".js", "js"},
    {".mjs", "js"},      {".ts", "ts"},       {".tsx", "ts"},
    {".php", "php"},     {".proto", "proto"}, {".rb", "ruby"},
    {".rs", "rust"},     {".scala", "scala"}, {".swift", "swift"},
    {".tex", "latex"},   {".html", "html"},   {".htm", "html"},
    {".sol", "sol"},
};

}  // namespace

std::string LanguageForPath(std::string_view path) {
  for (const Suffix& s : kSuffixes) {
    if (absl::EndsWith(ToAbsl(path), s.suffix)) return s.language;
  }
  return "";
}

const std::vector<std::string>& DefaultExtensions() {
  static const auto* extensions = [] {
    auto* out = new std::vector<std::string>{".txt",   ".text", ".yaml", ".yml", ".toml",
                                             ".cmake", ".sh",   ".cfg",  ".ini"};
    for (const Suffix& s : kSuffixes) out->push_back(s.suffix);
    return out;
  }();
  return *extensions;
}

absl::StatusOr<DocumentSplitter> DocumentSplitter::Create(size_t chunk_size, size_t chunk_overlap) {
  DocumentSplitter out;
  SplitterOptions options;
  options.chunk_size = chunk_size;
  options.chunk_overlap = chunk_overlap;
  LLMKIT_ASSIGN_OR_RETURN(RecursiveCharacterSplitter plain,
                          RecursiveCharacterSplitter::Create(options));
  out.plain_ = std::make_shared<const RecursiveCharacterSplitter>(std::move(plain));
  MarkdownSplitterOptions markdown_options;
  markdown_options.chunk_size = chunk_size;
  markdown_options.chunk_overlap = chunk_overlap;
  LLMKIT_ASSIGN_OR_RETURN(MarkdownSplitter markdown, MarkdownSplitter::Create(markdown_options));
  out.markdown_ = std::make_shared<const MarkdownSplitter>(std::move(markdown));
  for (const Suffix& s : kSuffixes) {
    const std::string language = s.language;
    if (language == "markdown" || out.languages_.contains(language)) continue;
    LLMKIT_ASSIGN_OR_RETURN(RecursiveCharacterSplitter splitter,
                            RecursiveCharacterSplitter::FromLanguage(language, options));
    out.languages_[language] =
        std::make_shared<const RecursiveCharacterSplitter>(std::move(splitter));
  }
  return out;
}

absl::StatusOr<std::vector<Chunk>> DocumentSplitter::Split(std::string_view path,
                                                           std::string_view text) const {
  const std::string language = LanguageForPath(path);
  if (language == "markdown") return markdown_->Split(text);
  auto it = languages_.find(language);
  return it == languages_.end() ? plain_->Split(text) : it->second->Split(text);
}

LineIndex::LineIndex(std::string_view text) : text_(text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') newlines_.push_back(i);
  }
  size_t code_points = 0;
  for (size_t block = 0; block < text.size(); block += kBlock) {
    block_code_points_.push_back(code_points);
    code_points += CountCodePoints(text.substr(block, kBlock));
  }
}

size_t LineIndex::CodePointsBefore(size_t offset) const {
  offset = std::min(offset, text_.size());
  if (offset == 0) return 0;
  const size_t block = (offset - 1) / kBlock;
  return block_code_points_[block] +
         CountCodePoints(text_.substr(block * kBlock, offset - block * kBlock));
}

int LineIndex::LineOf(size_t offset) const {
  return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), offset) -
                              newlines_.begin());
}

bool IsReservedMetadataKey(std::string_view key) {
  static constexpr std::string_view kReserved[] = {
      "doc_id",     "path",     "chunk",      "doc_chunks", "begin",   "end",
      "line_start", "line_end", "doc_sha256", "char_start", "char_end"};
  return std::find(std::begin(kReserved), std::end(kReserved), key) != std::end(kReserved);
}

}  // namespace llmkit::internal

namespace llmkit {

absl::StatusOr<DocumentChunks> SplitDocument(std::string_view path, std::string_view text,
                                             size_t chunk_size, size_t chunk_overlap) {
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(text));
  LLMKIT_ASSIGN_OR_RETURN(internal::DocumentSplitter splitter,
                          internal::DocumentSplitter::Create(chunk_size, chunk_overlap));
  LLMKIT_ASSIGN_OR_RETURN(std::vector<Chunk> chunks, splitter.Split(path, text));
  DocumentChunks out;
  out.splitter = internal::LanguageForPath(path);
  if (out.splitter.empty()) out.splitter = "text";
  const internal::LineIndex lines(text);
  out.chunks.reserve(chunks.size());
  for (Chunk& chunk : chunks) {
    DocumentChunk c;
    c.line_start = lines.LineOf(chunk.begin);
    c.line_end = lines.LineOf(chunk.end == chunk.begin ? chunk.end : chunk.end - 1);
    c.chunk = std::move(chunk);
    out.chunks.push_back(std::move(c));
  }
  return out;
}

}  // namespace llmkit
