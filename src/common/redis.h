// A small Redis client over hiredis (Debian libhiredis-dev): a pool of blocking connections
// from a redis:// URL, commands as argument vectors, and Lua scripts run by EVALSHA (loaded on
// first use and again after NOSCRIPT). Shared state that must hold across processes (budgets,
// the response cache) goes through it.
//
// Errors: kInvalidArgument for a bad URL; kUnavailable when the server cannot be reached or a
// connection breaks (naming host and port, never the password); kInternal for an error reply.
// Threads: a RedisClient is used from any number of threads; each command takes a connection
// from the pool (opening one when none is free, up to pool_size, then waiting).

#ifndef LLMKIT_SRC_COMMON_REDIS_H_
#define LLMKIT_SRC_COMMON_REDIS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct redisContext;

namespace llmkit::internal {

struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus.
  int64_t integer = 0;
  std::vector<RedisReply> elements;
};

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
};

// Every digit of `value` (%.17g: reads back as the same double; absl::StrCat keeps six), for
// numbers passed to scripts and HINCRBYFLOAT.
std::string RedisNumber(double value);

// "redis://[[user]:password@]host[:port][/db]".
absl::StatusOr<RedisUrl> ParseRedisUrl(std::string_view url);

class RedisClient {
 public:
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(
      std::string_view url, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
      int pool_size = 8);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);
  // Runs `script` (its text) with `keys` and `args`.
  absl::StatusOr<RedisReply> Eval(const std::string& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);
  // "host:port", for messages.
  const std::string& where() const { return where_; }

 private:
  RedisClient(RedisUrl url, std::chrono::milliseconds timeout, int pool_size);
  absl::StatusOr<redisContext*> Open();
  absl::StatusOr<redisContext*> Take();
  void Give(redisContext* context, bool broken);
  absl::StatusOr<RedisReply> Run(redisContext* context, const std::vector<std::string>& args,
                                 bool* broken);

  RedisUrl url_;
  std::string where_;
  std::chrono::milliseconds timeout_;
  int pool_size_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<redisContext*> idle_;
  int open_ = 0;
  std::mutex scripts_mu_;
  std::vector<std::pair<std::string, std::string>> shas_;  // (script, sha1), one per script.
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_REDIS_H_
