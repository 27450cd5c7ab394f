// The in-process response cache (an LRU of entries under a byte budget, with TTLs) and the
// WithCache decorator: lookup, coalescing of identical calls in flight, storing, replay.

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cache/cache_impl.h"
#include "common/files.h"
#include "common/sha256.h"
#include "json/json_text.h"
#include "llmkit/cache.h"
#include "llmkit/index.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using internal::CacheBackend;
using internal::Clock;
using internal::DecodeEntry;
using internal::EncodeEntry;
using internal::Entry;
using internal::Flight;
using internal::Land;
using internal::Lookup;
using internal::MakeEntry;
using internal::Semantic;
using internal::WaitFor;

// A scope's question vectors: an HNSW collection, and the newest vectors not yet in it. FAISS's
// HNSW add takes time in proportion to the whole graph (Debian's 1.7.3 initializes a lock per
// vertex on every call), so one vector at a time would make each store slower as the cache
// grows: they go in by batches of kBatch, and until then are scored exactly. The search beam is
// kEffort (32 missed about 1 in 500 of 100k entries in cache_benchmark).
struct SemanticIndex {
  static constexpr size_t kBatch = 64;
  static constexpr int kEffort = 64;
  std::shared_ptr<Collection> collection;
  std::mutex mu;                  // Guards pending and flushing.
  std::vector<Document> pending;  // Oldest first.
  bool flushing = false;

  void Add(Document doc) {
    std::vector<Document> batch;
    {
      std::lock_guard<std::mutex> lock(mu);
      pending.push_back(std::move(doc));
      if (pending.size() < kBatch || flushing) return;
      flushing = true;
      batch = pending;  // Still searched in `pending` until the collection has them.
    }
    (void)collection->Add(batch);  // A vector of another size: not indexed, still cached.
    std::lock_guard<std::mutex> lock(mu);
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(batch.size()));
    flushing = false;
  }

  void Delete(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = std::find_if(pending.begin(), pending.end(),
                             [&](const Document& d) { return d.id == id; });
      if (it != pending.end() && !flushing) {
        pending.erase(it);
        return;
      }
    }
    (void)collection->Delete({&id, 1});
  }

  // The `k` nearest ids by cosine similarity, best first.
  std::vector<std::pair<float, std::string>> Search(const std::vector<float>& query, int k) {
    std::vector<std::pair<float, std::string>> out;
    SearchOptions search;
    search.k = k;
    search.ef_search = std::max(kEffort, k);
    search.include_text = search.include_metadata = false;
    absl::StatusOr<std::vector<SearchHit>> hits = collection->Search(query, search);
    if (hits.ok()) {
      for (SearchHit& hit : *hits) out.emplace_back(hit.score, std::move(hit.id));
    }
    double qq = 0;
    for (float x : query) qq += double(x) * x;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const Document& d : pending) {
        if (d.vector.size() != query.size() || qq == 0) continue;
        double dot = 0, dd = 0;
        for (size_t i = 0; i < query.size(); ++i) {
          dot += double(query[i]) * d.vector[i];
          dd += double(d.vector[i]) * d.vector[i];
        }
        if (dd > 0) out.emplace_back(static_cast<float>(dot / std::sqrt(qq * dd)), d.id);
      }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return a.second == b.second; }),
              out.end());
    if (out.size() > static_cast<size_t>(k)) out.resize(static_cast<size_t>(k));
    return out;
  }
};

// The in-process backend: an LRU of entries under a byte budget, and the semantic indexes.
class MemoryCache final : public CacheBackend {
 public:
  explicit MemoryCache(ResponseCacheOptions options) : options_(std::move(options)) {}

  ResponseCacheStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    ResponseCacheStats s = stats_;
    s.entries = static_cast<int64_t>(index_.size());
    s.bytes = static_cast<int64_t>(bytes_);
    return s;
  }

  void Clear() override {
    Unindex unindex(this);
    std::lock_guard<std::mutex> lock(mu_);
    if (!options_.path.empty()) {
      for (const auto& entry : lru_) unindex.remove.push_back(FileOf(entry->key));
    }
    index_.clear();
    lru_.clear();
    scopes_.clear();
    semantic_keys_.clear();
    bytes_ = 0;
  }

  std::chrono::nanoseconds ttl() const override { return options_.ttl; }

  Clock::time_point Now() const override { return options_.now ? options_.now() : Clock::now(); }

  // What a change of the entries leaves to do once the lock is released: vectors to delete
  // from their index, and with a directory, files to write and to delete.
  struct Unindex {
    explicit Unindex(MemoryCache* cache) : cache(cache) {}
    ~Unindex() {
      for (auto& [index, id] : items) index->Delete(id);
      for (const std::string& file : remove) std::remove(file.c_str());
      for (const auto& entry : write) {
        if (!internal::WriteAtomically(cache->FileOf(entry->key), EncodeEntry(*entry)).ok()) {
          std::lock_guard<std::mutex> lock(cache->mu_);
          ++cache->stats_.backend_errors;
        }
      }
    }
    MemoryCache* cache;
    std::vector<std::pair<std::shared_ptr<SemanticIndex>, std::string>> items;
    std::vector<std::string> remove;
    std::vector<std::shared_ptr<const Entry>> write;
  };

  std::string FileOf(const std::string& key) const {
    return options_.path + "/" + internal::Sha256Hex(key) + ".json";
  }

  // Reads the entries a directory kept (at Create): those past their TTL, unreadable or not
  // entries are deleted; the rest are inserted, oldest first, under the usual limits.
  void Load() {
    std::vector<std::shared_ptr<Entry>> loaded;
    std::error_code error;
    for (const auto& file : std::filesystem::directory_iterator(options_.path, error)) {
      const std::string name = file.path().string();
      if (file.path().extension() != ".json") continue;
      absl::StatusOr<std::string> text = internal::ReadFile(name);
      std::shared_ptr<Entry> entry = text.ok() ? DecodeEntry(*text) : nullptr;
      const bool live = entry != nullptr && FileOf(entry->key) == name &&
                        (options_.ttl.count() == 0 || Clock::now() - entry->made < options_.ttl);
      if (!live) {
        std::remove(name.c_str());
        continue;
      }
      if (options_.ttl.count() > 0) entry->expires = entry->made + options_.ttl;
      entry->bytes = text->size() * 2;
      loaded.push_back(std::move(entry));
    }
    std::sort(loaded.begin(), loaded.end(),
              [](const auto& a, const auto& b) { return a->made < b->made; });
    Unindex unindex(this);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& entry : loaded) {
      if (index_.contains(entry->key)) continue;
      lru_.push_front(std::move(entry));
      index_.emplace(lru_.front()->key, lru_.begin());
      bytes_ += lru_.front()->bytes;
      while (!lru_.empty() &&
             (bytes_ > options_.max_bytes ||
              (options_.max_entries > 0 && index_.size() > options_.max_entries))) {
        EraseLocked(index_.find(lru_.back()->key), &unindex);
      }
    }
  }

  absl::StatusOr<Lookup> Find(const std::string& key, const CallContext& call) override {
    while (true) {
      std::shared_ptr<Flight> wait;
      Unindex unindex(this);  // Destroyed after the lock below is released.
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = index_.find(key);
        if (it != index_.end()) {
          const std::shared_ptr<const Entry>& entry = *it->second;
          if (Now() < entry->expires) {
            lru_.splice(lru_.begin(), lru_, it->second);  // Most recently used first.
            ++stats_.hits;
            AddUsage(&stats_.saved_usage, entry->response.usage);
            return Lookup{entry, nullptr};
          }
          ++stats_.expirations;
          EraseLocked(it, &unindex);
        }
        auto flight = flights_.find(key);
        if (flight == flights_.end()) {
          auto lead = std::make_shared<Flight>();
          flights_.emplace(key, lead);
          ++stats_.misses;
          return Lookup{nullptr, std::move(lead)};
        }
        wait = flight->second;
      }
      LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<const Entry> entry, WaitFor(*wait, call));
      if (entry != nullptr) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.hits;
        ++stats_.coalesced;
        AddUsage(&stats_.saved_usage, entry->response.usage);
        return Lookup{std::move(entry), nullptr};
      }
      // The call we waited for failed: ask again (one of the waiters leads the next call).
    }
  }

  // The best entry of `semantic.scope` whose question is at least `options.threshold` similar
  // and passes the guard; null when none.
  std::shared_ptr<const Entry> FindSimilar(const Semantic& semantic,
                                           const SemanticCacheOptions& options,
                                           double* similarity) override {
    std::shared_ptr<SemanticIndex> index;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = scopes_.find(semantic.scope);
      if (it == scopes_.end()) return nullptr;
      index = it->second;
    }
    // A vector of another size (another embedder) finds nothing.
    for (const auto& [score, id] :
         index->Search(semantic.vector, std::max(1, options.candidates))) {
      if (score < options.threshold) break;
      std::shared_ptr<const Entry> entry;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto key = semantic_keys_.find(id);
        if (key == semantic_keys_.end()) continue;
        auto it = index_.find(key->second);
        if (it == index_.end() || !(Now() < (*it->second)->expires)) continue;
        entry = *it->second;
      }
      if (options.guard && !FalseHitReason(semantic.question, entry->question).empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.guard_rejections;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(entry->key);
      if (it != index_.end()) lru_.splice(lru_.begin(), lru_, it->second);
      ++stats_.hits;
      ++stats_.semantic_hits;
      --stats_.misses;  // Counted when it found no exact entry; it was not sent on after all.
      AddUsage(&stats_.saved_usage, entry->response.usage);
      *similarity = score;
      return entry;
    }
    return nullptr;
  }

  // Ends the flight `lead` for `key` with an answer found elsewhere (a similar question's):
  // the waiters get it, nothing is stored.
  void Share(const std::string& key, const Lookup& lead,
             std::shared_ptr<const Entry> entry) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      flights_.erase(key);
    }
    Land(*lead.lead, std::move(entry));
  }

  // Ends the flight `lead` for `key`: stores the answer (when there is one and it fits; with
  // `semantic`, its question's vector too) and hands it to the waiters.
  void Finish(const std::string& key, const Lookup& lead, absl::StatusOr<ChatResponse>* result,
              std::vector<StreamEvent> events, bool streamed, Semantic* semantic) override {
    std::shared_ptr<Entry> entry;
    Unindex unindex(this);
    std::shared_ptr<SemanticIndex> index_into;
    if (result->ok()) {
      entry = MakeEntry(key, **result, std::move(events), streamed, Now(), options_.ttl);
      if (semantic != nullptr) {
        entry->question = semantic->question;
        entry->semantic_scope = semantic->scope;
        entry->bytes += 2 * semantic->question.size() + semantic->scope.size() +
                        semantic->vector.size() * sizeof(float) * 2;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      flights_.erase(key);
      if (entry != nullptr) {
        if (entry->bytes > options_.max_entry_bytes) {
          ++stats_.too_large;
        } else {
          auto old = index_.find(key);
          if (old != index_.end()) EraseLocked(old, &unindex);
          if (semantic != nullptr) {
            entry->semantic_id = absl::StrCat(next_semantic_id_++);
            semantic_keys_.emplace(entry->semantic_id, key);
            std::shared_ptr<SemanticIndex>& scope = scopes_[semantic->scope];
            if (scope == nullptr) {
              CollectionOptions options;
              options.dim = static_cast<int>(semantic->vector.size());
              options.index = IndexKind::kHnsw;
              options.hnsw_m =
                  16;  // Half the links of the default: half the scoring a search does.
              absl::StatusOr<std::unique_ptr<Collection>> made = Collection::Create(options);
              if (made.ok()) {
                scope = std::make_shared<SemanticIndex>();
                scope->collection = std::shared_ptr<Collection>(*std::move(made));
              } else {
                scopes_.erase(semantic->scope);
              }
            }
            auto it = scopes_.find(semantic->scope);
            if (it != scopes_.end()) index_into = it->second;
          }
          InsertLocked(entry, &unindex);
        }
      }
    }
    // The vector index is changed outside the lock (a batch's HNSW insert is not instant). A
    // search in between finds the entry a moment later; an id whose entry went meanwhile finds
    // nothing.
    if (index_into != nullptr && !entry->semantic_id.empty()) {
      Document doc;
      doc.id = entry->semantic_id;
      doc.vector = std::move(semantic->vector);
      index_into->Add(std::move(doc));
    }
    Land(*lead.lead, std::move(entry));
  }

  std::vector<std::shared_ptr<const Entry>> GetMany(const std::vector<std::string>& keys) override {
    std::vector<std::shared_ptr<const Entry>> found(keys.size());
    Unindex unindex(this);
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Now();
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = index_.find(keys[i]);
      if (it != index_.end() && !(now < (*it->second)->expires)) {
        ++stats_.expirations;
        EraseLocked(it, &unindex);
        it = index_.end();
      }
      if (it == index_.end()) {
        ++stats_.misses;
        continue;
      }
      lru_.splice(lru_.begin(), lru_, it->second);
      found[i] = *it->second;
      ++stats_.hits;
    }
    return found;
  }

  void PutMany(std::vector<std::shared_ptr<Entry>> entries) override {
    Unindex unindex(this);
    std::lock_guard<std::mutex> lock(mu_);
    for (std::shared_ptr<Entry>& entry : entries) {
      if (entry->bytes > options_.max_entry_bytes) {
        ++stats_.too_large;
        continue;
      }
      auto old = index_.find(entry->key);
      if (old != index_.end()) EraseLocked(old, &unindex);
      InsertLocked(std::move(entry), &unindex);
    }
  }

  void CountUncached() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.uncached;
  }

 private:
  using List = std::list<std::shared_ptr<const Entry>>;

  // Adds `entry` as the most recently used, then evicts the least recently used past the limits.
  void InsertLocked(std::shared_ptr<const Entry> entry, Unindex* unindex) {
    if (!options_.path.empty()) unindex->write.push_back(entry);
    lru_.push_front(std::move(entry));
    index_.emplace(lru_.front()->key, lru_.begin());
    bytes_ += lru_.front()->bytes;
    ++stats_.stores;
    while (!lru_.empty() && (bytes_ > options_.max_bytes ||
                             (options_.max_entries > 0 && index_.size() > options_.max_entries))) {
      ++stats_.evictions;
      EraseLocked(index_.find(lru_.back()->key), unindex);
    }
  }

  // Drops an entry; its question's vector goes into `*unindex` (to delete outside the lock),
  // or, when that is null, stays as an orphan that finds no entry.
  void EraseLocked(absl::flat_hash_map<std::string_view, List::iterator>::iterator it,
                   Unindex* unindex) {
    List::iterator at = it->second;
    const Entry& entry = **at;
    if (!entry.semantic_id.empty()) {
      semantic_keys_.erase(entry.semantic_id);
      auto scope = scopes_.find(entry.semantic_scope);
      if (scope != scopes_.end()) {
        unindex->items.emplace_back(scope->second, entry.semantic_id);
      }
    }
    if (!options_.path.empty()) unindex->remove.push_back(FileOf(entry.key));
    bytes_ -= entry.bytes;
    index_.erase(it);
    lru_.erase(at);
  }

  const ResponseCacheOptions options_;
  mutable std::mutex mu_;
  List lru_;                                                     // Most recently used first.
  absl::flat_hash_map<std::string_view, List::iterator> index_;  // Keys view the entries'.
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_;
  // Semantic lookup: a vector index per scope, and each indexed question's entry key.
  absl::flat_hash_map<std::string, std::shared_ptr<SemanticIndex>> scopes_;
  absl::flat_hash_map<std::string, std::string> semantic_keys_;
  int64_t next_semantic_id_ = 0;
  size_t bytes_ = 0;
  ResponseCacheStats stats_;
};

