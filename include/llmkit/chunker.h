// Chunkers: split documents into pieces sized for embedding and retrieval.
//
// `RecursiveCharacterSplitter` is LangChain's RecursiveCharacterTextSplitter, chunk for chunk
// (checked against LangChain.js by a differential test), with exact byte offsets on every chunk.
// `MarkdownSplitter` cuts at headings first, records the heading path of every chunk and keeps
// fenced code blocks whole.
//
//   llmkit::SplitterOptions options;
//   options.chunk_size = 1000;
//   options.chunk_overlap = 200;
//   auto splitter = llmkit::RecursiveCharacterSplitter::Create(options);
//   absl::StatusOr<std::vector<llmkit::Chunk>> chunks = splitter->Split(text);
//   // each chunk: text == text_of_input.substr(begin, end - begin)
//
// Errors: splitting returns kInvalidArgument when the input is not valid UTF-8 (the message and
// the payload kPayloadByteOffset name the first bad byte). No chunk boundary ever falls inside a
// UTF-8 sequence.

#ifndef LLMKIT_CHUNKER_H_
#define LLMKIT_CHUNKER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "llmkit/json.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

// One piece of a document. Invariant: `input.substr(begin, end - begin) == text`, where `input`
// is the exact string passed to Split.
struct Chunk {
  std::string text;
  size_t begin = 0;  // Byte offset of the first byte of `text` in the input.
  size_t end = 0;    // Byte offset one past the last byte.
  Json metadata;     // Null, or an object (MarkdownSplitter: {"headings": [...]}).
};

// Where a separator goes when the text is cut at it.
enum class KeepSeparator {
  kNone,   // Dropped; a chunk still spans the input between its first and last piece.
  kStart,  // Starts the next piece (LangChain's default, `keep_separator=True`).
  kEnd,    // Ends the previous piece (`keep_separator="end"`).
};

// What a length counts.
enum class LengthUnit {
  kCodePoints,  // Unicode code points, as Python's len(str) and Python LangChain.
  kUtf16,       // UTF-16 code units, as JavaScript's String.length and LangChain.js.
  kBytes,       // UTF-8 bytes.
};

// A caller-supplied length, e.g. a token count. It must be thread-safe if the splitter is
// shared between threads, and must not throw.
using LengthFunction = std::function<size_t(std::string_view)>;

// Returns the length of `text` in `unit`. REQUIRES: `text` is valid UTF-8.
size_t TextLength(std::string_view text, LengthUnit unit);

// A length function counting tokens of `tokenizer` (no id vector built; the splitters only pass
// valid UTF-8). Use it as SplitterOptions::length_function to size chunks in tokens.
LengthFunction TokenLength(std::shared_ptr<const Tokenizer> tokenizer);

// Returns OK if `text` is valid UTF-8, else kInvalidArgument naming the offset of the first bad
// byte (message and payload kPayloadByteOffset).
absl::Status ValidateUtf8(std::string_view text);

struct SplitterOptions {
  // Maximum length of a chunk, in `length_unit` (or `length_function`) units. Must be > 0.
  size_t chunk_size = 1000;
  // Length that adjacent chunks may share (LangChain's rule: whole pieces). Must be < chunk_size.
  size_t chunk_overlap = 200;
  // Tried in order: the first one found in a piece of text cuts it; pieces still too long are cut
  // with the following separators. "" cuts between code points.
  std::vector<std::string> separators = {"\n\n", "\n", " ", ""};
  KeepSeparator keep_separator = KeepSeparator::kStart;
  // Separators are RE2 regular expressions (https://github.com/google/re2/wiki/Syntax; no
  // look-around) instead of literal text.
  bool is_separator_regex = false;
  // Trim whitespace (JavaScript's String.trim set) from both ends of every chunk.
  bool strip_whitespace = true;
  LengthUnit length_unit = LengthUnit::kCodePoints;
  // When set, measures lengths instead of `length_unit`.
  LengthFunction length_function;
  // When true no chunk is longer than chunk_size: chunks LangChain would leave oversized are
  // cut further between code points. kInvalidArgument if one code point alone is longer. The
  // chunk after a re-cut one keeps LangChain's overlap, so it may begin before the last piece
  // of the re-cut chunk (ends still never decrease).
  bool hard_limit = false;
};

