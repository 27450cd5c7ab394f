// Bm25Index: the analyzer (Unicode word runs, lowercase, stop words, stemming), postings with
// term frequencies, tombstoned deletes with compaction, and term-at-a-time scoring.

#include "llmkit/bm25.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "bm25/bm25_impl.h"
#include "common/absl_compat.h"
#include "common/top_k.h"
#include "llmkit/status.h"
#include "unicode/py_text.h"
#include "unicode/unicode_classes.h"
#include "unicode/utf8.h"

namespace llmkit {

Bm25Index::Bm25Index(const Bm25Options& options) : impl_(std::make_unique<Impl>(options)) {}

absl::StatusOr<std::unique_ptr<Bm25Index>> Bm25Index::Create(const Bm25Options& options) {
  if (!(options.k1 >= 0) || !std::isfinite(options.k1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Bm25Options::k1 must be finite and >= 0, not ", options.k1));
  }
  if (!(options.b >= 0 && options.b <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Bm25Options::b must be in [0, 1], not ", options.b));
  }
  return std::unique_ptr<Bm25Index>(new Bm25Index(options));
}

Bm25Index::~Bm25Index() = default;

const Bm25Options& Bm25Index::options() const { return impl_->options; }

std::vector<std::string> Bm25Index::Analyze(std::string_view text) const {
  std::vector<std::string> out;
  std::string valid = internal::FindInvalidUtf8(text) == std::string_view::npos
                          ? std::string(text)
                          : internal::ReplaceInvalidUtf8(text);
  impl_->AnalyzeInto(valid, [&](const std::string& term) { out.push_back(term); });
  return out;
}

absl::Status Bm25Index::Impl::Write(absl::Span<const std::string> new_ids,
                                    absl::Span<const std::string> texts, bool upsert) {
  if (new_ids.size() != texts.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("got ", texts.size(), " texts for ", new_ids.size(), " ids"));
  }
  absl::flat_hash_set<absl::string_view> batch;
  for (size_t i = 0; i < new_ids.size(); ++i) {
    if (new_ids[i].empty())
      return absl::InvalidArgumentError(absl::StrCat("ids[", i, "] is empty"));
    if (!batch.insert(new_ids[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ids[", i, "] repeats id \"", new_ids[i], "\" within the batch"));
    }
    if (size_t bad = internal::FindInvalidUtf8(texts[i]); bad != std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("texts[", i, "] is not valid UTF-8 at byte ", bad));
    }
  }
  // Analyze outside the lock: term counts per document. Large batches (an index rebuilt on
  // load) are analyzed by up to 4 threads, each filling its own slice, so the result does not
  // depend on the thread count.
  std::vector<std::vector<std::pair<std::string, uint32_t>>> counted(new_ids.size());
  std::vector<uint32_t> lengths(new_ids.size());
  auto analyze = [&](size_t begin, size_t end) {
    absl::flat_hash_map<std::string, uint32_t> counts;
    for (size_t i = begin; i < end; ++i) {
      counts.clear();
      AnalyzeInto(texts[i], [&](const std::string& term) {
        ++counts[term];
        ++lengths[i];
      });
      counted[i].assign(counts.begin(), counts.end());
      std::sort(counted[i].begin(), counted[i].end());
    }
  };
  constexpr size_t kDocsPerThread = 2048;
  const size_t threads = std::min<size_t>(
      {4, std::max(1u, std::thread::hardware_concurrency()), new_ids.size() / kDocsPerThread + 1});
  if (threads <= 1) {
    analyze(0, new_ids.size());
  } else {
    std::vector<std::thread> pool;
    const size_t per = (new_ids.size() + threads - 1) / threads;
    for (size_t t = 1; t < threads; ++t) {
      pool.emplace_back(analyze, std::min(t * per, new_ids.size()),
                        std::min((t + 1) * per, new_ids.size()));
    }
    analyze(0, per);
    for (std::thread& thread : pool) thread.join();
  }
  LLMKIT_RETURN_IF_ERROR(Verified());  // Writing over a damaged snapshot would hide the damage.
  std::unique_lock lock(mu);
  Thaw();
  if (!upsert) {
    for (const std::string& id : new_ids) {
      if (slot_of.contains(id)) {
        return absl::AlreadyExistsError(
            absl::StrCat("id \"", id, "\" is already in the index (use Upsert)"));
      }
    }
  }
  for (size_t i = 0; i < new_ids.size(); ++i) {
    if (auto it = slot_of.find(new_ids[i]); it != slot_of.end()) Tombstone(it->second);
    uint32_t doc = static_cast<uint32_t>(ids.size());
    ids.push_back(new_ids[i]);
    length.push_back(lengths[i]);
    live.push_back(1);
    slot_of[new_ids[i]] = doc;
    std::vector<uint32_t> doc_terms;
    doc_terms.reserve(counted[i].size());
    for (auto& [term, tf] : counted[i]) {
      auto [it, inserted] = term_of.try_emplace(term, static_cast<uint32_t>(postings.size()));
      if (inserted) {
        postings.emplace_back();
        df.push_back(0);
      }
      postings[it->second].push_back({doc, tf});
      ++df[it->second];
      doc_terms.push_back(it->second);
    }
    terms_of.push_back(std::move(doc_terms));
    ++live_count;
    live_length += lengths[i];
  }
  MaybeCompact();
  return absl::OkStatus();
}

void Bm25Index::Impl::Tombstone(uint32_t doc) {
  live[doc] = 0;
  slot_of.erase(ids[doc]);
  for (uint32_t term : terms_of[doc]) --df[term];
  terms_of[doc].clear();
  terms_of[doc].shrink_to_fit();
  --live_count;
  live_length -= length[doc];
}

// Rewrites postings without tombstones once they are a quarter of the slots.
void Bm25Index::Impl::MaybeCompact() {
  size_t dead = ids.size() - live_count;
  if (dead == 0 || dead * 4 < ids.size()) return;
  std::vector<uint32_t> remap(ids.size(), UINT32_MAX);
  uint32_t next = 0;
  for (size_t doc = 0; doc < ids.size(); ++doc) {
    if (!live[doc]) continue;
    remap[doc] = next;
    if (next != doc) {
      ids[next] = std::move(ids[doc]);
      length[next] = length[doc];
      terms_of[next] = std::move(terms_of[doc]);
    }
    slot_of[ids[next]] = next;
    ++next;
  }
  ids.resize(next);
  length.resize(next);
  terms_of.resize(next);
  live.assign(next, 1);
  for (std::vector<Bm25Posting>& list : postings) {
    size_t out = 0;
    for (const Bm25Posting& p : list) {
      if (remap[p.doc] != UINT32_MAX) list[out++] = {remap[p.doc], p.tf};
    }
    list.resize(out);
  }
}

absl::Status Bm25Index::Add(absl::Span<const std::string> ids,
                            absl::Span<const std::string> texts) {
  return impl_->Write(ids, texts, /*upsert=*/false);
}

absl::Status Bm25Index::Upsert(absl::Span<const std::string> ids,
                               absl::Span<const std::string> texts) {
  return impl_->Write(ids, texts, /*upsert=*/true);
}

size_t Bm25Index::Delete(absl::Span<const std::string> ids) {
  if (!impl_->Verified().ok()) return 0;
  std::unique_lock lock(impl_->mu);
  impl_->Thaw();
  size_t deleted = 0;
  for (const std::string& id : ids) {
    auto it = impl_->slot_of.find(id);
    if (it == impl_->slot_of.end()) continue;
    impl_->Tombstone(it->second);
    ++deleted;
  }
  impl_->MaybeCompact();
  return deleted;
}

size_t Bm25Index::Size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->live_count;
}