// The answer `entry` holds, as a hit: nothing billed, what it saved, how old it is.
ChatResponse HitOf(const Entry& entry, Clock::time_point now, double similarity = 1) {
  ChatResponse r = entry.response;
  r.saved_usage = r.usage;  // Every call's, the dropped attempts' included.
  r.usage = Usage{};
  r.spent_attempts.clear();
  r.attempts = 0;
  r.backoff = std::chrono::nanoseconds(0);
  if (r.cost) r.cost = Cost{};
  r.cache_hit = true;
  r.cache_similarity = similarity;
  r.cache_age = std::max(std::chrono::nanoseconds(0),
                         std::chrono::duration_cast<std::chrono::nanoseconds>(now - entry.made));
  return r;
}

// The events a stream of `entry` delivers: those its own stream delivered, or, for an entry
// made by Complete, its text, its tool calls, usage and done. Usage events carry zero.
absl::Status Replay(const Entry& entry, const StreamCallback& on_event) {
  auto deliver = [&](const StreamEvent& e) -> absl::Status {
    if (on_event && !on_event(e)) return absl::CancelledError("stream stopped by the callback");
    return absl::OkStatus();
  };
  if (entry.streamed) {
    for (const StreamEvent& e : entry.events) {
      if (e.kind == StreamEvent::Kind::kUsage) {
        StreamEvent zero = e;
        zero.usage = Usage{};
        LLMKIT_RETURN_IF_ERROR(deliver(zero));
      } else {
        LLMKIT_RETURN_IF_ERROR(deliver(e));
      }
    }
    return absl::OkStatus();
  }
  const ChatResponse& r = entry.response;
  if (!r.text.empty()) {
    StreamEvent text;
    text.kind = StreamEvent::Kind::kTextDelta;
    text.text = r.text;
    LLMKIT_RETURN_IF_ERROR(deliver(text));
  }
  for (size_t i = 0; i < r.message.tool_calls.size(); ++i) {
    const ToolCall& c = r.message.tool_calls[i];
    StreamEvent call;
    call.kind = StreamEvent::Kind::kToolCallDelta;
    call.tool_index = static_cast<int>(i);
    call.tool_id = c.id;
    call.tool_name = c.name;
    call.arguments_delta = c.arguments;
    LLMKIT_RETURN_IF_ERROR(deliver(call));
  }
  StreamEvent usage;
  usage.kind = StreamEvent::Kind::kUsage;
  LLMKIT_RETURN_IF_ERROR(deliver(usage));
  StreamEvent done;
  done.kind = StreamEvent::Kind::kDone;
  return deliver(done);
}

