// Budgets and the ledger shared through a real redis-server (Debian's, started on a free port of
// 127.0.0.1 for the test): totals seen by every process, 4 processes x 16 threads against one
// hard budget with no overshoot and exact totals, a dead process's reservation swept after its
// lease, and Redis going away (fail closed, or open and counted).

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/redis.h"
#include "cost/redis_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmkit/cost.h"
#include "llmkit/resilience.h"

namespace llmkit {
namespace {

using ::testing::HasSubstr;

using ::llmkit::testing::RedisServer;

#define REQUIRE_REDIS()                                                               \
  if (!std::filesystem::exists(RedisServer::kBinary)) {                               \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no redis-server";  \
    GTEST_SKIP() << "Debian's redis-server is not installed (make deps installs it)"; \
  }

Usage MakeUsage(int64_t input, int64_t output) {
  Usage usage;
  usage.input_tokens = input;
  usage.output_tokens = output;
  usage.total_tokens = input + output;
  return usage;
}

class FixedModel final : public ChatModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request, const CallContext&) override {
    calls.fetch_add(1);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    ChatResponse response;
    response.model = request.model;
    response.text = "ok";
    response.usage = usage;
    return response;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(request, call);
  }
  std::atomic<int> calls{0};
  Usage usage = MakeUsage(107, 100);  // Exactly the estimate of Ask() below.
  std::chrono::milliseconds delay{0};
};

ChatRequest Ask() {
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{"user", std::string(400, 'x')}};  // 100 + 4 + 3 prompt tokens.
  request.max_tokens = 100;
  return request;
}

constexpr double kCallCost = 107 * 2.5e-6 + 100 * 10e-6;

TEST(RedisLedger, TotalsAreSharedByEveryLedgerOnTheServer) {
  REQUIRE_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.ok()) << "redis-server did not start";
  auto a = Ledger::Open({.redis_url = server.url()});
  auto b = Ledger::Open({.redis_url = server.url()});
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  SpendRecord record;
  record.unix_ms = (*a)->NowUnixMs();
  record.model = "gpt-4o";
  record.tags = {{"user", "alice"}, {"team", "x\"y"}};
  record.usage = MakeUsage(100, 10);
  record.cost.input = 0.25;
  record.cost.output = 0.125;
  record.cost.total = 0.375;
  ASSERT_TRUE((*a)->Record(record).ok());
  record.tags = {{"user", "bob"}};
  ASSERT_TRUE((*b)->Record(record).ok());
  SpendTotals alice = (*b)->Spent({{"user", "alice"}}, BudgetWindow::kDay).value();
  EXPECT_EQ(alice.calls, 1);
  EXPECT_EQ(alice.input_tokens, 100);
  EXPECT_DOUBLE_EQ(alice.cost.total, 0.375);
  EXPECT_DOUBLE_EQ(alice.cost.output, 0.125);
  auto rows = (*a)->Report({"team", "model"}, BudgetWindow::kMonth).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ((*a)->Spent({}, BudgetWindow::kAllTime).value().calls, 2);
  bool found = false;
  for (const SpendRow& row : rows) found = found || row.key[0] == "x\"y";
  EXPECT_TRUE(found);
  // Bad URLs and unreachable servers are clear errors that never show a password.
  absl::Status bad = Ledger::Open({.redis_url = "http://127.0.0.1"}).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  absl::Status down = Ledger::Open({.redis_url = "redis://:hunter2@127.0.0.1:1"}).status();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_THAT(down.message(), ::testing::Not(HasSubstr("hunter2")));
  EXPECT_EQ(Ledger::Open({.path = "/tmp/x", .redis_url = server.url()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RedisLedger, FourProcessesOfSixteenThreadsNeverOvershootOneBudget) {
  REQUIRE_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.ok()) << "redis-server did not start";
  const double limit = 0.3;  // About 235 calls.
  constexpr int kProcesses = 4;
  constexpr int kThreads = 16;
  int pipes[kProcesses][2];
  pid_t children[kProcesses];
  for (int p = 0; p < kProcesses; ++p) {
    ASSERT_EQ(pipe(pipes[p]), 0);
    children[p] = fork();
    ASSERT_GE(children[p], 0);
    if (children[p] == 0) {
      close(pipes[p][0]);
      auto ledger = Ledger::Open({.redis_url = server.url()});
      if (!ledger.ok()) _exit(2);
      auto fake = std::make_shared<FixedModel>();
      fake->delay = std::chrono::milliseconds(1);
      auto model = WithBudget(
          std::shared_ptr<ChatModel>(fake),
          {.ledger = *ledger,
           .budgets = {{.name = "shared", .limit_usd = limit, .window = BudgetWindow::kDay}}});
      if (!model.ok()) _exit(3);
      std::atomic<int> admitted{0};
      std::atomic<int> other_errors{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 20; ++i) {
            auto response = (*model)->Complete(Ask(), {});
            if (response.ok()) {
              admitted.fetch_add(1);
            } else if (response.status().code() != absl::StatusCode::kResourceExhausted) {
              other_errors.fetch_add(1);
            }
          }
        });
      }
      for (auto& thread : threads) thread.join();
      int result[3] = {admitted.load(), fake->calls.load(), other_errors.load()};
      if (write(pipes[p][1], result, sizeof result) != sizeof result) _exit(4);
      _exit(0);
    }
    close(pipes[p][1]);
  }
  int admitted = 0;
  for (int p = 0; p < kProcesses; ++p) {
    int result[3] = {0, 0, 0};
    ASSERT_EQ(read(pipes[p][0], result, sizeof result), static_cast<ssize_t>(sizeof result));
    close(pipes[p][0]);
    int status = 0;
    waitpid(children[p], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(result[0], result[1]) << "every admitted call was sent, and only those";
    EXPECT_EQ(result[2], 0);
    admitted += result[0];
  }
  auto ledger = Ledger::Open({.redis_url = server.url()}).value();
  SpendTotals totals = ledger->Spent({}, BudgetWindow::kDay).value();
  std::printf("4 processes x 16 threads: %d calls admitted, $%.9f spent of $%.2f\n", admitted,
              totals.cost.total, limit);
  EXPECT_EQ(totals.calls, admitted);
  EXPECT_LE(std::fabs(totals.cost.total - admitted * kCallCost), 1e-9 * totals.cost.total);
  EXPECT_LE(totals.cost.total, limit + 1e-12);
  EXPECT_GT(totals.cost.total, limit - kCallCost);  // Used up: no reservation leaked.
  // The budget's own hash agrees, and nothing is left reserved.
  auto redis = internal::RedisClient::Connect(server.url()).value();
  auto keys = redis->Command({"KEYS", "llmkit:spend:b:shared:*"}).value();
  ASSERT_FALSE(keys.elements.empty());
  std::string budget_key;
  for (const auto& key : keys.elements) {
    if (key.str.find(":leases") == std::string::npos) budget_key = key.str;
  }
  double reserved = std::stod(redis->Command({"HGET", budget_key, "reserved"}).value().str);
  EXPECT_LT(std::fabs(reserved), 1e-12);
}

