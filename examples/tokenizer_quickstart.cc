// Counts, encodes and decodes with a tiktoken-compatible encoding, then chunks text in tokens.
// Rank files come from $LLMKIT_CACHE_DIR or tiktoken's cache (docs/tokenizer.md); this example
// never downloads.

#include <cstdio>
#include <string>

#include "llmkit/chunker.h"
#include "llmkit/tokenizer.h"

int main() {
  // [tokenizer]
  absl::StatusOr<std::shared_ptr<const llmkit::Tokenizer>> tokenizer =
      llmkit::Tokenizer::ForModel("gpt-4o");  // o200k_base
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return tokenizer.status().code() == absl::StatusCode::kNotFound ? 77 : 1;
  }
  const llmkit::Tokenizer& enc = **tokenizer;
  std::string text = "Token counts decide what fits in a context window.";
  absl::StatusOr<std::vector<llmkit::Token>> ids = enc.EncodeOrdinary(text);
  absl::StatusOr<size_t> count = enc.Count(text);  // Same number, no vector.
  absl::StatusOr<std::string> back = enc.Decode(*ids);
  std::printf("%zu tokens, round trip %s\n", *count, *back == text ? "exact" : "BROKEN");

  // A special token in the text is an error unless allowed, as in tiktoken.
  auto denied = enc.Encode("end<|endoftext|>");
  auto allowed = enc.Encode("end<|endoftext|>", llmkit::SpecialTokenPolicy::AllowAll());
  std::printf("denied: %s; allowed: last id %u\n", denied.ok() ? "no" : "yes", allowed->back());
  // [tokenizer]

  // [token-chunks]
  llmkit::SentenceSplitterOptions options;
  options.chunk_size = 16;
  options.chunk_overlap = 4;
  auto splitter = llmkit::SentenceSplitter::Create(*tokenizer, options);
  std::string doc =
      "Chunks end at sentences when they can. Each one fits in sixteen tokens. Offsets point "
      "into the original text, byte for byte.\n\nA new paragraph starts a new chunk.";
  absl::StatusOr<std::vector<llmkit::Chunk>> chunks = splitter->Split(doc);
  for (const llmkit::Chunk& chunk : *chunks) {
    std::printf("[%zu, %zu) %zu tokens: %s\n", chunk.begin, chunk.end,
                enc.CountValidUtf8(chunk.text), chunk.text.c_str());
  }
  // [token-chunks]
  return *back == text && !denied.ok() && allowed->back() == enc.eot_token() ? 0 : 1;
}
