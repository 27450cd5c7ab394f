// The load run at full size: 10,000 calls at concurrency 64 with 30% of requests failing. With a
// budget above the retries needed (3/7 of calls), every call succeeds within its deadline and the
// extra load is the 3/7 the failures cost; with a tight budget, the extra load is the budget. No
// thread or socket outlives the run. (Also as a benchmark:
// build/release/benchmarks/resilience_benchmark.)

#include "resilience/load.h"

#include "gtest/gtest.h"

namespace llmkit {
namespace {

using testing::LoadOptions;
using testing::LoadResult;
using testing::RunLoad;

constexpr int kCalls = 10000;

TEST(ResilienceLoad, EveryCallSucceedsWithinItsBudget) {
  LoadOptions options;
  options.calls = kCalls;
  options.budget_ratio = 0.5;
  options.budget_burst = 100;
  LoadResult r = RunLoad(options);
  EXPECT_EQ(r.succeeded, kCalls) << r.first_failure;
  EXPECT_EQ(r.refused_by_budget + r.other_failures, 0) << r.first_failure;
  EXPECT_LT(r.slowest_call_seconds, 10.0);
  // 30% of requests fail and every call ends in a success: requests = calls / 0.7.
  EXPECT_NEAR(r.extra_load, 3.0 / 7.0, 0.01);
  EXPECT_LE(r.extra_load, 0.5 + 100.0 / kCalls);
  EXPECT_EQ(r.threads_after, r.threads_before);
  EXPECT_EQ(r.fds_after, r.fds_before);
  std::printf("%d calls in %.2f s: extra load %.3f, slowest call %.3f s\n", kCalls, r.seconds,
              r.extra_load, r.slowest_call_seconds);
}

TEST(ResilienceLoad, ATightBudgetCapsTheExtraLoad) {
  LoadOptions options;
  options.calls = kCalls;
  options.budget_ratio = 0.1;
  options.budget_burst = 10;
  LoadResult r = RunLoad(options);
  // Retries <= 0.1 * calls + burst, and the budget is used up: the extra load is the budget.
  EXPECT_LE(r.extra_load, 0.1 + 10.0 / kCalls);
  EXPECT_GE(r.extra_load, 0.09);
  EXPECT_GT(r.refused_by_budget, 0);
  EXPECT_EQ(r.other_failures, 0) << r.first_failure;
  EXPECT_EQ(r.succeeded + r.refused_by_budget, kCalls);
  EXPECT_EQ(r.threads_after, r.threads_before);
  EXPECT_EQ(r.fds_after, r.fds_before);
  std::printf("%d calls: extra load %.3f, %d refused by the budget\n", kCalls, r.extra_load,
              r.refused_by_budget);
}

}  // namespace
}  // namespace llmkit
