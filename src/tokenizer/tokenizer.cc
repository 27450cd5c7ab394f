// Tokenizer: rank file parsing, encoding (pre-split, whole-piece lookup, byte-pair merge),
// special tokens, counting, batches and decoding.

#include "llmkit/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/sha256.h"
#include "llmkit/status.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_split.h"
#include "unicode/utf8.h"

namespace llmkit {

struct Tokenizer::Impl {
  EncodingSpec spec;
  internal::RankTable ranks;
  std::vector<std::pair<std::string, Token>> specials;  // As in spec.
  size_t n_vocab = 0;
  Token eot = internal::kNoRank;

  // Calls emit(token, byte_offset) for each token of `text`, an ordinary segment that starts at
  // `base` in the caller's text. `emit` returns false to stop.
  template <typename Emit>
  bool EncodeSegment(std::string_view text, size_t base, Emit&& emit) const {
    // Looked up once: a thread_local inside the loop costs a TLS access per piece.
    thread_local std::vector<internal::Part> parts;
    thread_local internal::MergeCache cache;
    std::vector<internal::Part>& scratch = parts;
    internal::MergeCache& merged = cache;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = internal::NextPiece(spec.pre_split, text, pos);
      std::string_view piece = text.substr(pos, end - pos);
      Token rank = ranks.Find(piece);
      if (rank != internal::kNoRank) {
        if (!emit(rank, base + pos)) return false;
      } else if (const auto* entry = piece.size() <= internal::MergeCache::kMaxPiece
                                         ? merged.Merge(ranks, piece, &scratch)
                                         : nullptr) {
        for (size_t i = 0; i < entry->count; ++i) {
          if (!emit(entry->tokens[i], base + pos + entry->starts[i])) return false;
        }
      } else {
        const std::vector<internal::Part>& all = piece.size() <= internal::MergeCache::kMaxPiece
                                                     ? scratch
                                                     : merged.MergeLong(ranks, piece, &scratch);
        for (const internal::Part& part : all) {
          if (!emit(part.token, base + pos + part.start)) return false;
        }
      }
      pos = end;
    }
    return true;
  }

  // Counts the tokens of an ordinary segment, stopping once the count exceeds `limit`: exact
  // when <= limit, else limit + 1.
  size_t CountSegment(std::string_view text, size_t limit) const {
    size_t count = 0;
    thread_local std::vector<internal::Part> parts;
    thread_local internal::MergeCache cache;
    std::vector<internal::Part>& scratch = parts;
    internal::MergeCache& merged = cache;
    size_t pos = 0;
    while (pos < text.size() && count <= limit) {
      size_t end = internal::NextPiece(spec.pre_split, text, pos);
      std::string_view piece = text.substr(pos, end - pos);
      if (ranks.Find(piece) != internal::kNoRank) {
        ++count;
      } else if (piece.size() > internal::MergeCache::kMaxPiece) {
        count += merged.MergeLong(ranks, piece, &scratch).size();
      } else if (const auto* entry = merged.Merge(ranks, piece, &scratch)) {
        count += entry->count;
      } else {
        count += scratch.size();
      }
      pos = end;
    }
    return count > limit ? limit + 1 : count;
  }

  // Parses a .tiktoken rank file (spec gives the name for errors and the special tokens).
  static absl::StatusOr<std::unique_ptr<Impl>> Parse(std::string_view ranks,
                                                     const EncodingSpec& spec);

  absl::Status EncodeWithPolicy(std::string_view text, const SpecialTokenPolicy& policy,
                                std::vector<Token>* out) const;
};

namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with '=' padding. Returns false on a bad character or length.
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '=') {
      if (i + 2 < in.size()) return false;
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer::Impl>> Tokenizer::Impl::Parse(std::string_view ranks,
                                                                        const EncodingSpec& spec) {
  auto impl = std::make_unique<Impl>();
  // Lines are about (4/3 * token bytes + 8) long: reserve from the line count.
  size_t lines = static_cast<size_t>(std::count(ranks.begin(), ranks.end(), '\n')) + 1;
  impl->ranks.Reserve(lines, ranks.size());
  std::string bytes;
  size_t line_number = 0;
  size_t pos = 0;
  Token max_token = 0;
  while (pos < ranks.size()) {
    size_t eol = ranks.find('\n', pos);
    if (eol == std::string_view::npos) eol = ranks.size();
    std::string_view line = ranks.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    auto bad = [&](std::string_view why) {
      return absl::DataLossError(absl::StrCat("rank file for ", spec.name, ", line ", line_number,
                                              ": ", internal::ToAbsl(why)));
    };
    if (space == std::string_view::npos) return bad("expected \"<base64> <rank>\"");
    if (!DecodeBase64(line.substr(0, space), &bytes) || bytes.empty()) {
      return bad("bad base64 token");
    }
    std::string_view digits = line.substr(space + 1);
    if (digits.empty() || digits.size() > 9) return bad("bad rank");
    Token rank = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return bad("bad rank");
      rank = rank * 10 + static_cast<Token>(c - '0');
    }
    if (rank >= internal::RankTable::kMaxRank) {
      return bad(absl::StrCat("rank ", rank, " is too large (ranks are below ",
                              internal::RankTable::kMaxRank, ")"));
    }
    if (!impl->ranks.Add(bytes, rank)) return bad("duplicate token or rank");
    max_token = std::max(max_token, rank);
  }
  if (impl->ranks.size() == 0) {
    return absl::DataLossError(absl::StrCat("rank file for ", spec.name, " has no tokens"));
  }
  impl->ranks.Finish();
  for (int b = 0; b < 256; ++b) {
    char byte = static_cast<char>(b);
    if (impl->ranks.Find(std::string_view(&byte, 1)) == internal::kNoRank) {
      return absl::DataLossError(
          absl::StrCat("rank file for ", spec.name, " has no token for byte 0x",
                       absl::Hex(b, absl::kZeroPad2), ": some text could not be encoded"));
    }
  }
  for (const auto& [text, id] : spec.special_tokens) {
    max_token = std::max(max_token, id);
    if (text == "<|endoftext|>") impl->eot = id;
  }
  impl->n_vocab = static_cast<size_t>(max_token) + 1;
  impl->specials = spec.special_tokens;
  return impl;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::shared_ptr<const Tokenizer>> Tokenizer::FromRanks(std::string_view ranks,
                                                                      EncodingSpec spec) {
  // The checksum runs on a second thread while the ranks are parsed.
  std::string actual_sha256;
  std::thread checksum;
  if (!spec.sha256.empty()) {
    checksum = std::thread([&] { actual_sha256 = internal::Sha256Hex(ranks); });
  }
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Parse(ranks, spec);
  if (checksum.joinable()) checksum.join();
  if (!spec.sha256.empty() && actual_sha256 != spec.sha256) {
    return absl::DataLossError(absl::StrCat("rank file for ", spec.name, " has SHA-256 ",
                                            actual_sha256, ", expected ", spec.sha256));
  }
  if (!impl.ok()) return impl.status();
  (*impl)->spec = std::move(spec);
  return std::shared_ptr<const Tokenizer>(new Tokenizer(*std::move(impl)));
}

absl::StatusOr<std::shared_ptr<const Tokenizer>> Tokenizer::FromFile(const std::string& path,
                                                                     EncodingSpec spec) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open rank file ", path));
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) {
    return absl::DataLossError(absl::StrCat("cannot read rank file ", path));
  }
  absl::StatusOr<std::shared_ptr<const Tokenizer>> tokenizer = FromRanks(data, std::move(spec));
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(),
                        absl::StrCat(tokenizer.status().message(), " (", path, ")"));
  }
  return tokenizer;
}

const std::string& Tokenizer::name() const { return impl_->spec.name; }
size_t Tokenizer::n_vocab() const { return impl_->n_vocab; }
Token Tokenizer::eot_token() const { return impl_->eot; }
const std::vector<std::pair<std::string, Token>>& Tokenizer::special_tokens() const {
  return impl_->specials;
}

absl::StatusOr<std::vector<Token>> Tokenizer::EncodeOrdinary(std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(internal::CheckUtf8(text));
  std::vector<Token> out;
  out.reserve(text.size() / 4 + 1);
  impl_->EncodeSegment(text, 0, [&](Token t, size_t) {
    out.push_back(t);
    return true;
  });
  return out;
}

absl::Status Tokenizer::EncodeOrdinaryWithOffsets(std::string_view text, std::vector<Token>* tokens,
                                                  std::vector<size_t>* offsets) const {
  LLMKIT_RETURN_IF_ERROR(internal::CheckUtf8(text));
  tokens->clear();
  offsets->clear();
  impl_->EncodeSegment(text, 0, [&](Token t, size_t offset) {
    tokens->push_back(t);
    offsets->push_back(offset);
    return true;
  });
  return absl::OkStatus();
}

