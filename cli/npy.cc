// ParseNpy: the header is a Python dict literal; only the three keys NumPy writes are read.

#include "npy.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llmkit::cli {
namespace {

// Debian's Abseil has its own string_view type.
absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }

absl::Status Bad(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("npy: ", ToAbsl(what), " (byte ", offset, ")"));
}

// The value text after `'key':` in the header, up to the next top-level comma or brace.
bool FindValue(std::string_view header, std::string_view key, std::string_view* value) {
  const std::string quoted = absl::StrCat("'", ToAbsl(key), "'");
  size_t at = header.find(quoted);
  if (at == std::string_view::npos) return false;
  at = header.find(':', at + quoted.size());
  if (at == std::string_view::npos) return false;
  size_t begin = at + 1;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') {
      if (depth == 0) break;
      --depth;
      if (depth == 0) {
        ++end;
        break;
      }
    }
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  *value = header.substr(begin, end - begin);
  return true;
}

}  // namespace

absl::StatusOr<NpyMatrix> ParseNpy(std::string_view bytes) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6)) {
    return Bad(0, "not a .npy file (magic \\x93NUMPY missing)");
  }
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Bad(8, "truncated header length");
    for (int i = 3; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    header_start = 12;
  } else {
    return Bad(6, absl::StrCat("unsupported format version ", major));
  }
  if (header_len > bytes.size() - header_start) return Bad(header_start, "truncated header");
  const std::string_view header = bytes.substr(header_start, header_len);

  std::string_view descr, fortran, shape;
  if (!FindValue(header, "descr", &descr) || !FindValue(header, "fortran_order", &fortran) ||
      !FindValue(header, "shape", &shape)) {
    return Bad(header_start, "header lacks descr, fortran_order or shape");
  }
  size_t item = 0;
  if (descr == "'<f4'") {
    item = 4;
  } else if (descr == "'<f8'") {
    item = 8;
  } else {
    return Bad(header_start, absl::StrCat("dtype ", ToAbsl(descr), " is not <f4 or <f8"));
  }
  if (fortran != "False") return Bad(header_start, "Fortran-order arrays are not read");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    return Bad(header_start, "malformed shape");
  }
  std::vector<uint64_t> dims;
  uint64_t value = 0;
  bool digits = false;
  for (char c : shape.substr(1, shape.size() - 2)) {
    if (c >= '0' && c <= '9') {
      if (value > (uint64_t{1} << 40)) return Bad(header_start, "shape too large");
      value = value * 10 + (c - '0');
      digits = true;
    } else if (c == ',') {
      if (!digits) return Bad(header_start, "malformed shape");
      dims.push_back(value);
      value = 0;
      digits = false;
    } else if (c != ' ') {
      return Bad(header_start, "malformed shape");
    }
  }
  if (digits) dims.push_back(value);
  if (dims.empty() || dims.size() > 2) {
    return Bad(header_start, absl::StrCat(dims.size(), " dimensions; 1 or 2 are read"));
  }
  NpyMatrix out;
  out.rows = dims[0];
  out.cols = dims.size() == 2 ? dims[1] : 1;
  if (out.cols != 0 && out.rows > (uint64_t{1} << 40) / out.cols)
    return Bad(header_start, "shape too large");
  const size_t data_start = header_start + header_len;
  const uint64_t count = uint64_t{out.rows} * out.cols;
  if (bytes.size() - data_start != count * item) {
    return Bad(data_start, absl::StrCat("data holds ", bytes.size() - data_start,
                                        " bytes; shape needs ", count * item));
  }
  out.values.resize(count);
  const char* data = bytes.data() + data_start;
  for (size_t i = 0; i < count; ++i) {
    if (item == 4) {
      std::memcpy(&out.values[i], data + 4 * i, 4);
    } else {
      double d;
      std::memcpy(&d, data + 8 * i, 8);
      out.values[i] = static_cast<float>(d);
    }
  }
  return out;
}

}  // namespace llmkit::cli