class CachedModel final : public ChatModel {
 public:
  CachedModel(std::shared_ptr<ChatModel> model, std::shared_ptr<CacheBackend> cache,
              WithCacheOptions options)
      : model_(std::move(model)), cache_(std::move(cache)), options_(std::move(options)) {}

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    return Call(request, nullptr, call);
  }

  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    return Call(request, &on_event, call);
  }

 private:
  bool Cacheable(const ChatRequest& request) const {
    if (options_.cache_sampled || request.seed.has_value()) return true;
    return request.temperature.has_value() && *request.temperature == 0;
  }

  // The question a semantic lookup compares (the last message, when it is the user's), its
  // vector, and the scope it is compared in; nullopt when lookup is off or does not apply (or
  // the embedder failed: the call then goes on without it).
  std::optional<Semantic> SemanticOf(const ChatRequest& request, const CallContext& call) const {
    const SemanticCacheOptions& options = options_.semantic;
    if (options.embedder == nullptr || request.messages.empty() ||
        request.messages.back().role != "user") {
      return std::nullopt;
    }
    const Message& last = request.messages.back();
    Semantic semantic;
    semantic.question = last.content;
    for (const ContentPart& part : last.parts) {
      if (part.type != "text") return std::nullopt;  // An image: no question to compare.
      if (!semantic.question.empty()) semantic.question += "\n";
      semantic.question += part.text;
    }
    if (semantic.question.empty()) return std::nullopt;
    ChatRequest rest = request;
    rest.messages.back().content.clear();
    rest.messages.back().parts.clear();
    std::string scope = KeyOf(rest, call);
    internal::AppendString(options.embedding_model, false, &scope);
    semantic.scope = internal::Sha256Hex(scope);
    EmbedOptions embed;
    embed.model = options.embedding_model;
    absl::StatusOr<Embeddings> vectors =
        options.embedder->Embed({&semantic.question, 1}, embed, call);
    if (!vectors.ok() || vectors->dimensions == 0 ||
        vectors->values.size() != vectors->dimensions) {
      return std::nullopt;
    }
    semantic.vector = std::move(vectors->values);
    return semantic;
  }

  std::string KeyOf(const ChatRequest& request, const CallContext& call) const {
    std::string key = internal::KeyPrefix(options_, call);
    AppendCanonicalRequest(request, &key);
    return key;
  }

  // The counters of WithCacheOptions::tracer: a hit of `kind` served from `entry`, or (null) a
  // miss.
  void Count(const ChatRequest& request, const Entry* entry, std::string_view kind) const {
    if (options_.tracer == nullptr) return;
    Attributes attributes = {{"gen_ai.request.model", request.model}};
    if (entry == nullptr) {
      options_.tracer->AddCounter("llmkit.cache.misses", 1, attributes);
      return;
    }
    attributes.emplace_back("llmkit.cache.kind", std::string(kind));
    options_.tracer->AddCounter("llmkit.cache.hits", 1, attributes);
    attributes.pop_back();
    const Usage& saved = entry->response.usage;
    attributes.emplace_back("gen_ai.token.type", std::string("input"));
    options_.tracer->AddCounter("llmkit.cache.saved_tokens", saved.input_tokens, attributes);
    attributes.back().second = std::string("output");
    options_.tracer->AddCounter("llmkit.cache.saved_tokens", saved.output_tokens, attributes);
  }

  // `on_event`: null for Complete.
  absl::StatusOr<ChatResponse> Call(const ChatRequest& request, const StreamCallback* on_event,
                                    const CallContext& call) {
    if (!Cacheable(request)) {
      cache_->CountUncached();
      return on_event != nullptr ? model_->Stream(request, *on_event, call)
                                 : model_->Complete(request, call);
    }
    const std::string key = KeyOf(request, call);
    LLMKIT_ASSIGN_OR_RETURN(Lookup found, cache_->Find(key, call));
    if (found.entry != nullptr) {
      Count(request, found.entry.get(), "exact");
      if (on_event != nullptr) LLMKIT_RETURN_IF_ERROR(Replay(*found.entry, *on_event));
      return HitOf(*found.entry, cache_->Now());
    }
    if (found.lead == nullptr) {  // The backend is out of order: as if there were no cache.
      return on_event != nullptr ? model_->Stream(request, *on_event, call)
                                 : model_->Complete(request, call);
    }
    absl::StatusOr<ChatResponse> result = absl::InternalError("the wrapped model threw");
    std::vector<StreamEvent> events;
    // The flight ends however the call does (an exception from the wrapped model included), so
    // that no waiter waits for it longer than the call took.
    struct Unwinding {
      ~Unwinding() {
        if (cache != nullptr) cache->Finish(*key, *lead, result, {}, false, nullptr);
      }
      CacheBackend* cache;
      const std::string* key;
      const Lookup* lead;
      absl::StatusOr<ChatResponse>* result;
    } unwinding{cache_.get(), &key, &found, &result};
    // No exact entry, and this call leads: try a similar question's answer.
    std::optional<Semantic> semantic = SemanticOf(request, call);
    if (semantic) {
      double similarity = 0;
      std::shared_ptr<const Entry> similar =
          cache_->FindSimilar(*semantic, options_.semantic, &similarity);
      if (similar != nullptr) {
        unwinding.cache = nullptr;
        cache_->Share(key, found, similar);
        Count(request, similar.get(), "semantic");
        if (on_event != nullptr) LLMKIT_RETURN_IF_ERROR(Replay(*similar, *on_event));
        return HitOf(*similar, cache_->Now(), similarity);
      }
    }
    Count(request, nullptr, "");
    if (on_event != nullptr) {
      StreamCallback record = [&](const StreamEvent& e) {
        events.push_back(e);
        return !*on_event || (*on_event)(e);
      };
      result = model_->Stream(request, record, call);
    } else {
      result = model_->Complete(request, call);
    }
    unwinding.cache = nullptr;
    cache_->Finish(key, found, &result, std::move(events), on_event != nullptr,
                   semantic ? &*semantic : nullptr);
    return result;
  }

  std::shared_ptr<ChatModel> model_;
  std::shared_ptr<CacheBackend> cache_;
  const WithCacheOptions options_;
};

}  // namespace

