// Response cache: the answer to a request already made, served without calling the provider.
//
//   auto cache = llmkit::ResponseCache::Create({.max_bytes = 64 << 20}).value();
//   auto model = llmkit::WithCache(client, cache, {.namespace_tags = {"tenant"}}).value();
//   request.temperature = 0;
//   auto r = model->Complete(request, call);  // Again: r->cache_hit, r->cache_age.
//
// Exact by default: the key is the request in a canonical form — model, messages (role, content,
// content parts, tool calls with their ids and argument text, tool_call_id), tools, tool_choice,
// response_format, temperature, top_p, max_tokens, stop, seed and `extra` — where the key order
// and spacing of the Json values (tool parameters, tool_choice, response_format, extra) do not
// matter and anything else that is sent does. The values of the call context's namespace tags
// (WithCacheOptions) and the decorator's scope are part of the key, so that one tenant never
// reads another's entries.
//
// What is cached: a successful response to a request that is deterministic enough to replay —
// temperature 0, or a seed set — unless WithCacheOptions::cache_sampled says to cache sampled
// answers too (temperature unset means the provider's default, which samples). A response
// larger than max_entry_bytes is not stored. Failures are never cached.
//
// A hit returns the stored response with cache_hit set, cache_age its age, usage all zero (no
// tokens billed) and saved_usage the usage of the call that made it. A streamed call that hits
// replays the events the original stream delivered, in order (usage events carry zero); an
// entry stored from Complete replays as one text delta, one delta per tool call, a usage event
// and done.
//
// Concurrent identical requests are coalesced: the first goes to the provider, the others wait
// for its answer (each within its own deadline and cancellation) and return it as a hit. If the
// first fails, each waiter makes its own call (one at a time again).
//
// With an embedder (WithCacheOptions::semantic), a request with no exact entry may be answered
// by the entry of a similar question, guarded against false hits (FalseHitReason).
//
// Storage: in process (entries live until their TTL passes, none by default, or until the least
// recently used are evicted to keep under max_bytes / max_entries), optionally kept in a
// directory across restarts (ResponseCacheOptions::path), or in Redis, shared by processes
// (ResponseCacheOptions::redis_url).
//
// Errors: Create returns kInvalidArgument for bad options (kPermissionDenied for a directory it
// cannot create, kUnavailable for a Redis it cannot reach), WithCache kInvalidArgument for a
// null model or cache. A cached model returns what the wrapped model returns, plus
// kDeadlineExceeded / kCancelled while waiting for a coalesced call. A backend that fails later
// (Redis down, a file that cannot be written) never fails a call: it goes on uncached and
// stats().backend_errors counts it.
//
// Threads: a ResponseCache and the models WithCache returns are used from any number of threads;
// one cache can serve many models (their scopes keep them apart when requests name no model).

#ifndef LLMKIT_CACHE_H_
#define LLMKIT_CACHE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/call.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/observe.h"

namespace llmkit {

struct ResponseCacheOptions {
  size_t max_bytes = size_t{256} << 20;  // All entries; least recently used evicted past it.
  size_t max_entries = 0;                // Also at most this many entries (0: no limit).
  // A bigger response is not stored. Zero: 4 MiB, or max_bytes when that is smaller.
  size_t max_entry_bytes = 0;
  std::chrono::nanoseconds ttl{0};  // Zero: entries do not expire.
  // The clock TTLs and ages are measured on (tests); default the steady clock.
  std::function<std::chrono::steady_clock::time_point()> now;

  // A directory that keeps the in-process entries across restarts: one file per entry
  // (<SHA-256 of its key>.json, written atomically: a crash leaves the old file or the new one),
  // read back by Create (files past their TTL or unreadable are deleted) and deleted when their
  // entry is evicted. Processes may share a directory: each reads what is there when it starts
  // and writes its own entries. Semantic vectors are not kept (exact lookup only after a restart).
  std::string path;

  // Redis ("redis://[[user]:password@]host[:port][/db]"): entries are shared by every process
  // using the same server and prefix, each a key (prefix + SHA-256 of the cache key) holding the
  // answer as JSON, with the TTL as the key's expiry; Redis's maxmemory-policy evicts (max_bytes
  // does not apply; max_entry_bytes does). Identical calls in flight are coalesced across
  // processes by a lock key (SET NX with an expiry of redis_lock_timeout): the others poll for
  // the answer. When Redis cannot be reached the call goes to the provider uncached
  // (stats.backend_errors). Semantic lookup is in-process only.
  std::string redis_url;
  std::string redis_prefix = "llmkit:cache:";
  std::chrono::milliseconds redis_lock_timeout{30000};
};

struct ResponseCacheStats {
  int64_t hits = 0;              // Answers served from an entry.
  int64_t semantic_hits = 0;     // Of which: by a similar question (WithCacheOptions::semantic).
  int64_t guard_rejections = 0;  // Similar enough, but refused by FalseHitReason.
  int64_t coalesced = 0;         // Of which: waited for an identical call in flight.
  int64_t misses = 0;            // Cacheable requests sent on.
  int64_t uncached = 0;          // Requests not cacheable (sampled), sent on.
  int64_t stores = 0;            // Entries written.
  int64_t too_large = 0;         // Responses not stored: larger than max_entry_bytes.
  int64_t evictions = 0;         // Entries dropped to stay under max_bytes.
  int64_t expirations = 0;       // Entries dropped when found past their TTL.
  int64_t backend_errors = 0;    // Redis unreachable or failing: calls went on uncached.
  int64_t entries = 0;
  int64_t bytes = 0;
  Usage saved_usage;  // Summed over the hits.
};

class ResponseCache {
 public:
  // kInvalidArgument when max_bytes is 0, max_entry_bytes is above max_bytes, or ttl < 0.
  static absl::StatusOr<std::shared_ptr<ResponseCache>> Create(ResponseCacheOptions options = {});
  virtual ~ResponseCache() = default;

