// RedisClient: hiredis connections from a URL, pooled; EVALSHA with script loading.

#include "common/redis.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/absl_compat.h"

namespace llmkit::internal {

std::string RedisNumber(double value) { return absl::StrFormat("%.17g", value); }

absl::StatusOr<RedisUrl> ParseRedisUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    // The URL may hold a password: the message names the problem, not the URL.
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL: ", internal::ToAbsl(why),
                     " (expected redis://[[user]:password@]host[:port][/db])"));
  };
  if (!url.starts_with("redis://")) return bad("it must start with redis://");
  std::string_view rest = url.substr(8);
  RedisUrl out;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      out.password = std::string(credentials);
    } else {
      out.user = std::string(credentials.substr(0, colon));
      out.password = std::string(credentials.substr(colon + 1));
    }
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && (!absl::SimpleAtoi(internal::ToAbsl(db), &out.db) || out.db < 0)) {
      return bad("the database must be a number");
    }
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!absl::SimpleAtoi(internal::ToAbsl(port), &out.port) || out.port <= 0 || out.port > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
  }
  if (!rest.empty()) out.host = std::string(rest);
  return out;
}

namespace {

RedisReply Convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < reply->elements; ++i) {
        out.elements.push_back(Convert(reply->element[i]));
      }
      break;
    default:
      break;
  }
  return out;
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

RedisClient::RedisClient(RedisUrl url, std::chrono::milliseconds timeout, int pool_size)
    : url_(std::move(url)),
      where_(absl::StrCat(url_.host, ":", url_.port)),
      timeout_(timeout),
      pool_size_(pool_size < 1 ? 1 : pool_size) {}

RedisClient::~RedisClient() {
  for (redisContext* context : idle_) redisFree(context);
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(std::string_view url,
                                                                  std::chrono::milliseconds timeout,
                                                                  int pool_size) {
  absl::StatusOr<RedisUrl> parsed = ParseRedisUrl(url);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<RedisClient> client(new RedisClient(*std::move(parsed), timeout, pool_size));
  // One connection now, so that a wrong address or password fails here.
  absl::StatusOr<redisContext*> first = client->Take();
  if (!first.ok()) return first.status();
  client->Give(*first, /*broken=*/false);
  return client;
}

absl::StatusOr<redisContext*> RedisClient::Open() {
  redisContext* context =
      redisConnectWithTimeout(url_.host.c_str(), url_.port, ToTimeval(timeout_));
  if (context == nullptr || context->err != 0) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("redis ", where_, ": ", context != nullptr ? context->errstr : "no memory"));
    if (context != nullptr) redisFree(context);
    return status;
  }
  redisSetTimeout(context, ToTimeval(timeout_));
  bool broken = false;
  if (!url_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url_.user.empty()) auth.push_back(url_.user);
    auth.push_back(url_.password);
    absl::StatusOr<RedisReply> reply = Run(context, auth, &broken);
    if (!reply.ok()) {
      redisFree(context);
      // The reply names the failure ("WRONGPASS ..."), never the password.
      return absl::PermissionDeniedError(
          absl::StrCat("redis ", where_, ": authentication failed: ", reply.status().message()));
    }
  }
  if (url_.db != 0) {
    absl::StatusOr<RedisReply> reply = Run(context, {"SELECT", std::to_string(url_.db)}, &broken);
    if (!reply.ok()) {
      redisFree(context);
      return reply.status();
    }
  }
  return context;
}

absl::StatusOr<redisContext*> RedisClient::Take() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      redisContext* context = idle_.back();
      idle_.pop_back();
      return context;
    }
    if (open_ < pool_size_) {
      ++open_;
      lock.unlock();
      absl::StatusOr<redisContext*> context = Open();
      if (!context.ok()) {
        lock.lock();
        --open_;
        freed_.notify_one();
      }
      return context;
    }
    freed_.wait(lock);
  }
}

void RedisClient::Give(redisContext* context, bool broken) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) {
    redisFree(context);
    --open_;
  } else {
    idle_.push_back(context);
  }
  freed_.notify_one();
}

absl::StatusOr<RedisReply> RedisClient::Run(redisContext* context,
                                            const std::vector<std::string>& args, bool* broken) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr) {
    *broken = true;
    return absl::UnavailableError(absl::StrCat("redis ", where_, ": ", context->errstr));
  }
  absl::StatusOr<RedisReply> out;
  if (reply->type == REDIS_REPLY_ERROR) {
    out = absl::InternalError(
        absl::StrCat("redis ", where_, ": ", absl::string_view(reply->str, reply->len)));
  } else {
    out = Convert(reply);
  }
  freeReplyObject(reply);
  return out;
}

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& args) {
  absl::StatusOr<redisContext*> context = Take();
  if (!context.ok()) return context.status();
  bool broken = false;
  absl::StatusOr<RedisReply> reply = Run(*context, args, &broken);
  Give(*context, broken);
  return reply;
}

absl::StatusOr<RedisReply> RedisClient::Eval(const std::string& script,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args) {
  std::string sha;
  {
    std::lock_guard<std::mutex> lock(scripts_mu_);
    for (const auto& [text, known] : shas_) {
      if (text == script) sha = known;
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sha.empty()) {
      absl::StatusOr<RedisReply> loaded = Command({"SCRIPT", "LOAD", script});
      if (!loaded.ok()) return loaded.status();
      sha = loaded->str;
      std::lock_guard<std::mutex> lock(scripts_mu_);
      bool known = false;
      for (auto& [text, stored] : shas_) {
        if (text == script) {
          stored = sha;  // Reloaded after NOSCRIPT.
          known = true;
        }
      }
      if (!known) shas_.emplace_back(script, sha);
    }
    std::vector<std::string> command = {"EVALSHA", sha, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    absl::StatusOr<RedisReply> reply = Command(command);
    // A server restarted since the script was loaded has forgotten it.
    if (!reply.ok() && reply.status().message().find("NOSCRIPT") != std::string_view::npos) {
      sha.clear();
      continue;
    }
    return reply;
  }
  return absl::InternalError(absl::StrCat("redis ", where_, ": the script could not be loaded"));
}

}  // namespace llmkit::internal
