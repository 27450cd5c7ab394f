// llmkit chunk FILE and llmkit tokens FILE.

#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "llmkit/chunker.h"
#include "llmkit/json.h"
#include "llmkit/rag.h"
#include "llmkit/tokenizer.h"
#include "read_file.h"

namespace llmkit::cli {
namespace {

const CommandSpec kChunkSpec = {
    "chunk",
    "FILE [options]",
    "Prints the chunks `llmkit index` makes of FILE: number, byte offsets, line range, length in\n"
    "code points, and the text. The splitter follows the file type (Markdown by headings, .rst\n"
    "and source files by their structure, other text by paragraphs).",
    {"FILE"},
    {
        {"--size", "", "N", "chunk size in code points (default 512)"},
        {"--overlap", "", "N", "overlap in code points (default 64)"},
        {"--json", "", "", "print JSON instead of text"},
    }};

const CommandSpec kTokensSpec = {
    "tokens",
    "FILE [options]",
    "Counts the tokens of FILE with a tiktoken encoding (ids identical to tiktoken's). Rank files\n"
    "are read from $LLMKIT_CACHE_DIR or tiktoken's cache; --download fetches the official file.",
    {"FILE"},
    {
        {"--encoding", "-e", "NAME", "o200k_base (default), cl100k_base, p50k_base, r50k_base"},
        {"--model", "-m", "NAME", "the encoding of this model (e.g. gpt-4o) instead"},
        {"--ids", "", "", "also print the token ids"},
        {"--download", "", "", "download the rank file when no cache has it"},
    }};

// The file, or the exit status after printing why not.
std::optional<std::string> ReadText(const char* command, const std::string& path, int* exit) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    std::fprintf(stderr, "llmkit %s: %s\n", command, std::string(text.status().message()).c_str());
    *exit = kExitFailure;
    return std::nullopt;
  }
  if (absl::Status utf8 = ValidateUtf8(*text); !utf8.ok()) {
    std::fprintf(stderr, "llmkit %s: %s: %s\n", command, path.c_str(),
                 std::string(utf8.message()).c_str());
    *exit = kExitFailure;
    return std::nullopt;
  }
  return *std::move(text);
}

}  // namespace

int RunChunk(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kChunkSpec, argc, argv, 2, &exit);
  if (!args) return exit;
  std::optional<long> size = args->Number("--size", 512, 1, 1 << 24);
  std::optional<long> overlap = args->Number("--overlap", 64, 0, 1 << 24);
  if (!size || !overlap) return kExitUsage;
  if (*overlap >= *size) {
    std::fprintf(stderr, "llmkit chunk: --overlap (%ld) must be below --size (%ld)\n", *overlap,
                 *size);
    return kExitUsage;
  }
  const std::string path = args->positional(0);
  std::optional<std::string> text = ReadText("chunk", path, &exit);
  if (!text) return exit;
  absl::StatusOr<DocumentChunks> split =
      SplitDocument(path, *text, static_cast<size_t>(*size), static_cast<size_t>(*overlap));
  if (!split.ok()) {
    std::fprintf(stderr, "llmkit chunk: %s\n", std::string(split.status().message()).c_str());
    return kExitFailure;
  }
  const std::vector<DocumentChunk>* chunks = &split->chunks;
  Json out = Json::MakeArray();
  if (!args->Has("--json")) {
    std::printf("%s: %zu bytes, %zu chunks (%s splitter, size %ld, overlap %ld)\n", path.c_str(),
                text->size(), chunks->size(), split->splitter.c_str(), *size, *overlap);
  }
  for (size_t i = 0; i < chunks->size(); ++i) {
    const Chunk& c = (*chunks)[i].chunk;
    const int first = (*chunks)[i].line_start, last = (*chunks)[i].line_end;
    const size_t length = TextLength(c.text, LengthUnit::kCodePoints);
    if (args->Has("--json")) {
      Json j = Json::MakeObject();
      j.Set("chunk", i);
      j.Set("begin", c.begin);
      j.Set("end", c.end);
      j.Set("line_start", first);
      j.Set("line_end", last);
      j.Set("length", length);
      j.Set("text", c.text);
      if (!c.metadata.is_null()) j.Set("metadata", c.metadata);
      out.push_back(std::move(j));
      continue;
    }
    std::printf("\n--- chunk %zu  bytes %zu-%zu  lines %d-%d  %zu code points\n%s\n", i, c.begin,
                c.end, first, last, length, c.text.c_str());
  }
  if (args->Has("--json")) std::printf("%s\n", out.Dump({.indent = 2}).c_str());
  return kExitOk;
}

int RunTokens(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kTokensSpec, argc, argv, 2, &exit);
  if (!args) return exit;
  std::optional<std::string> text = ReadText("tokens", args->positional(0), &exit);
  if (!text) return exit;
  TokenizerLoadOptions load;
  load.allow_download = args->Has("--download");
  absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer =
      args->Has("--model") ? Tokenizer::ForModel(args->Get("--model"), load)
                           : Tokenizer::ForEncoding(args->Get("--encoding", "o200k_base"), load);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "llmkit tokens: %s\n", std::string(tokenizer.status().message()).c_str());
    return kExitFailure;
  }
  absl::StatusOr<std::vector<Token>> ids = (*tokenizer)->EncodeOrdinary(*text);
  if (!ids.ok()) {
    std::fprintf(stderr, "llmkit tokens: %s\n", std::string(ids.status().message()).c_str());
    return kExitFailure;
  }
  std::printf("%s: %zu tokens (%s), %zu bytes, %.2f bytes per token\n", args->positional(0).c_str(),
              ids->size(), (*tokenizer)->name().c_str(), text->size(),
              ids->empty() ? 0.0 : double(text->size()) / ids->size());
  if (args->Has("--ids")) {
    for (size_t i = 0; i < ids->size(); ++i) std::printf(i == 0 ? "%u" : " %u", (*ids)[i]);
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace llmkit::cli
