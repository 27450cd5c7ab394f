// Fuzz target: random bytes and options through both chunkers. Invalid UTF-8 must be an error,
// valid input must give chunks whose offsets hold; nothing may crash or hang.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llmkit/chunker.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  llmkit::SplitterOptions options;
  options.chunk_size = 1 + data[0] % 64;
  options.chunk_overlap = data[1] % options.chunk_size;
  options.keep_separator = static_cast<llmkit::KeepSeparator>(data[2] % 3);
  options.length_unit = static_cast<llmkit::LengthUnit>((data[2] >> 2) % 3);
  options.hard_limit = (data[3] & 1) != 0;
  options.strip_whitespace = (data[3] & 2) != 0;
  if (data[3] & 4) {
    options.separators = {"[.!?] ", "\\n+", ""};
    options.is_separator_regex = true;
  }
  std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);
  auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
  if (!splitter.ok()) __builtin_trap();
  auto chunks = splitter->Split(text);
  if (chunks.ok()) {
    for (const llmkit::Chunk& chunk : *chunks) {
      if (chunk.end > text.size() ||
          text.substr(chunk.begin, chunk.end - chunk.begin) != chunk.text) {
        __builtin_trap();
      }
    }
  } else if (chunks.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  llmkit::MarkdownSplitterOptions markdown;
  markdown.chunk_size = options.chunk_size;
  markdown.chunk_overlap = options.chunk_overlap;
  markdown.hard_limit = options.hard_limit;
  auto markdown_chunks = llmkit::MarkdownSplitter::Create(markdown)->Split(text);
  if (markdown_chunks.ok()) {
    for (const llmkit::Chunk& chunk : *markdown_chunks) {
      if (text.substr(chunk.begin, chunk.end - chunk.begin) != chunk.text) __builtin_trap();
    }
  }
  return 0;
}