  virtual ResponseCacheStats stats() const = 0;
  // Drops every entry (calls in flight still finish and store theirs).
  virtual void Clear() = 0;
};

// Semantic lookup: when a request has no exact entry, its last user message is embedded and
// compared with the questions of earlier entries in the same scope — every other part of the
// request (model, system prompt, earlier messages, tools, sampling) identical, and the same
// namespace. The nearest entries at or above `threshold` are tried best first; each must pass
// the false-hit guard. Requests whose last message is not a user message use exact matching
// only.
//
// `threshold` is a cosine similarity: 1 means the same direction, higher is stricter. With the
// local embedder, "How do I reset my password?" and "How can I reset my password?" score about
// 0.9; "How do I reset my password?" and "How do I reset my username?" about 0.7. docs/cache.md
// gives the hit and false-hit rates of the labelled set at each threshold.
struct SemanticCacheOptions {
  std::shared_ptr<EmbeddingModel> embedder;  // Null: exact matches only.
  std::string embedding_model;               // EmbedOptions::model; empty: the embedder's.
  double threshold = 0.85;
  bool guard = true;   // Refuse candidates FalseHitReason objects to (strongly recommended).
  int candidates = 4;  // Nearest entries tried.
};

// Why `candidate`'s answer must not be served for `question`, though the two may embed alike;
// empty when no rule objects. The rules compare what each question contains:
//   - negations (not, no, never, without, "n't", ...), counted;
//   - numbers (digits and number words), as sets;
//   - quoted strings ('...', "...", `...`, typographic quotes), as sets;
//   - identifiers (snake_case, CamelCase, dotted.names, paths, --flags, words mixing letters and
//     digits such as v2 or gpt-4o), as sets;
//   - operations from a list of opposites (enable/disable, add/remove, upload/download,
//     increase/decrease, before/after, min/max, buy/sell, ...), as sets;
//   - names: capitalised words other than a sentence's first word and common openers, and
//     all-capital acronyms (case-insensitive, possessive 's dropped), as sets.
std::string FalseHitReason(std::string_view question, std::string_view candidate);

struct WithCacheOptions {
  // Call context tags whose values are part of the key (a missing tag counts as empty): entries
  // made under one tenant are never served to another.
  std::vector<std::string> namespace_tags = {"tenant"};
  // Part of the key: set a different one on each model sharing a cache when requests leave
  // `model` empty (the key cannot know each client's default model).
  std::string scope;
  // Also cache answers to requests that sample (temperature unset or > 0, no seed).
  bool cache_sampled = false;
  SemanticCacheOptions semantic;
  // When set, chat calls add to the counters llmkit.cache.hits (llmkit.cache.kind "exact" or
  // "semantic"), llmkit.cache.misses and llmkit.cache.saved_tokens (gen_ai.token.type "input"
  // or "output": what the hits did not bill), each with gen_ai.request.model.
  std::shared_ptr<Tracer> tracer;
};

// `model` answering from `cache` first. kInvalidArgument when model or cache is null.
absl::StatusOr<std::unique_ptr<ChatModel>> WithCache(std::shared_ptr<ChatModel> model,
                                                     std::shared_ptr<ResponseCache> cache,
                                                     WithCacheOptions options = {});

// `model` embedding from `cache` first: each input text whose vector for this model, dimensions,
// scope and namespace is cached is not sent; the others go in one call, in input order, and are
// stored. Embeddings are deterministic, so every text is cached (`cache_sampled` and `semantic`
// do not apply). The result's usage and requests are those of the call made for the misses
// (none: zero). stats() counts texts: a hit or a miss per input. kInvalidArgument when model or
// cache is null. The RAG pipeline's embedding cache (CachedEmbeddingModel, rag.h) is this.
absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithCache(std::shared_ptr<EmbeddingModel> model,
                                                          std::shared_ptr<ResponseCache> cache,
                                                          WithCacheOptions options = {});

// The canonical form of `request` that WithCache keys entries by (namespace and scope aside):
// for tests and for hosts that key their own stores the same way.
std::string CanonicalRequest(const ChatRequest& request);
// The same, appended to `*out`.
void AppendCanonicalRequest(const ChatRequest& request, std::string* out);

}  // namespace llmkit

#endif  // LLMKIT_CACHE_H_