// LangChain's recursive character splitting with exact offsets.
//
// Compared with LangChain.js 1.0.2 the chunk texts are identical when lengths are counted the
// same way (LengthUnit::kUtf16) and keep_separator is kStart, the default. Deliberate
// differences, each a LangChain bug: the "" separator cuts between code points, never inside a
// surrogate pair; with KeepSeparator::kNone a chunk is the input span from its first to its last
// piece (LangChain re-joins pieces with one separator, so its text may not occur in the input).
//
// Thread safety: a RecursiveCharacterSplitter is immutable after Create; multiple threads can
// call Split concurrently (a custom length_function must then be thread-safe). Copies share the
// compiled separators.
class RecursiveCharacterSplitter {
 public:
  // Errors: kInvalidArgument if chunk_size == 0, chunk_overlap >= chunk_size, separators is
  // empty, or a regex separator does not compile.
  static absl::StatusOr<RecursiveCharacterSplitter> Create(SplitterOptions options = {});

  // A splitter with the separators of LangChain's `fromLanguage(language)`; `options.separators`
  // is replaced. Languages: cpp, c, go, java, js, ts, php, proto, python, rst, ruby, rust, scala,
  // swift, markdown, latex, html, sol.
  // Errors: kInvalidArgument for an unknown language, and as Create.
  static absl::StatusOr<RecursiveCharacterSplitter> FromLanguage(std::string_view language,
                                                                 SplitterOptions options = {});

  // The separators of a language preset. Errors: kInvalidArgument for an unknown language.
  static absl::StatusOr<std::vector<std::string>> SeparatorsForLanguage(std::string_view language);

  // Returns the chunks of `text` in order, each with its byte offsets; metadata is null.
  // Errors: kInvalidArgument (invalid UTF-8, or hard_limit with a code point longer than
  // chunk_size), naming the byte offset.
  absl::StatusOr<std::vector<Chunk>> Split(std::string_view text) const;

  // As Split, returning only the texts.
  absl::StatusOr<std::vector<std::string>> SplitText(std::string_view text) const;

  // As SplitText, returning views into `text` instead of copies (the fastest form: no chunk is
  // copied). The views are valid while `text` is; each view's offset is `view.data() -
  // text.data()`.
  absl::StatusOr<std::vector<std::string_view>> SplitViews(std::string_view text) const;

  const SplitterOptions& options() const;

 private:
  struct State;
  explicit RecursiveCharacterSplitter(std::shared_ptr<const State> state);

  // Appends the chunks of text[begin, end) to `out`, each with `metadata`. No cut falls strictly
  // inside one of the sorted, disjoint `protected_ranges` ([first, second) byte ranges).
  // REQUIRES: `text` is valid UTF-8; begin and end are code point boundaries.
  absl::Status SplitRange(std::string_view text, size_t begin, size_t end,
                          const std::vector<std::pair<size_t, size_t>>& protected_ranges,
                          const Json& metadata, std::vector<Chunk>* out) const;
  // As SplitRange, appending [begin, end) byte spans of `text` instead of chunks.
  absl::Status SplitSpans(std::string_view text, size_t begin, size_t end,
                          const std::vector<std::pair<size_t, size_t>>& protected_ranges,
                          std::vector<std::pair<size_t, size_t>>* out) const;

  // The length of `text` as this splitter counts it (length_function, else length_unit).
  size_t Measure(std::string_view text) const;

  std::shared_ptr<const State> state_;
  friend class MarkdownSplitter;
};

struct MarkdownSplitterOptions {
  size_t chunk_size = 1000;    // As SplitterOptions.
  size_t chunk_overlap = 200;  // As SplitterOptions; overlap never crosses a heading.
  LengthUnit length_unit = LengthUnit::kCodePoints;
  LengthFunction length_function;
  bool strip_whitespace = true;
  bool hard_limit = false;
  // Headings of this level or shallower (1 = "#") start a new section.
  int max_heading_level = 6;
};

