// Fuzz target: random bytes through the tokenizer. The first byte picks what runs:
//   0: the bytes as text, with every pre-split pattern: pieces must tile the input even where it
//      is not UTF-8; encode must reject invalid UTF-8 and round-trip valid text; the lossy
//      decoder's output must be valid UTF-8 and round-trip too.
//   1: the bytes as a .tiktoken rank file: a clear error or a working tokenizer, never a crash.
// The vocabulary is every byte plus a few merges, so the target needs no data files.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "llmkit/chunker.h"
#include "llmkit/tokenizer.h"
#include "tokenizer/pre_split.h"
#include "unicode/utf8.h"

namespace {

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += "=";
  }
  return out;
}

const llmkit::Tokenizer& Vocabulary() {
  static const std::shared_ptr<const llmkit::Tokenizer> tokenizer = [] {
    std::string ranks;
    int rank = 0;
    for (int b = 0; b < 256; ++b) {
      ranks += Base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(rank++) + "\n";
    }
    for (const char* merge : {"th", "the", " t", " the", "in", "ing", "  ", "\n\n", "\xC3\xA9"}) {
      ranks += Base64(merge) + " " + std::to_string(rank++) + "\n";
    }
    llmkit::EncodingSpec spec;
    spec.name = "fuzz";
    spec.special_tokens = {{"<|endoftext|>", 1000}};
    auto loaded = llmkit::Tokenizer::FromRanks(ranks, spec);
    if (!loaded.ok()) __builtin_trap();
    return *loaded;
  }();
  return *tokenizer;
}

void CheckText(std::string_view text) {
  for (auto kind : {llmkit::PreSplit::kGpt2, llmkit::PreSplit::kCl100k, llmkit::PreSplit::kO200k}) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = llmkit::internal::NextPiece(kind, text, pos);
      if (end <= pos || end > text.size()) __builtin_trap();
      pos = end;
    }
  }
  const llmkit::Tokenizer& tokenizer = Vocabulary();
  bool valid = llmkit::internal::FindInvalidUtf8(text) == std::string_view::npos;
  auto ids = tokenizer.Encode(text, llmkit::SpecialTokenPolicy::AllowAll());
  if (ids.ok() != valid) __builtin_trap();
  if (ids.ok() && *tokenizer.Decode(*ids) != text) __builtin_trap();
  std::string lossy = llmkit::Utf8Lossy(text);
  if (llmkit::internal::FindInvalidUtf8(lossy) != std::string_view::npos) __builtin_trap();
  if (valid && lossy != text) __builtin_trap();
  auto lossy_ids = tokenizer.EncodeOrdinary(lossy);
  if (!lossy_ids.ok() || *tokenizer.Decode(*lossy_ids) != lossy) __builtin_trap();
  if (*tokenizer.Count(lossy) != lossy_ids->size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CheckText(rest);
  } else {
    llmkit::EncodingSpec spec;
    spec.name = "fuzz";
    auto tokenizer = llmkit::Tokenizer::FromRanks(rest, spec);
    if (tokenizer.ok()) {
      auto ids = (*tokenizer)->EncodeOrdinary("hello, fuzz");
      if (!ids.ok() || *(*tokenizer)->Decode(*ids) != "hello, fuzz") __builtin_trap();
    }
  }
  return 0;
}
