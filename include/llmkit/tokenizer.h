// Byte-pair encoding tokenizer that gives exactly tiktoken's token ids for OpenAI's encodings
// (r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base).
//
// Loading. Rank files are the standard `.tiktoken` format ("<base64 token> <rank>" lines).
// `Tokenizer::ForEncoding(name)` looks, in order, in `options.cache_dir`, `$LLMKIT_CACHE_DIR`
// (`<dir>/<name>.tiktoken`), then tiktoken's cache (`$TIKTOKEN_CACHE_DIR`, else
// `$DATA_GYM_CACHE_DIR`, else `<tmp>/data-gym-cache`, file named by the SHA-1 of the official
// URL). A file found by name is checked against the SHA-256 OpenAI publishes. Only with
// `allow_download` does it fetch the official file (libcurl), check its SHA-256 and store it
// atomically in the first cache directory.
//
// Text. Encode and Count take UTF-8; invalid UTF-8 is kInvalidArgument naming the byte offset
// (tiktoken only accepts valid strings). Decode returns the exact bytes, which need not be
// valid UTF-8 for an arbitrary id sequence; DecodeLossy replaces invalid sequences with U+FFFD
// as Python's `bytes.decode("utf-8", "replace")` does.
//
// Threads. A Tokenizer is immutable after loading: every method is const and may be called from
// any number of threads at once. ForEncoding returns a process-wide shared instance per encoding.

#ifndef LLMKIT_TOKENIZER_H_
#define LLMKIT_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace llmkit {

using Token = uint32_t;

// How the text is cut into pieces before byte-pair merging (tiktoken's `pat_str`).
enum class PreSplit {
  kGpt2,    // r50k_base, p50k_base, p50k_edit
  kCl100k,  // cl100k_base
  kO200k,   // o200k_base
};

// Everything about an encoding except its ranks.
struct EncodingSpec {
  std::string name;
  PreSplit pre_split = PreSplit::kCl100k;
  std::vector<std::pair<std::string, Token>> special_tokens;
  std::string url;     // Where OpenAI publishes the rank file.
  std::string sha256;  // Hex SHA-256 of that file.
};

// The built-in encodings. Errors: kNotFound for an unknown name (the message lists the known).
absl::StatusOr<EncodingSpec> BuiltinEncoding(std::string_view name);

// The encoding a model uses, as tiktoken's `encoding_name_for_model` ("gpt-4o" → "o200k_base",
// "gpt-4-0613" → "cl100k_base", fine-tuned "ft:gpt-4o:..." too). Errors: kNotFound.
absl::StatusOr<std::string> EncodingNameForModel(std::string_view model);

struct TokenizerLoadOptions {
  // Searched before $LLMKIT_CACHE_DIR; where downloads are stored when set.
  std::string cache_dir;
  // Fetch the official rank file when no cache has it. Off by default: nothing touches the
  // network unless the caller asks.
  bool allow_download = false;
  // Replaces "https://openaipublic.blob.core.windows.net/encodings" (mirrors, tests). The
  // SHA-256 check still applies.
  std::string download_base_url;
  // CA bundle for the download; empty uses libcurl's default.
  std::string ca_path;
};

// Which special tokens Encode recognises. Mirrors tiktoken's `allowed_special` /
// `disallowed_special`: an allowed special token in the text becomes its id; a disallowed one is
// an error; any other is encoded as ordinary text.
struct SpecialTokenPolicy {
  bool allow_all = false;
  std::vector<std::string> allowed;
  // When true, every special token not allowed is disallowed (tiktoken's default "all").
  bool disallow_all = true;
  std::vector<std::string> disallowed;

  static SpecialTokenPolicy AllowAll() {
    SpecialTokenPolicy policy;
    policy.allow_all = true;
    return policy;
  }
  // Special tokens are plain text (what EncodeOrdinary does).
  static SpecialTokenPolicy AllowNone() {
    SpecialTokenPolicy policy;
    policy.disallow_all = false;
    return policy;
  }
};