TEST(RedisLedger, ADeadProcesssReservationIsSweptAfterItsLease) {
  REQUIRE_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.ok()) << "redis-server did not start";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto ledger = Ledger::Open({.redis_url = server.url()});
    auto fake = std::make_shared<FixedModel>();
    fake->delay = std::chrono::hours(1);  // Killed mid-call, holding its reservation.
    auto model = WithBudget(std::shared_ptr<ChatModel>(fake),
                            {.ledger = *ledger,
                             .budgets = {{.name = "b", .limit_usd = 1.5 * kCallCost}},
                             .redis_lease = std::chrono::milliseconds(300)});
    (void)(*model)->Complete(Ask(), {});
    _exit(0);
  }
  auto ledger = Ledger::Open({.redis_url = server.url()}).value();
  auto fake = std::make_shared<FixedModel>();
  auto model = WithBudget(std::shared_ptr<ChatModel>(fake),
                          {.ledger = ledger,
                           .budgets = {{.name = "b", .limit_usd = 1.5 * kCallCost}},
                           .redis_lease = std::chrono::milliseconds(300)})
                   .value();
  // Wait until the child's call holds its reservation.
  auto redis = internal::RedisClient::Connect(server.url()).value();
  bool held = false;
  for (int i = 0; i < 250 && !held; ++i) {
    auto keys = redis->Command({"KEYS", "llmkit:spend:b:b:*"}).value();
    for (const auto& key : keys.elements) {
      if (key.str.find(":leases") != std::string::npos) continue;
      auto reserved = redis->Command({"HGET", key.str, "reserved"}).value();
      held = reserved.type == internal::RedisReply::Type::kString && std::stod(reserved.str) > 0;
    }
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(held) << "the child never reserved";
  absl::Status refused = model->Complete(Ask(), {}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  kill(child, SIGKILL);  // Dies mid-call, its reservation still in Redis.
  waitpid(child, nullptr, 0);
  EXPECT_EQ(model->Complete(Ask(), {}).status().code(), absl::StatusCode::kResourceExhausted);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(model->Complete(Ask(), {}).ok()) << "the dead process's reservation was swept";
  EXPECT_EQ(fake->calls.load(), 1);
}

TEST(RedisLedger, RedisGoingAwayFailsClosedOrOpenAndCounted) {
  REQUIRE_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.ok()) << "redis-server did not start";
  auto closed_ledger = Ledger::Open({.redis_url = server.url()}).value();
  auto open_ledger = Ledger::Open({.redis_url = server.url(), .redis_fail_open = true}).value();
  auto fake = std::make_shared<FixedModel>();
  auto closed = WithBudget(std::shared_ptr<ChatModel>(fake),
                           {.ledger = closed_ledger, .budgets = {{.name = "c", .limit_usd = 1}}})
                    .value();
  auto open = WithBudget(std::shared_ptr<ChatModel>(fake),
                         {.ledger = open_ledger, .budgets = {{.name = "o", .limit_usd = 1}}})
                  .value();
  ASSERT_TRUE(closed->Complete(Ask(), {}).ok());
  server.Stop();
  const int before = fake->calls.load();
  absl::Status refused = closed->Complete(Ask(), {}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("budget check"));
  EXPECT_EQ(fake->calls.load(), before);  // Not sent.
  auto answered = open->Complete(Ask(), {});
  EXPECT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(fake->calls.load(), before + 1);
  // The admission and the settlement both failed: counted.
  EXPECT_EQ(open_ledger->backend_failures(), 2);
  EXPECT_EQ(open_ledger->Spent({}, BudgetWindow::kDay).status().code(),
            absl::StatusCode::kUnavailable);
}

