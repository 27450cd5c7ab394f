// Split a document into overlapping chunks with exact byte offsets.
#include <cstdio>
#include <string>

#include "llmkit/chunker.h"

int main() {
  const std::string document =
      "llmkit splits documents for retrieval.\n\n"
      "Each chunk knows where it came from: begin and end are byte offsets into the input, "
      "so a citation can point at the exact passage.\n\n"
      "Chunks overlap a little, so a sentence cut at a boundary is still found.";

  llmkit::SplitterOptions options;
  options.chunk_size = 80;     // code points
  options.chunk_overlap = 20;  // shared between neighbours, in whole pieces
  absl::StatusOr<llmkit::RecursiveCharacterSplitter> splitter =
      llmkit::RecursiveCharacterSplitter::Create(options);
  if (!splitter.ok()) return 1;

  absl::StatusOr<std::vector<llmkit::Chunk>> chunks = splitter->Split(document);
  if (!chunks.ok()) {
    std::fprintf(stderr, "%s\n", std::string(chunks.status().message()).c_str());
    return 1;
  }
  for (const llmkit::Chunk& chunk : *chunks) {
    // The invariant every chunk keeps:
    if (document.substr(chunk.begin, chunk.end - chunk.begin) != chunk.text) return 1;
    std::printf("[%zu, %zu) %s\n", chunk.begin, chunk.end, chunk.text.c_str());
  }
  return 0;
}