bool Bm25Index::Contains(std::string_view id) const {
  if (!impl_->Verified().ok()) return false;
  std::shared_lock lock(impl_->mu);
  if (const FrozenBm25* frozen = impl_->frozen.get(); frozen != nullptr) {
    for (size_t doc = 0; doc < frozen->slots; ++doc) {
      if (frozen->live[doc] && frozen->ids[doc] == id) return true;
    }
    return false;
  }
  return impl_->slot_of.contains(internal::ToAbsl(id));
}

absl::StatusOr<std::vector<Bm25Hit>> Bm25Index::Search(std::string_view query,
                                                       const Bm25SearchOptions& options) const {
  if (options.k < 1) return absl::InvalidArgumentError("k must be at least 1");
  if (size_t bad = internal::FindInvalidUtf8(query); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("query is not valid UTF-8 at byte ", bad));
  }
  absl::flat_hash_map<std::string, uint32_t> query_terms;
  impl_->AnalyzeInto(query, [&](const std::string& term) { ++query_terms[term]; });

  std::shared_lock lock(impl_->mu);
  const Impl& x = *impl_;
  std::vector<Bm25Hit> hits;
  if (x.live_count == 0 || query_terms.empty()) return hits;
  // The same scoring over an opened snapshot (read in place) or the index built in memory.
  const FrozenBm25* frozen = x.frozen.get();
  const size_t slots = frozen != nullptr ? frozen->slots : x.ids.size();
  const uint8_t* live = frozen != nullptr ? frozen->live : x.live.data();
  const uint32_t* length = frozen != nullptr ? frozen->length : x.length.data();
  auto id_of = [&](uint32_t doc) -> std::string_view {
    return frozen != nullptr ? frozen->ids[doc] : std::string_view(x.ids[doc]);
  };
  const double n = static_cast<double>(x.live_count);
  const double avg_length = std::max(1e-9, static_cast<double>(x.live_length) / n);
  const double k1 = x.options.k1, b = x.options.b;

  // Term at a time into a dense accumulator (one per thread, reused).
  thread_local std::vector<float> scores;
  thread_local std::vector<uint32_t> touched;
  if (scores.size() < slots) scores.assign(slots, 0.0f);
  touched.clear();
  // The length normalization k1 * (1 - b + b * length / avg_length) as norm_a + norm_b * length.
  const double norm_a = k1 * (1 - b), norm_b = k1 * b / avg_length;
  // Terms in byte order, so that scores are summed in the same order on every call (a hash
  // map's order may differ between maps, and float sums with it).
  std::vector<std::pair<std::string_view, uint32_t>> ordered(query_terms.begin(),
                                                             query_terms.end());
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [term, query_count] : ordered) {
    std::optional<uint32_t> term_id;
    if (frozen != nullptr) {
      term_id = frozen->FindTerm(term);
    } else if (auto it = x.term_of.find(internal::ToAbsl(term)); it != x.term_of.end()) {
      term_id = it->second;
    }
    if (!term_id) continue;
    const double df = frozen != nullptr ? frozen->df[*term_id] : x.df[*term_id];
    if (df == 0) continue;
    const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5)) * query_count;
    const float weight = static_cast<float>(idf * (k1 + 1));
    const absl::Span<const Bm25Posting> postings = frozen != nullptr
                                                       ? frozen->PostingsOf(*term_id)
                                                       : absl::MakeConstSpan(x.postings[*term_id]);
    for (const Bm25Posting& p : postings) {
      // (A snapshot's document numbers are checked by its verification; until it ends they are
      // only kept in range.)
      if (p.doc >= slots || !live[p.doc]) continue;
      float tf = static_cast<float>(p.tf);
      float add = weight * tf / (tf + static_cast<float>(norm_a + norm_b * length[p.doc]));
      if (scores[p.doc] == 0) touched.push_back(p.doc);
      scores[p.doc] += add;
    }
  }
  internal::TopK top(static_cast<size_t>(options.k));
  for (uint32_t doc : touched) {
    float score = scores[doc];
    scores[doc] = 0;
    if (score < top.threshold()) continue;  // Push settles ties exactly.
    if (options.filter && !options.filter(id_of(doc))) continue;
    top.Push(score, doc);
  }
  for (const internal::ScoredSlot& s : std::move(top).Sorted()) {
    hits.push_back({std::string(id_of(s.slot)), s.score});
  }
  // Last, so that an opened snapshot's verification runs beside the search.
  LLMKIT_RETURN_IF_ERROR(impl_->Verified());
  return hits;
}

}  // namespace llmkit
