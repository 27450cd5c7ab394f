// Split Markdown at headings; every chunk carries its heading path.
#include <cstdio>
#include <string>

#include "llmkit/chunker.h"

int main() {
  const std::string markdown =
      "# Installing\n\nRun the installer.\n\n"
      "## From source\n\n```sh\n# this is a shell comment, not a heading\nmake install\n```\n";

  llmkit::MarkdownSplitterOptions options;
  options.chunk_size = 500;
  options.chunk_overlap = 0;
  auto splitter = llmkit::MarkdownSplitter::Create(options);
  if (!splitter.ok()) return 1;
  auto chunks = splitter->Split(markdown);
  if (!chunks.ok()) return 1;
  for (const llmkit::Chunk& chunk : *chunks) {
    // metadata is {"headings": ["Installing", "From source"]}
    std::printf("%s\n---\n%s\n\n", chunk.metadata.Dump().c_str(), chunk.text.c_str());
  }
  return chunks->size() == 2 ? 0 : 1;
}