// Splits Markdown at ATX headings (`#` to `######`) first, then sizes each section like the
// recursive splitter with LangChain's Markdown separators. Every chunk's metadata is
// {"headings": ["Installing", "From source"]}: the path of headings above it. A `#` line inside a
// fenced code block (``` or ~~~) is text, and no cut falls inside a fenced block unless the block
// alone is longer than chunk_size. Chunks never span two sections.
//
// Thread safety: as RecursiveCharacterSplitter.
class MarkdownSplitter {
 public:
  // Errors: kInvalidArgument as RecursiveCharacterSplitter::Create, or a max_heading_level
  // outside [1, 6].
  static absl::StatusOr<MarkdownSplitter> Create(MarkdownSplitterOptions options = {});

  // Errors: as RecursiveCharacterSplitter::Split.
  absl::StatusOr<std::vector<Chunk>> Split(std::string_view text) const;

  const MarkdownSplitterOptions& options() const { return options_; }

 private:
  MarkdownSplitter(MarkdownSplitterOptions options, RecursiveCharacterSplitter body);
  MarkdownSplitterOptions options_;
  RecursiveCharacterSplitter body_;
};

struct TokenSplitterOptions {
  size_t chunk_size = 512;    // Tokens per window. Must be > 0.
  size_t chunk_overlap = 50;  // Tokens shared by adjacent windows. Must be < chunk_size.
};

// Windows of chunk_size tokens, each starting chunk_size - chunk_overlap tokens after the
// previous one (LangChain's TokenTextSplitter). Text is encoded with EncodeOrdinary (special
// token text is plain text). Where a window boundary falls inside a character (byte-level BPE
// cuts some characters into several tokens), it moves back to the start of that character, so
// no chunk carries a broken character and none is lost; a chunk can then hold a few bytes more
// or less than its window. Chunks are not trimmed; empty ones are skipped.
class TokenSplitter {
 public:
  // Errors: kInvalidArgument for a null tokenizer, chunk_size == 0 or chunk_overlap >=
  // chunk_size.
  static absl::StatusOr<TokenSplitter> Create(std::shared_ptr<const Tokenizer> tokenizer,
                                              TokenSplitterOptions options = {});

  // Errors: kInvalidArgument for invalid UTF-8 (with the byte offset).
  absl::StatusOr<std::vector<Chunk>> Split(std::string_view text) const;

  const TokenSplitterOptions& options() const { return options_; }

 private:
  TokenSplitter(std::shared_ptr<const Tokenizer> tokenizer, TokenSplitterOptions options)
      : tokenizer_(std::move(tokenizer)), options_(options) {}
  std::shared_ptr<const Tokenizer> tokenizer_;
  TokenSplitterOptions options_;
};

struct SentenceSplitterOptions {
  size_t chunk_size = 512;    // Maximum tokens per chunk (the chunk's own text, encoded). > 0.
  size_t chunk_overlap = 50;  // At most this many tokens of whole units repeated. < chunk_size.
};

// Token-sized chunks that end at the coarsest boundary that fits: paragraphs (blank lines), then
// sentences (after . ! ? and their closing quotes or brackets, before whitespace; after 。！？;
// at line ends), then words (whitespace), then characters. Adjacent chunks share whole trailing
// units of up to chunk_overlap tokens. Every chunk is trimmed of surrounding whitespace, and its
// text encodes to at most chunk_size tokens.
class SentenceSplitter {
 public:
  // Errors: as TokenSplitter::Create.
  static absl::StatusOr<SentenceSplitter> Create(std::shared_ptr<const Tokenizer> tokenizer,
                                                 SentenceSplitterOptions options = {});

  // Errors: kInvalidArgument for invalid UTF-8, or a single character that alone needs more
  // than chunk_size tokens (possible only when chunk_size < 4), naming the byte offset.
  absl::StatusOr<std::vector<Chunk>> Split(std::string_view text) const;

  const SentenceSplitterOptions& options() const { return options_; }

 private:
  SentenceSplitter(std::shared_ptr<const Tokenizer> tokenizer, SentenceSplitterOptions options)
      : tokenizer_(std::move(tokenizer)), options_(options) {}
  std::shared_ptr<const Tokenizer> tokenizer_;
  SentenceSplitterOptions options_;
};

}  // namespace llmkit

#endif  // LLMKIT_CHUNKER_H_
