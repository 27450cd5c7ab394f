// LatentTerms: the latent model's term table (see latent_terms.h).

#include "rag/latent_terms.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/byte_io.h"
#include "common/crc32c.h"
#include "common/files.h"
#include "common/float16.h"
#include "llmkit/status.h"

namespace llmkit::internal {
namespace {

constexpr uint32_t kMagic = 0x544c4b4c;  // "LKLT" little-endian.
constexpr uint32_t kVersion = 1;
constexpr size_t kDigest = 8;  // Crc32cHex's length.
constexpr int kMaxDim = 4096;

}  // namespace

absl::StatusOr<std::unique_ptr<LatentTerms>> LatentTerms::Make(absl::Span<const std::string> names,
                                                               absl::Span<const float> rows,
                                                               int dim) {
  if (dim < 1 || dim > kMaxDim) return absl::InvalidArgumentError("dim must be in [1, 4096]");
  if (rows.size() != names.size() * static_cast<size_t>(dim)) {
    return absl::InvalidArgumentError("rows must hold names.size() x dim floats");
  }
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return names[a] < names[b]; });
  for (size_t i = 0; i < order.size(); ++i) {
    if (names[order[i]].empty() || (i > 0 && names[order[i]] == names[order[i - 1]])) {
      // By position, not by text: terms are the user's words.
      return absl::InvalidArgumentError(
          absl::StrCat("term ", order[i], " is empty or repeats another"));
    }
  }
  std::string out;
  PutU32(&out, kMagic);
  PutU32(&out, kVersion);
  PutU32(&out, static_cast<uint32_t>(dim));
  PutU32(&out, 0);
  PutU64(&out, names.size());
  StringSection::Write(
      order.size(), [&](size_t i) -> const std::string& { return names[order[i]]; }, &out);
  std::string halfs;
  std::vector<uint16_t> row(static_cast<size_t>(dim));
  for (size_t i : order) {
    for (int j = 0; j < dim; ++j) row[j] = FloatToHalf(rows[i * dim + j]);
    const std::string_view bytes(reinterpret_cast<const char*>(row.data()), row.size() * 2);
    PutU32(&out, Crc32c(bytes));
    halfs.append(bytes);
  }
  PadTo(&out, 8);
  const std::string digest = Crc32cHex(out);
  out += halfs;
  PadTo(&out, 8);
  out += digest;
  // Just written: nothing to verify.
  return Parse(SharedBytes::Own(std::move(out)), "(memory)", /*verify=*/false);
}

absl::StatusOr<std::unique_ptr<LatentTerms>> LatentTerms::Open(const std::string& path) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<const SharedBytes> bytes,
                          SharedBytes::Map(path, SharedBytes::Access::kSparse));
  return Parse(std::move(bytes), path, /*verify=*/true);
}

absl::StatusOr<std::unique_ptr<LatentTerms>> LatentTerms::FromBytes(std::string bytes) {
  return Parse(SharedBytes::Own(std::move(bytes)), "(memory)", /*verify=*/true);
}

absl::StatusOr<std::unique_ptr<LatentTerms>> LatentTerms::Parse(
    std::shared_ptr<const SharedBytes> bytes, const std::string& name, bool verify) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat("latent terms ", name, ": ", ToAbsl(what)));
  };
  const std::string_view all = bytes->view();
  if (all.size() < kDigest) return bad("truncated");
  Reader r(all.substr(0, all.size() - kDigest));
  uint32_t magic, version, dim, reserved;
  uint64_t n;
  if (!r.U32(&magic) || magic != kMagic || !r.U32(&version)) return bad("not a latent term table");
  if (version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("latent terms ", name, ": format version ",
                                                   version, " is not supported (this is ", kVersion,
                                                   ")"));
  }
  if (!r.U32(&dim) || !r.U32(&reserved) || !r.U64(&n)) return bad("truncated header");
  if (dim < 1 || dim > kMaxDim || reserved != 0) return bad("impossible header values");
  std::optional<StringSection> names = StringSection::Read(&r, n);
  if (!names) return bad("malformed terms");
  std::string_view crcs, rows;
  if (n > r.remaining() / 4 || !r.Bytes(n * 4, &crcs) || !r.Align(8)) return bad("truncated");
  const std::string_view head = all.substr(0, r.position());  // What the digest covers.
  if (n > r.remaining() / (2 * dim) || !r.Bytes(n * 2 * dim, &rows) || !r.Align(8) || !r.done()) {
    return bad("truncated or malformed rows");
  }
  std::unique_ptr<LatentTerms> table(new LatentTerms());
  table->bytes_ = std::move(bytes);
  table->name_ = name;
  table->dim_ = static_cast<int>(dim);
  table->names_ = *names;
  table->row_crcs_ = crcs.data();
  table->rows_ = rows.data();
  table->digest_ = all.substr(all.size() - kDigest);
  table->check_rows_ = verify;
  // The head is small (about 40 bytes a term; the model keeps at most 40,000) and checked now,
  // on this thread: that costs less than starting a thread for it.
  if (verify) {
    if (Crc32cHex(head) != table->digest_) return bad("checksum mismatch");
    for (size_t i = 1; i < table->names_.size(); ++i) {
      if (!(table->names_[i - 1] < table->names_[i])) return bad("terms out of order");
    }
  }
  return table;
}

absl::Status LatentTerms::Save(const std::string& path) const {
  // Saving damage would keep it: every row is checked first.
  for (size_t i = 0; i < size(); ++i) LLMKIT_RETURN_IF_ERROR(CheckRow(i));
  if (path == name_) return absl::OkStatus();  // Opened from there, and found intact.
  return WriteAtomically(path, bytes_->view());
}

std::string_view LatentTerms::Row(size_t i) const {
  const size_t size = 2 * static_cast<size_t>(dim_);
  return {rows_ + i * size, size};
}

absl::Status LatentTerms::CheckRow(size_t i) const {
  if (!check_rows_) return absl::OkStatus();
  uint32_t expected;
  std::memcpy(&expected, row_crcs_ + 4 * i, 4);
  if (Crc32c(Row(i)) == expected) return absl::OkStatus();
  // Not the term: it is the user's text.
  return absl::DataLossError(
      absl::StrCat("latent terms ", name_, ": row ", i, " fails its checksum"));
}

absl::StatusOr<bool> LatentTerms::AddTo(std::string_view term, double weight, double* sum) const {
  const std::optional<size_t> found = names_.Find(term);
  if (!found) return false;
  LLMKIT_RETURN_IF_ERROR(CheckRow(*found));
  const char* row = Row(*found).data();
  // Converted 64 values at a time.
  uint16_t halfs[64];
  float floats[64];
  for (int j = 0; j < dim_; j += 64) {
    const int m = std::min(64, dim_ - j);
    std::memcpy(halfs, row + 2 * j, 2 * static_cast<size_t>(m));
    HalfsToFloats(halfs, static_cast<size_t>(m), floats);
    for (int i = 0; i < m; ++i) sum[j + i] += weight * floats[i];
  }
  return true;
}

}  // namespace llmkit::internal
