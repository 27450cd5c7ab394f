// Lexical search: an in-memory BM25 index over documents' text, with incremental adds and
// deletes, for keyword queries and for hybrid retrieval beside a Collection (retriever.h).
//
//   llmkit::Bm25Index bm25;
//   LLMKIT_RETURN_IF_ERROR(bm25.Add(ids, texts));
//   LLMKIT_ASSIGN_OR_RETURN(std::vector<llmkit::Bm25Hit> hits, bm25.Search("query", {.k = 10}));
//
// Scoring is Lucene's BM25: idf = ln(1 + (N - n + 0.5) / (n + 0.5)) with N live documents and n
// of them holding the term, times tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length));
// a term repeated in the query counts each time. Analysis: text is split into maximal runs of
// Unicode letters, marks, digits and '_', lowercased with Unicode's full mapping (Python's
// str.lower), then (by default, both optional) filtered by an English stop list and
// Porter-stemmed.

#ifndef LLMKIT_BM25_H_
#define LLMKIT_BM25_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace llmkit {

class Bm25Index;
namespace internal {
class SharedBytes;
// Opens a snapshot held in memory, as Bm25Index::Open does a file (the fuzz target uses it).
absl::StatusOr<std::unique_ptr<Bm25Index>> OpenBm25Snapshot(std::string bytes);
}  // namespace internal

struct Bm25Options {
  double k1 = 1.2;  // Term-frequency saturation.
  double b = 0.75;  // Length normalization (0: none, 1: full).
  // Drop the 33 English stop words of Lucene's EnglishAnalyzer ("a", "an", "and", "the", ...).
  bool english_stop_words = true;
  // Porter's (1980) English stemmer on ASCII words. With the stop words this is the analysis of
  // Lucene's EnglishAnalyzer; on BEIR SciFact it lifts nDCG@10 from 0.666 to 0.683.
  bool stemming = true;
};

struct Bm25SearchOptions {
  int k = 10;
  // Keeps only documents for which this returns true (e.g. a metadata filter); called only for
  // documents that would enter the top k. Empty: no filter.
  std::function<bool(std::string_view id)> filter;
};

struct Bm25Hit {
  std::string id;
  float score = 0;
};

// Multiple threads can call const methods concurrently with each other and with one writer
// (Add, Upsert, Delete): writes are serialized by an internal lock.
class Bm25Index {
 public:
  // The one way to build an index. Errors: kInvalidArgument naming the field (k1 negative or
  // not finite, b outside [0, 1]).
  static absl::StatusOr<std::unique_ptr<Bm25Index>> Create(const Bm25Options& options = {});
  ~Bm25Index();
  Bm25Index(const Bm25Index&) = delete;
  Bm25Index& operator=(const Bm25Index&) = delete;

  // Indexes `texts[i]` under `ids[i]`; all or none. Errors: kInvalidArgument (sizes differ,
  // empty or repeated id, invalid UTF-8 naming the text and byte offset), kAlreadyExists.
  absl::Status Add(absl::Span<const std::string> ids, absl::Span<const std::string> texts);
  // Adds or replaces. Errors as Add without kAlreadyExists.
  absl::Status Upsert(absl::Span<const std::string> ids, absl::Span<const std::string> texts);
  // Removes these ids; returns how many existed.
  size_t Delete(absl::Span<const std::string> ids);
  size_t Size() const;
  bool Contains(std::string_view id) const;

  // The k best-scoring documents with at least one query term, best first; ties go to the
  // earlier added. Errors: kInvalidArgument (k < 1, invalid UTF-8).
  absl::StatusOr<std::vector<Bm25Hit>> Search(std::string_view query,
                                              const Bm25SearchOptions& options = {}) const;

  // Writes a snapshot of the index to `path` atomically (a temporary file, fsync, rename):
  // options, documents and postings, laid out to be searched in place, and their SHA-256.
  // Errors: kPermissionDenied, kDataLoss (write failed, or see Verify).
  absl::Status Save(const std::string& path) const;
  // Opens a snapshot written by Save without reading it whole: the file is memory-mapped and
  // searched in place, so opening costs milliseconds; the first write copies it into memory
  // (about as long as building the index). Open checks the layout; the checksum and postings
  // are verified on another thread meanwhile (see Verify). Errors: kNotFound, kDataLoss (not a
  // snapshot, truncated or malformed, naming the file), kInvalidArgument (another version).
  static absl::StatusOr<std::unique_ptr<Bm25Index>> Open(const std::string& path);
  // The result of an opened snapshot's verification, waiting for it: OK, or kDataLoss naming
  // the file. Search, Save and every write wait for it and fail with its error (Contains and
  // Delete then find nothing), so a damaged snapshot never yields results. OK when not opened.
  absl::Status Verify() const;

  // The terms the analyzer makes of `text` (what is indexed and searched).
  std::vector<std::string> Analyze(std::string_view text) const;
  const Bm25Options& options() const;

  class Impl;

 private:
  friend absl::StatusOr<std::unique_ptr<Bm25Index>> internal::OpenBm25Snapshot(std::string);
  explicit Bm25Index(const Bm25Options& options);
  static absl::StatusOr<std::unique_ptr<Bm25Index>> OpenBytes(
      std::shared_ptr<const internal::SharedBytes> bytes, const std::string& path);
  std::unique_ptr<Impl> impl_;
};

namespace internal {
// Porter's stemmer on a lowercase ASCII word (other input is returned unchanged).
std::string PorterStem(std::string_view word);
}  // namespace internal

}  // namespace llmkit

#endif  // LLMKIT_BM25_H_