// The resilience part's rate limiter on the same Redis: four processes share one bucket of 60
// requests per minute (alone, each would have its own 60).
TEST(RedisRateLimiter, FourProcessesShareOneBucket) {
  REQUIRE_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.ok()) << "redis-server did not start";
  constexpr int kProcesses = 4;
  int pipes[kProcesses][2];
  pid_t children[kProcesses];
  for (int p = 0; p < kProcesses; ++p) {
    ASSERT_EQ(pipe(pipes[p]), 0);
    children[p] = fork();
    ASSERT_GE(children[p], 0);
    if (children[p] == 0) {
      close(pipes[p][0]);
      auto limiter = RateLimiter::Create({.requests_per_minute = 60,
                                          .wait = false,
                                          .redis_url = server.url(),
                                          .redis_key = "test:bucket"});
      if (!limiter.ok()) _exit(2);
      auto fake = std::make_shared<FixedModel>();
      auto model = WithRateLimit(std::shared_ptr<ChatModel>(fake), *limiter);
      if (!model.ok()) _exit(3);
      std::atomic<int> passed{0};
      std::atomic<int> other{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 10; ++i) {
            auto response = (*model)->Complete(Ask(), {});
            if (response.ok()) {
              passed.fetch_add(1);
            } else if (response.status().code() != absl::StatusCode::kResourceExhausted) {
              other.fetch_add(1);
            }
          }
        });
      }
      for (auto& thread : threads) thread.join();
      int result[2] = {passed.load(), other.load()};
      if (write(pipes[p][1], result, sizeof result) != sizeof result) _exit(4);
      _exit(0);
    }
    close(pipes[p][1]);
  }
  const auto start = std::chrono::steady_clock::now();
  int passed = 0;
  for (int p = 0; p < kProcesses; ++p) {
    int result[2] = {0, 0};
    ASSERT_EQ(read(pipes[p][0], result, sizeof result), static_cast<ssize_t>(sizeof result));
    close(pipes[p][0]);
    waitpid(children[p], nullptr, 0);
    EXPECT_EQ(result[1], 0);
    passed += result[0];
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("320 calls from 4 processes against 60/minute: %d passed in %.2f s\n", passed,
              seconds);
  // The bucket's 60, plus one a second refilled while the processes ran.
  EXPECT_GE(passed, 60);
  EXPECT_LE(passed, 60 + static_cast<int>(seconds) + 2);
  // A bad URL is refused at creation.
  EXPECT_EQ(RateLimiter::Create({.requests_per_minute = 1, .redis_url = "redis://127.0.0.1:1"})
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace llmkit
