// Bm25Index::Save and Open: a snapshot file that is searched in place from a memory mapping.
//
// Layout (little-endian; each array starts at a multiple of 8 bytes):
//   "LKB1", version, k1, b, stop words, stemming, then the counts: slots, terms, live documents,
//   their total length, postings;
//   live flags (u8 per slot), lengths (u32 per slot), ids (a StringSection);
//   terms (a StringSection, sorted), live document frequency per term (u32),
//   posting offsets (u64 per term + 1) and postings (doc u32, tf u32), by term, by doc;
//   the CRC-32C (8 hex digits) of everything before it.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bm25/bm25_impl.h"
#include "common/absl_compat.h"
#include "common/byte_io.h"
#include "common/crc32c.h"
#include "common/files.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

constexpr uint32_t kMagic = 0x31424b4c;  // "LKB1"
constexpr uint32_t kVersion = 1;
constexpr size_t kDigest = 8;

using internal::PadTo;
using internal::PutF64;
using internal::PutU32;
using internal::PutU64;
using internal::PutU8;
using internal::Reader;
using internal::StringSection;

template <typename T>
void PutRaw(std::string* out, const T* data, size_t n) {
  out->append(reinterpret_cast<const char*>(data), n * sizeof(T));
  PadTo(out, 8);
}

std::string Serialize(const Bm25Index::Impl& x) {
  const size_t slots = x.ids.size();
  // Terms in byte order, so that a snapshot finds them by binary search.
  std::vector<std::pair<std::string_view, uint32_t>> terms;
  terms.reserve(x.term_of.size());
  size_t total = 0;
  for (const auto& [term, id] : x.term_of) {
    terms.emplace_back(term, id);
    total += x.postings[id].size();
  }
  std::sort(terms.begin(), terms.end());
  std::string out;
  PutU32(&out, kMagic);
  PutU32(&out, kVersion);
  PutF64(&out, x.options.k1);
  PutF64(&out, x.options.b);
  PutU8(&out, x.options.english_stop_words ? 1 : 0);
  PutU8(&out, x.options.stemming ? 1 : 0);
  PadTo(&out, 8);
  for (uint64_t count :
       {static_cast<uint64_t>(slots), static_cast<uint64_t>(terms.size()),
        static_cast<uint64_t>(x.live_count), x.live_length, static_cast<uint64_t>(total)}) {
    PutU64(&out, count);
  }
  PutRaw(&out, x.live.data(), slots);
  PutRaw(&out, x.length.data(), slots);
  StringSection::Write(
      slots, [&](size_t i) { return std::string_view(x.ids[i]); }, &out);
  StringSection::Write(
      terms.size(), [&](size_t i) { return terms[i].first; }, &out);
  std::vector<uint32_t> df(terms.size());
  std::vector<uint64_t> offsets(terms.size() + 1);
  for (size_t i = 0; i < terms.size(); ++i) {
    df[i] = x.df[terms[i].second];
    offsets[i + 1] = offsets[i] + x.postings[terms[i].second].size();
  }
  PutRaw(&out, df.data(), df.size());
  PutRaw(&out, offsets.data(), offsets.size());
  for (const auto& [term, id] : terms) PutRaw(&out, x.postings[id].data(), x.postings[id].size());
  out += internal::Crc32cHex(out);
  return out;
}

// Views `n` elements of T at the reader's position (aligned for T), then skips to a multiple
// of 8. Null when they do not fit.
template <typename T>
const T* ReadArray(Reader* r, uint64_t n) {
  std::string_view raw;
  if (n > r->remaining() / sizeof(T) || !r->Bytes(n * sizeof(T), &raw) || !r->Align(8)) {
    return nullptr;
  }
  if (reinterpret_cast<uintptr_t>(raw.data()) % alignof(T) != 0) return nullptr;
  return reinterpret_cast<const T*>(raw.data());
}

// What Open does not check before returning: the checksum, and that every posting names a
// slot and the terms are sorted (Search keeps document numbers in range until then).
absl::Status VerifySnapshot(const FrozenBm25& frozen, std::string_view body,
                            std::string_view digest, const std::string& path) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat("BM25 snapshot ", path, ": ", internal::ToAbsl(what)));
  };
  if (internal::Crc32cHex(body) != digest) return bad("checksum mismatch");
  const uint64_t total = frozen.posting_offsets[frozen.terms.size()];
  for (uint64_t i = 0; i < total; ++i) {
    if (frozen.postings[i].doc >= frozen.slots || frozen.postings[i].tf == 0) {
      return bad(absl::StrCat("posting ", i, " is malformed"));
    }
  }
  for (size_t t = 1; t < frozen.terms.size(); ++t) {
    if (!(frozen.terms[t - 1] < frozen.terms[t])) return bad("terms out of order");
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<uint32_t> FrozenBm25::FindTerm(std::string_view term) const {
  std::optional<size_t> found = terms.Find(term);
  if (!found) return std::nullopt;
  return static_cast<uint32_t>(*found);
}

absl::Status Bm25Index::Impl::Verified() const {
  return verification != nullptr ? verification->Wait() : absl::OkStatus();
}

void Bm25Index::Impl::Thaw() {
  if (frozen == nullptr) return;
  const FrozenBm25& f = *frozen;
  ids.reserve(f.slots);
  for (size_t doc = 0; doc < f.slots; ++doc) ids.emplace_back(f.ids[doc]);
  live.assign(f.live, f.live + f.slots);
  length.assign(f.length, f.length + f.slots);
  for (size_t doc = 0; doc < f.slots; ++doc) {
    if (live[doc]) slot_of[ids[doc]] = static_cast<uint32_t>(doc);
  }
  const size_t terms = f.terms.size();
  term_of.reserve(terms);
  postings.resize(terms);
  df.assign(f.df, f.df + terms);
  terms_of.resize(f.slots);
  for (uint32_t term = 0; term < terms; ++term) {
    term_of.emplace(std::string(f.terms[term]), term);
    absl::Span<const Bm25Posting> list = f.PostingsOf(term);
    postings[term].assign(list.begin(), list.end());
    for (const Bm25Posting& p : list) {
      if (live[p.doc]) terms_of[p.doc].push_back(term);
    }
  }
  frozen.reset();
}

absl::Status Bm25Index::Save(const std::string& path) const {
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());  // Saving damage would give it a fresh checksum.
  std::string bytes;
  {
    std::shared_lock lock(impl_->mu);
    if (impl_->frozen != nullptr) {
      bytes.assign(impl_->frozen->bytes->view());  // Unchanged since Open.
    } else {
      bytes = Serialize(*impl_);
    }
  }
  return internal::WriteAtomically(path, bytes);
}

