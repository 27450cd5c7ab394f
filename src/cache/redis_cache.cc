// The Redis backend of ResponseCache: entries as JSON values under prefix + SHA-256 of the key,
// expiring with their TTL, and a lock key per request in flight so that processes sharing the
// server make one provider call per request (the others poll for its answer).

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cache/cache_impl.h"
#include "common/redis.h"
#include "common/sha256.h"
#include "llmkit/json.h"
#include "llmkit/status.h"

namespace llmkit::internal {
namespace {

// Deletes the lock key only while it still holds this caller's token (it may have expired and
// been taken by another process since).
constexpr char kRelease[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
    "return 0";

class RedisCache final : public CacheBackend {
 public:
  RedisCache(ResponseCacheOptions options, std::unique_ptr<RedisClient> redis)
      : options_(std::move(options)), redis_(std::move(redis)) {
    std::random_device seed;
    rng_.seed((uint64_t{seed()} << 32) ^ seed());
  }

  ResponseCacheStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void Clear() override {
    std::string cursor = "0";
    do {
      absl::StatusOr<RedisReply> page =
          redis_->Command({"SCAN", cursor, "MATCH", options_.redis_prefix + "*", "COUNT", "1000"});
      if (!page.ok() || page->elements.size() != 2) return;
      cursor = page->elements[0].str;
      std::vector<std::string> del = {"DEL"};
      for (const RedisReply& key : page->elements[1].elements) del.push_back(key.str);
      if (del.size() > 1) (void)redis_->Command(del);
    } while (cursor != "0");
  }

  std::chrono::nanoseconds ttl() const override { return options_.ttl; }

  Clock::time_point Now() const override { return options_.now ? options_.now() : Clock::now(); }

  absl::StatusOr<Lookup> Find(const std::string& key, const CallContext& call) override {
    const std::string digest = Sha256Hex(key);
    const std::string value_key = ValueKey(key);
    const std::string lock_key = options_.redis_prefix + "l:" + digest;
    bool waited = false;  // For another process's call.
    while (true) {
      // Callers in this process wait for one another without asking Redis.
      std::shared_ptr<Flight> local;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = flights_.find(key);
        if (it != flights_.end()) local = it->second;
      }
      if (local != nullptr) {
        LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<const Entry> entry, WaitFor(*local, call));
        if (entry != nullptr) return Hit(std::move(entry), /*coalesced=*/true);
        continue;
      }
      absl::StatusOr<RedisReply> got = redis_->Command({"GET", value_key});
      if (!got.ok()) return Bypass();
      if (got->type == RedisReply::Type::kString) {
        std::shared_ptr<Entry> entry = DecodeEntry(got->str);
        if (entry != nullptr && entry->key == key) return Hit(std::move(entry), waited);
      }
      const std::string token = Token();
      absl::StatusOr<RedisReply> locked =
          redis_->Command({"SET", lock_key, token, "NX", "PX",
                           std::to_string(options_.redis_lock_timeout.count())});
      if (!locked.ok()) return Bypass();
      if (locked->type == RedisReply::Type::kStatus) {  // "OK": this caller leads.
        // Unless the answer came between the GET above and this lock (its leader stored it and
        // let the lock go in between): look again, or the provider would be asked twice.
        absl::StatusOr<RedisReply> again = redis_->Command({"GET", value_key});
        if (again.ok() && again->type == RedisReply::Type::kString) {
          std::shared_ptr<Entry> entry = DecodeEntry(again->str);
          if (entry != nullptr && entry->key == key) {
            (void)redis_->Eval(kRelease, {lock_key}, {token});
            return Hit(std::move(entry), waited);
          }
        }
        std::lock_guard<std::mutex> lock(mu_);
        auto [it, inserted] = flights_.emplace(key, std::make_shared<Flight>());
        if (!inserted) {  // Another thread here led meanwhile: let it, wait for it.
          (void)redis_->Eval(kRelease, {lock_key}, {token});
          continue;
        }
        ++stats_.misses;
        Lookup lead;
        lead.lead = it->second;
        lead.lock_token = token;
        return lead;
      }
      // Another process leads: poll for its answer (or for its lock to go).
      LLMKIT_RETURN_IF_ERROR(Pause(call));
      waited = true;
    }
  }

  void Finish(const std::string& key, const Lookup& lead, absl::StatusOr<ChatResponse>* result,
              std::vector<StreamEvent> events, bool streamed, Semantic*) override {
    if (lead.lead == nullptr) return;  // Bypassed: nothing to store or release.
    const std::string digest = Sha256Hex(key);
    std::shared_ptr<Entry> entry;
    if (result->ok()) {
      entry = MakeEntry(key, **result, std::move(events), streamed, Now(), options_.ttl);
      Store(*entry);
    }
    End(key, digest, lead, std::move(entry));
  }

