// What the response cache's backends (in process, Redis) share with the WithCache decorator:
// an entry, a call in flight, and the backend interface the decorator drives.

#ifndef LLMKIT_SRC_CACHE_CACHE_IMPL_H_
#define LLMKIT_SRC_CACHE_CACHE_IMPL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/cache.h"
#include "llmkit/chat.h"
#include "llmkit/status.h"

namespace llmkit::internal {

using Clock = std::chrono::steady_clock;

struct Entry {
  std::string key;
  ChatResponse response;            // As the call that made it returned it.
  std::vector<StreamEvent> events;  // What its stream delivered; empty when made by Complete.
  bool streamed = false;
  Clock::time_point made;
  Clock::time_point expires = Clock::time_point::max();
  size_t bytes = 0;
  // With semantic lookup: the last user message, and where its vector is indexed.
  std::string question;
  std::string semantic_scope;
  std::string semantic_id;
  // An embedding entry's vector (its response is empty).
  std::vector<float> vector;
};

// An entry for `response` to `key`, made `now`, expiring after `ttl` (zero: never).
std::shared_ptr<Entry> MakeEntry(const std::string& key, const ChatResponse& response,
                                 std::vector<StreamEvent> events, bool streamed,
                                 Clock::time_point now, std::chrono::nanoseconds ttl);

// An entry as JSON (a Redis value, a cache file): the answer, its stream events or vector, the
// full key, and when it was made (wall clock, so that other processes can age it). Decoding
// gives null for anything else, which callers treat as a miss.
std::string EncodeEntry(const Entry& entry);
std::shared_ptr<Entry> DecodeEntry(const std::string& text);

// What a semantic lookup found out, for storing the answer it did not find.
struct Semantic {
  std::string scope;  // Hash of everything but the question (and the embedding model).
  std::string question;
  std::vector<float> vector;
};

// One call in flight for a key in this process: the others asking for it wait for its entry.
struct Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::shared_ptr<const Entry> entry;  // Null when the call failed.
};

// Ends `flight` with `entry` (null: failed) and wakes its waiters.
void Land(Flight& flight, std::shared_ptr<const Entry> entry);

// Waits for `flight` within the call's deadline and cancellation (polled: a Cancellation has no
// way to wake a waiter): its entry, null when the call failed.
absl::StatusOr<std::shared_ptr<const Entry>> WaitFor(Flight& flight, const CallContext& call);

// What a caller asking for a key does next: serve `entry`, or lead the call (then Finish or
// Share it).
struct Lookup {
  std::shared_ptr<const Entry> entry;
  std::shared_ptr<Flight> lead;
  std::string lock_token;  // Redis: the value of the lock key this caller holds.
};

// A backend of ResponseCache. Every method is called from any thread.
class CacheBackend : public ResponseCache {
 public:
  virtual Clock::time_point Now() const = 0;
  virtual std::chrono::nanoseconds ttl() const = 0;
  virtual absl::StatusOr<Lookup> Find(const std::string& key, const CallContext& call) = 0;
  // Stores the answer the leader got (when `result` holds one and it fits; with `semantic`, its
  // question's vector too) and hands it to the waiters.
  virtual void Finish(const std::string& key, const Lookup& lead,
                      absl::StatusOr<ChatResponse>* result, std::vector<StreamEvent> events,
                      bool streamed, Semantic* semantic) = 0;
  // Ends the leader's flight with an answer found elsewhere (a similar question's).
  virtual void Share(const std::string& key, const Lookup& lead,
                     std::shared_ptr<const Entry> entry) = 0;
  // The best entry for a similar question, or null (backends without semantic lookup).
  virtual std::shared_ptr<const Entry> FindSimilar(const Semantic& semantic,
                                                   const SemanticCacheOptions& options,
                                                   double* similarity) = 0;
  virtual void CountUncached() = 0;
  // Embeddings: the live entries of `keys` (null where none), counted as hits and misses; and
  // storing entries made elsewhere, without coalescing.
  virtual std::vector<std::shared_ptr<const Entry>> GetMany(
      const std::vector<std::string>& keys) = 0;
  virtual void PutMany(std::vector<std::shared_ptr<Entry>> entries) = 0;
};

// The part of every key that is not the request: the scope and the call's namespace tag values.
std::string KeyPrefix(const WithCacheOptions& options, const CallContext& call);

// The Redis backend (redis_cache.cc); options.redis_url is set.
absl::StatusOr<std::shared_ptr<ResponseCache>> NewRedisCache(ResponseCacheOptions options);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_CACHE_CACHE_IMPL_H_