std::string internal::KeyPrefix(const WithCacheOptions& options, const CallContext& call) {
  std::string key = "[";
  internal::AppendString(options.scope, false, &key);
  for (const std::string& tag : options.namespace_tags) {
    key.push_back(',');
    internal::AppendString(tag, false, &key);
    key.push_back(',');
    internal::AppendString(call.Tag(tag), false, &key);
  }
  key.push_back(']');
  return key;
}

absl::StatusOr<std::shared_ptr<ResponseCache>> ResponseCache::Create(ResponseCacheOptions options) {
  if (options.max_bytes == 0) return absl::InvalidArgumentError("max_bytes must be positive");
  if (options.max_entry_bytes == 0) {
    options.max_entry_bytes = std::min(options.max_bytes, size_t{4} << 20);
  }
  if (options.max_entry_bytes > options.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_entry_bytes must be at most max_bytes (",
                                                   options.max_bytes, "), got ",
                                                   options.max_entry_bytes));
  }
  if (options.ttl.count() < 0) return absl::InvalidArgumentError("ttl must not be negative");
  if (!options.redis_url.empty()) {
    if (!options.path.empty()) {
      return absl::InvalidArgumentError("a cache is in Redis (redis_url) or in a directory (path)");
    }
    return internal::NewRedisCache(std::move(options));
  }
  if (!options.path.empty() && !internal::MakeDirs(options.path)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the cache directory ", options.path));
  }
  auto cache = std::make_shared<MemoryCache>(std::move(options));
  cache->Load();
  return cache;
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithCache(std::shared_ptr<ChatModel> model,
                                                     std::shared_ptr<ResponseCache> cache,
                                                     WithCacheOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("WithCache: model is null");
  if (cache == nullptr) return absl::InvalidArgumentError("WithCache: cache is null");
  auto impl = std::dynamic_pointer_cast<CacheBackend>(cache);
  if (impl == nullptr) {
    return absl::InvalidArgumentError("WithCache: cache was not made by ResponseCache::Create");
  }
  return std::make_unique<CachedModel>(std::move(model), std::move(impl), std::move(options));
}

}  // namespace llmkit