  void Share(const std::string& key, const Lookup& lead,
             std::shared_ptr<const Entry> entry) override {
    if (lead.lead == nullptr) return;
    End(key, Sha256Hex(key), lead, std::move(entry));
  }

  std::shared_ptr<const Entry> FindSimilar(const Semantic&, const SemanticCacheOptions&,
                                           double*) override {
    return nullptr;  // In-process only (the header says so).
  }

  void CountUncached() override { Count(&ResponseCacheStats::uncached); }

  std::vector<std::shared_ptr<const Entry>> GetMany(const std::vector<std::string>& keys) override {
    std::vector<std::shared_ptr<const Entry>> found(keys.size());
    if (keys.empty()) return found;
    std::vector<std::string> mget = {"MGET"};
    for (const std::string& key : keys) mget.push_back(ValueKey(key));
    absl::StatusOr<RedisReply> got = redis_->Command(mget);
    const bool ok = got.ok() && got->elements.size() == keys.size();
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) ++stats_.backend_errors;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (ok && got->elements[i].type == RedisReply::Type::kString) {
        std::shared_ptr<Entry> entry = DecodeEntry(got->elements[i].str);
        if (entry != nullptr && entry->key == keys[i]) found[i] = std::move(entry);
      }
      ++(found[i] != nullptr ? stats_.hits : stats_.misses);
    }
    return found;
  }

  void PutMany(std::vector<std::shared_ptr<Entry>> entries) override {
    for (const std::shared_ptr<Entry>& entry : entries) Store(*entry);
  }

 private:
  void Count(int64_t ResponseCacheStats::*counter) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(stats_.*counter);
  }

  std::string ValueKey(const std::string& key) const {
    return options_.redis_prefix + "v:" + Sha256Hex(key);
  }

  // Writes `entry` under its key, with the TTL as its expiry (when it fits max_entry_bytes).
  void Store(const Entry& entry) {
    std::string value = EncodeEntry(entry);
    if (value.size() > options_.max_entry_bytes) return Count(&ResponseCacheStats::too_large);
    std::vector<std::string> set = {"SET", ValueKey(entry.key), std::move(value)};
    if (options_.ttl.count() > 0) {
      set.push_back("PX");
      set.push_back(std::to_string(std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl).count())));
    }
    Count(redis_->Command(set).ok() ? &ResponseCacheStats::stores
                                    : &ResponseCacheStats::backend_errors);
  }

  Lookup Hit(std::shared_ptr<const Entry> entry, bool coalesced) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.hits;
    if (coalesced) ++stats_.coalesced;
    AddUsage(&stats_.saved_usage, entry->response.usage);
    Lookup hit;
    hit.entry = std::move(entry);
    return hit;
  }

  // Redis failed: the call goes on as if there were no cache.
  Lookup Bypass() {
    Count(&ResponseCacheStats::backend_errors);
    return Lookup{};
  }

  // Releases the lock, ends this process's flight and hands `entry` (null: none) to its waiters.
  void End(const std::string& key, const std::string& digest, const Lookup& lead,
           std::shared_ptr<const Entry> entry) {
    (void)redis_->Eval(kRelease, {options_.redis_prefix + "l:" + digest}, {lead.lock_token});
    {
      std::lock_guard<std::mutex> lock(mu_);
      flights_.erase(key);
    }
    Land(*lead.lead, std::move(entry));
  }

  // Waits a little for another process's call, within the caller's deadline and cancellation.
  static absl::Status Pause(const CallContext& call) {
    if (call.cancelled()) {
      return absl::CancelledError("cancelled while waiting for the same request in flight");
    }
    const auto now = Clock::now();
    if (call.has_deadline() && now >= call.deadline) {
      return absl::DeadlineExceededError(
          "deadline passed while waiting for the same request in flight");
    }
    std::this_thread::sleep_until(std::min(call.deadline, now + std::chrono::milliseconds(10)));
    return absl::OkStatus();
  }

  std::string Token() {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::StrCat(rng_(), "-", rng_());
  }

  const ResponseCacheOptions options_;
  std::unique_ptr<RedisClient> redis_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_;
  ResponseCacheStats stats_;
  std::mt19937_64 rng_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ResponseCache>> NewRedisCache(ResponseCacheOptions options) {
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis,
                          RedisClient::Connect(options.redis_url));
  return std::make_shared<RedisCache>(std::move(options), std::move(redis));
}

}  // namespace llmkit::internal
