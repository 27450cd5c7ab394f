// The latent model's terms (docs/rag.md, "The latent semantic model"): each analyzed term's
// vector, float16, in one immutable table sorted by term and read in place from a memory-mapped
// file. Open checks the head (header, terms, row checksums: about 40 bytes a term) against its
// checksum; a term is found by binary search, and its row is checked against its own checksum
// when read. So a cold process's first question reads the rows of its own words, not the whole
// table (16 MB for 30,000 terms), and builds no hash table of the terms.
//
// File: "LKLT", version, dimensions, the term count, the terms (a StringSection), each row's
// CRC-32C (u32), the rows (float16), then the CRC-32C of all before the rows as eight hex
// digits. Little-endian.
//
// Immutable once made: any thread may call any method.

#ifndef LLMKIT_SRC_RAG_LATENT_TERMS_H_
#define LLMKIT_SRC_RAG_LATENT_TERMS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/shared_bytes.h"
#include "common/string_section.h"

namespace llmkit::internal {

class LatentTerms {
 public:
  // A table of `names` (distinct, any order) and their vectors: `rows` holds names.size() rows
  // of `dim` floats, stored rounded to float16. Errors: kInvalidArgument for a repeated or
  // empty name, sizes that do not match, or dim outside [1, 4096].
  static absl::StatusOr<std::unique_ptr<LatentTerms>> Make(absl::Span<const std::string> names,
                                                           absl::Span<const float> rows, int dim);
  // The table saved at `path`. Errors: those of SharedBytes::Map; kDataLoss naming the path for
  // a malformed or truncated file, a head that fails its checksum, or terms out of order;
  // kInvalidArgument for a format version this build does not read.
  static absl::StatusOr<std::unique_ptr<LatentTerms>> Open(const std::string& path);
  // As Open, from bytes in memory (fuzzing, tests).
  static absl::StatusOr<std::unique_ptr<LatentTerms>> FromBytes(std::string bytes);

  // Writes the table to `path` atomically (internal::WriteAtomically) after checking every row;
  // nothing when the table was opened from `path`. Errors: kDataLoss for a damaged row, those
  // of WriteAtomically.
  absl::Status Save(const std::string& path) const;

  int dim() const { return dim_; }
  size_t size() const { return names_.size(); }
  // The table's checksum, eight hex digits (the pipeline names the saved file by it).
  std::string_view digest() const { return digest_; }

  // Adds weight x the term's vector to sum[0, dim()); false (sum unchanged) when the term is not
  // in the table. Errors: kDataLoss naming the file (sum unchanged) when the term's row fails
  // its checksum.
  absl::StatusOr<bool> AddTo(std::string_view term, double weight, double* sum) const;

 private:
  LatentTerms() = default;
  static absl::StatusOr<std::unique_ptr<LatentTerms>> Parse(
      std::shared_ptr<const SharedBytes> bytes, const std::string& name, bool verify);
  std::string_view Row(size_t i) const;
  absl::Status CheckRow(size_t i) const;

  std::shared_ptr<const SharedBytes> bytes_;
  std::string name_;  // The path, or "(memory)", for errors.
  int dim_ = 0;
  StringSection names_;
  const char* row_crcs_ = nullptr;  // size() x u32.
  const char* rows_ = nullptr;      // size() x dim_ float16.
  bool check_rows_ = false;         // False for a table just made.
  std::string_view digest_;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_RAG_LATENT_TERMS_H_