absl::StatusOr<std::unique_ptr<Bm25Index>> Bm25Index::Open(const std::string& path) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<const internal::SharedBytes> bytes,
                          internal::SharedBytes::Map(path));
  return OpenBytes(std::move(bytes), path);
}

absl::StatusOr<std::unique_ptr<Bm25Index>> internal::OpenBm25Snapshot(std::string bytes) {
  return Bm25Index::OpenBytes(internal::SharedBytes::Own(std::move(bytes)), "(memory)");
}

absl::StatusOr<std::unique_ptr<Bm25Index>> Bm25Index::OpenBytes(
    std::shared_ptr<const internal::SharedBytes> bytes, const std::string& path) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat("BM25 snapshot ", path, ": ", internal::ToAbsl(what)));
  };
  const std::string_view all = bytes->view();
  if (all.size() < kDigest) return bad("truncated");
  const std::string_view body = all.substr(0, all.size() - kDigest);
  Reader r(body);
  uint32_t magic, version;
  Bm25Options options;
  uint8_t stop, stem;
  uint64_t slots, terms, live_count, live_length, total;
  if (!r.U32(&magic) || magic != kMagic || !r.U32(&version)) return bad("not a BM25 snapshot");
  if (version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("BM25 snapshot ", path, ": format version ",
                                                   version, " is not supported (this is ", kVersion,
                                                   ")"));
  }
  if (!r.F64(&options.k1) || !r.F64(&options.b) || !r.U8(&stop) || !r.U8(&stem) || !r.Align(8) ||
      !r.U64(&slots) || !r.U64(&terms) || !r.U64(&live_count) || !r.U64(&live_length) ||
      !r.U64(&total)) {
    return bad("truncated header");
  }
  if (!(options.k1 >= 0) || !std::isfinite(options.k1) || !(options.b >= 0 && options.b <= 1) ||
      stop > 1 || stem > 1 || live_count > slots || slots > UINT32_MAX) {
    return bad("impossible header values");
  }
  options.english_stop_words = stop == 1;
  options.stemming = stem == 1;
  auto frozen = std::make_unique<FrozenBm25>();
  frozen->bytes = bytes;
  frozen->slots = slots;
  frozen->live = ReadArray<uint8_t>(&r, slots);
  frozen->length = frozen->live != nullptr ? ReadArray<uint32_t>(&r, slots) : nullptr;
  std::optional<StringSection> ids, term_section;
  if (frozen->length != nullptr) ids = StringSection::Read(&r, slots);
  if (ids) term_section = StringSection::Read(&r, terms);
  if (term_section) {
    frozen->ids = *ids;
    frozen->terms = *term_section;
    frozen->df = ReadArray<uint32_t>(&r, terms);
  }
  if (frozen->df != nullptr) frozen->posting_offsets = ReadArray<uint64_t>(&r, terms + 1);
  if (frozen->posting_offsets != nullptr) frozen->postings = ReadArray<Bm25Posting>(&r, total);
  if (frozen->postings == nullptr || !r.done()) return bad("truncated or malformed");
  for (uint64_t t = 0; t < terms; ++t) {
    if (frozen->posting_offsets[t] > frozen->posting_offsets[t + 1]) {
      return bad("posting offsets out of order");
    }
  }
  if (frozen->posting_offsets[0] != 0 || frozen->posting_offsets[terms] != total) {
    return bad("posting offsets do not match the postings");
  }
  std::unique_ptr<Bm25Index> index(new Bm25Index(options));
  Impl& x = *index->impl_;
  x.live_count = live_count;
  x.live_length = live_length;
  const FrozenBm25* view = frozen.get();
  x.frozen = std::move(frozen);
  x.verification = std::make_unique<internal::BackgroundCheck>(
      [view, body, digest = all.substr(body.size()), path] {
        return VerifySnapshot(*view, body, digest, path);
      });
  return index;
}

absl::Status Bm25Index::Verify() const { return impl_->Verified(); }

}  // namespace llmkit