absl::Status Tokenizer::Impl::EncodeWithPolicy(std::string_view text,
                                               const SpecialTokenPolicy& policy,
                                               std::vector<Token>* out) const {
  auto listed = [](const std::vector<std::string>& list, std::string_view s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  auto allowed = [&](std::string_view s) { return policy.allow_all || listed(policy.allowed, s); };
  // Disallowed strings are searched as text, as tiktoken does.
  std::vector<std::string_view> disallowed;
  if (policy.disallow_all) {
    for (const auto& [s, id] : specials) {
      if (!allowed(s)) disallowed.push_back(s);
    }
  } else {
    for (const std::string& s : policy.disallowed) {
      if (!s.empty() && !allowed(s)) disallowed.push_back(s);
    }
  }
  size_t first = std::string_view::npos;
  std::string_view found;
  for (std::string_view s : disallowed) {
    size_t at = text.find(s);
    if (at < first) {
      first = at;
      found = s;
    }
  }
  if (first != std::string_view::npos) {
    return WithPayload(absl::InvalidArgumentError(absl::StrCat(
                           "text contains the disallowed special token \"", internal::ToAbsl(found),
                           "\" at byte offset ", first,
                           "; allow it to encode it as a special token, or encode it as text "
                           "with EncodeOrdinary / SpecialTokenPolicy::AllowNone()")),
                       kPayloadByteOffset, absl::StrCat(first));
  }
  // Allowed special tokens cut the text into ordinary segments.
  std::vector<std::pair<std::string_view, Token>> active;
  for (const auto& [s, id] : specials) {
    if (allowed(s)) active.emplace_back(s, id);
  }
  std::vector<size_t> next(active.size());  // Next occurrence at or after `start`.
  for (size_t i = 0; i < active.size(); ++i) next[i] = text.find(active[i].first);
  size_t start = 0;
  auto emit = [&](Token t, size_t) {
    out->push_back(t);
    return true;
  };
  while (true) {
    size_t best = std::string_view::npos;
    size_t which = 0;
    for (size_t i = 0; i < active.size(); ++i) {
      if (next[i] != std::string_view::npos && next[i] < start) {
        next[i] = text.find(active[i].first, start);
      }
      if (next[i] < best) {
        best = next[i];
        which = i;
      }
    }
    if (best == std::string_view::npos) {
      EncodeSegment(text.substr(start), start, emit);
      return absl::OkStatus();
    }
    EncodeSegment(text.substr(start, best - start), start, emit);
    out->push_back(active[which].second);
    start = best + active[which].first.size();
  }
}

absl::StatusOr<std::vector<Token>> Tokenizer::Encode(std::string_view text,
                                                     const SpecialTokenPolicy& policy) const {
  LLMKIT_RETURN_IF_ERROR(internal::CheckUtf8(text));
  std::vector<Token> out;
  out.reserve(text.size() / 4 + 1);
  LLMKIT_RETURN_IF_ERROR(impl_->EncodeWithPolicy(text, policy, &out));
  return out;
}

absl::StatusOr<size_t> Tokenizer::Count(std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(internal::CheckUtf8(text));
  return CountValidUtf8(text);
}

absl::StatusOr<size_t> Tokenizer::CountUpTo(std::string_view text, size_t limit) const {
  LLMKIT_RETURN_IF_ERROR(internal::CheckUtf8(text));
  return CountValidUtf8(text, limit);
}

size_t Tokenizer::CountValidUtf8(std::string_view text, size_t limit) const {
  return impl_->CountSegment(text, limit);
}

namespace {

// Runs job(i) for i in [0, n) on up to `num_threads` threads; stops at the first error.
absl::Status ParallelFor(size_t n, int num_threads,
                         const std::function<absl::Status(size_t)>& job) {
  size_t threads = num_threads > 0 ? static_cast<size_t>(num_threads)
                                   : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, n);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) LLMKIT_RETURN_IF_ERROR(job(i));
    return absl::OkStatus();
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<absl::Status> errors(threads);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = next++; i < n && !failed; i = next++) {
        absl::Status status = job(i);
        if (!status.ok()) {
          errors[t] = std::move(status);
          failed = true;
        }
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  for (absl::Status& status : errors) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::vector<Token>>> Tokenizer::EncodeOrdinaryBatch(
    absl::Span<const std::string_view> texts, int num_threads) const {
  std::vector<std::vector<Token>> out(texts.size());
  LLMKIT_RETURN_IF_ERROR(ParallelFor(texts.size(), num_threads, [&](size_t i) -> absl::Status {
    LLMKIT_ASSIGN_OR_RETURN(out[i], EncodeOrdinary(texts[i]));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::vector<Token>>> Tokenizer::EncodeBatch(
    absl::Span<const std::string_view> texts, const SpecialTokenPolicy& policy,
    int num_threads) const {
  std::vector<std::vector<Token>> out(texts.size());
  LLMKIT_RETURN_IF_ERROR(ParallelFor(texts.size(), num_threads, [&](size_t i) -> absl::Status {
    LLMKIT_ASSIGN_OR_RETURN(out[i], Encode(texts[i], policy));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::string_view> Tokenizer::TokenBytes(Token token) const {
  std::string_view bytes;
  if (impl_->ranks.Bytes(token, &bytes)) return bytes;
  for (const auto& [text, id] : impl_->specials) {
    if (id == token) return std::string_view(text);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("token id ", token, " is not in ", impl_->spec.name));
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const Token> tokens) const {
  std::string out;
  out.reserve(tokens.size() * 4);
  for (Token token : tokens) {
    LLMKIT_ASSIGN_OR_RETURN(std::string_view bytes, TokenBytes(token));
    out.append(bytes);
  }
  return out;
}

absl::StatusOr<std::string> Tokenizer::DecodeLossy(absl::Span<const Token> tokens) const {
  LLMKIT_ASSIGN_OR_RETURN(std::string bytes, Decode(tokens));
  if (internal::FindInvalidUtf8(bytes) == std::string_view::npos) return bytes;
  return internal::ReplaceInvalidUtf8(bytes);
}

std::string Utf8Lossy(std::string_view bytes) { return internal::ReplaceInvalidUtf8(bytes); }

}  // namespace llmkit
