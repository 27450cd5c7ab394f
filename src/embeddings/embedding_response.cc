#include "embeddings/embedding_response.h"

#include <array>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "llmkit/http.h"
#include "simdjson.h"

namespace llmkit::internal {
namespace {

constexpr char kProvider[] = "The embedding server";

absl::Status Malformed(std::string_view what) {
  return absl::UnavailableError(absl::StrCat(
      kProvider, " sent a malformed response: ", absl::string_view(what.data(), what.size())));
}

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> table{};
  for (int8_t& v : table) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

// Appends one row of JSON numbers; false if an item is not a number.
bool AppendNumbers(simdjson::dom::array array, std::vector<float>* out) {
  for (simdjson::dom::element item : array) {
    double v;
    if (item.get_double().get(v) != simdjson::SUCCESS) return false;
    out->push_back(static_cast<float>(v));
  }
  return true;
}

}  // namespace

std::string EncodeBase64(const void* data, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t v = p[i] << 16 | (i + 1 < size ? p[i + 1] << 8 : 0) | (i + 2 < size ? p[i + 2] : 0);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < size ? kAlphabet[v >> 6 & 63] : '=';
    out += i + 2 < size ? kAlphabet[v & 63] : '=';
  }
  return out;
}

size_t Base64DecodedSize(std::string_view text) {
  size_t n = text.size();
  while (n > 0 && text[n - 1] == '=') --n;
  return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

int64_t DecodeBase64(std::string_view text, uint8_t* out, size_t capacity) {
  size_t n = text.size();
  if (n % 4 == 0 && n >= 2 && text[n - 1] == '=') n -= text[n - 2] == '=' ? 2 : 1;
  if (n % 4 == 1) return -1;
  if (Base64DecodedSize(text.substr(0, n)) > capacity) return -1;
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0, o = 0;
  for (; i + 4 <= n; i += 4) {
    int32_t a = kBase64[in[i]], b = kBase64[in[i + 1]], c = kBase64[in[i + 2]],
            d = kBase64[in[i + 3]];
    if ((a | b | c | d) < 0) return -1;
    uint32_t v = static_cast<uint32_t>(a << 18 | b << 12 | c << 6 | d);
    out[o++] = static_cast<uint8_t>(v >> 16);
    out[o++] = static_cast<uint8_t>(v >> 8);
    out[o++] = static_cast<uint8_t>(v);
  }
  if (size_t rest = n - i; rest > 0) {  // 2 or 3 characters: 1 or 2 bytes.
    int32_t a = kBase64[in[i]], b = kBase64[in[i + 1]], c = rest == 3 ? kBase64[in[i + 2]] : 0;
    if ((a | b | c) < 0) return -1;
    uint32_t v = static_cast<uint32_t>(a << 18 | b << 12 | c << 6);
    out[o++] = static_cast<uint8_t>(v >> 16);
    if (rest == 3) out[o++] = static_cast<uint8_t>(v >> 8);
  }
  return static_cast<int64_t>(o);
}

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);

absl::StatusOr<EmbeddingBatch> ParseEmbeddingResponse(std::string_view body, size_t rows,
                                                      bool padded) {
  // One parser per thread, reused: its buffers grow to the largest answer seen. simdjson's DOM
  // parser picks the SIMD kernel at run time (Debian's On-Demand is built for the scalar one).
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error =
          parser.parse(body.data(), body.size(), /*realloc_if_needed=*/!padded).get(root)) {
    return Malformed(absl::StrCat("not JSON (", simdjson::error_message(error), ")"));
  }
  simdjson::dom::array data;
  if (root["data"].get_array().get(data) != simdjson::SUCCESS) return Malformed("no data array");
  if (data.size() != rows) {
    return Malformed(absl::StrCat(data.size(), " embeddings for ", rows, " inputs"));
  }
  EmbeddingBatch out;
  std::vector<float> values;  // In arrival order; reordered by index below if needed.
  std::vector<int64_t> order;
  order.reserve(rows);
  bool in_order = true;
  for (simdjson::dom::element item : data) {
    int64_t index;
    if (item["index"].get_int64().get(index) != simdjson::SUCCESS) index = order.size();
    if (index < 0 || static_cast<size_t>(index) >= rows) {
      return Malformed(absl::StrCat("index ", index, " out of range"));
    }
    in_order = in_order && index == static_cast<int64_t>(order.size());
    order.push_back(index);
    simdjson::dom::element embedding;
    if (item["embedding"].get(embedding) != simdjson::SUCCESS) {
      return Malformed("an item has no embedding");
    }
    size_t before = values.size();
    std::string_view text;
    simdjson::dom::array array;
    if (embedding.get_string().get(text) == simdjson::SUCCESS) {
      size_t bytes = Base64DecodedSize(text);
      if (bytes % 4 != 0) return Malformed("a base64 embedding is not whole float32 values");
      if (before == 0) values.reserve(bytes / 4 * rows);
      values.resize(before + bytes / 4);
      if (DecodeBase64(text, reinterpret_cast<uint8_t*>(values.data() + before), bytes) !=
          static_cast<int64_t>(bytes)) {
        return Malformed("an embedding is not valid base64");
      }
      if constexpr (std::endian::native == std::endian::big) {
        for (size_t i = before; i < values.size(); ++i) {
          uint32_t v;
          std::memcpy(&v, &values[i], 4);
          v = __builtin_bswap32(v);
          std::memcpy(&values[i], &v, 4);
        }
      }
    } else if (embedding.get_array().get(array) == simdjson::SUCCESS) {
      if (before == 0) values.reserve(array.size() * rows);
      if (!AppendNumbers(array, &values)) return Malformed("an embedding holds a non-number");
    } else {
      return Malformed("an embedding is neither an array nor base64");
    }
    size_t dims = values.size() - before;
    if (order.size() == 1) {
      out.dimensions = dims;
    } else if (dims != out.dimensions) {
      return Malformed(absl::StrCat("embeddings of ", out.dimensions, " and ", dims, " values"));
    }
  }
  if (rows > 0 && out.dimensions == 0) return Malformed("empty embeddings");
  if (in_order) {
    out.values = std::move(values);
  } else {
    out.values.resize(values.size());
    std::vector<bool> seen(rows);
    for (size_t i = 0; i < rows; ++i) {
      if (seen[order[i]]) return Malformed(absl::StrCat("index ", order[i], " repeats"));
      seen[order[i]] = true;
      std::memcpy(out.values.data() + order[i] * out.dimensions, values.data() + i * out.dimensions,
                  out.dimensions * sizeof(float));
    }
  }
  std::string_view model;
  if (root["model"].get_string().get(model) == simdjson::SUCCESS) out.model = std::string(model);
  simdjson::dom::element usage;
  if (root["usage"].get(usage) == simdjson::SUCCESS) {
    int64_t v;
    if (usage["prompt_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.prompt_tokens = v;
    if (usage["total_tokens"].get_int64().get(v) == simdjson::SUCCESS) out.total_tokens = v;
  }
  return out;
}

}  // namespace llmkit::internal