class Tokenizer {
 public:
  // A built-in encoding by name, from the caches (see the top of this file) or, when allowed,
  // downloaded. Errors: kNotFound (unknown name, or no cached file and no download allowed: the
  // message says where it looked), kDataLoss (checksum mismatch or malformed file, naming the
  // path), kUnavailable (download failed).
  static absl::StatusOr<std::shared_ptr<const Tokenizer>> ForEncoding(
      std::string_view name, const TokenizerLoadOptions& options = {});

  // ForEncoding(EncodingNameForModel(model)).
  static absl::StatusOr<std::shared_ptr<const Tokenizer>> ForModel(
      std::string_view model, const TokenizerLoadOptions& options = {});

  // Loads a `.tiktoken` rank file from `path` for `spec`; the SHA-256 is checked only when
  // `spec.sha256` is set. Errors: kNotFound / kPermissionDenied for the file, kDataLoss for bad
  // content (line number given) or checksum mismatch.
  static absl::StatusOr<std::shared_ptr<const Tokenizer>> FromFile(const std::string& path,
                                                                   EncodingSpec spec);

  // As FromFile, from the file's bytes.
  static absl::StatusOr<std::shared_ptr<const Tokenizer>> FromRanks(std::string_view ranks,
                                                                    EncodingSpec spec);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  const std::string& name() const;
  // One more than the largest id (ranks and special tokens).
  size_t n_vocab() const;
  // The id of <|endoftext|>.
  Token eot_token() const;
  const std::vector<std::pair<std::string, Token>>& special_tokens() const;

  // tiktoken's `encode_ordinary`: special tokens are plain text.
  absl::StatusOr<std::vector<Token>> EncodeOrdinary(std::string_view text) const;

  // tiktoken's `encode`. Errors: kInvalidArgument for a disallowed special token in the text
  // (its byte offset in the payload) or invalid UTF-8.
  absl::StatusOr<std::vector<Token>> Encode(
      std::string_view text, const SpecialTokenPolicy& policy = SpecialTokenPolicy{}) const;

  // EncodeOrdinary, with `offsets[i]` = the byte offset where token i starts. A token may start
  // inside a multi-byte character (byte-level BPE).
  absl::Status EncodeOrdinaryWithOffsets(std::string_view text, std::vector<Token>* tokens,
                                         std::vector<size_t>* offsets) const;

  // EncodeOrdinary(text).size() without building the id vector.
  absl::StatusOr<size_t> Count(std::string_view text) const;

  // Count, stopping once the count passes `limit`: exact when <= limit, else limit + 1.
  absl::StatusOr<size_t> CountUpTo(std::string_view text, size_t limit) const;

  // EncodeOrdinary / Encode of each text on up to `num_threads` threads (0: hardware
  // concurrency). The first error stops the batch.
  absl::StatusOr<std::vector<std::vector<Token>>> EncodeOrdinaryBatch(
      absl::Span<const std::string_view> texts, int num_threads = 0) const;
  absl::StatusOr<std::vector<std::vector<Token>>> EncodeBatch(
      absl::Span<const std::string_view> texts, const SpecialTokenPolicy& policy = {},
      int num_threads = 0) const;

  // The bytes of the tokens. Errors: kInvalidArgument for an id that is not a token.
  absl::StatusOr<std::string> Decode(absl::Span<const Token> tokens) const;
  // Decode, then invalid UTF-8 replaced by U+FFFD (one per maximal invalid subpart, as Python).
  absl::StatusOr<std::string> DecodeLossy(absl::Span<const Token> tokens) const;
  // The bytes of one token. Errors: kInvalidArgument for an unknown id.
  absl::StatusOr<std::string_view> TokenBytes(Token token) const;

  // Count (CountUpTo when `limit` is given) for text already known to be valid UTF-8, without
  // checking it again (the chunkers' length function). REQUIRES: `text` is valid UTF-8.
  size_t CountValidUtf8(std::string_view text, size_t limit = SIZE_MAX) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Replaces each maximal invalid UTF-8 subpart with U+FFFD (Python's errors="replace").
std::string Utf8Lossy(std::string_view bytes);

}  // namespace llmkit

#endif  // LLMKIT_TOKENIZER_H_
