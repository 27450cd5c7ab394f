// The resilience load run shared by load_test (scaled) and resilience_benchmark (full size):
// many calls from many threads through WithRetry with a retry budget, against the scripted HTTP
// server failing a fixed share of requests with 503.

#ifndef LLMKIT_TESTS_RESILIENCE_LOAD_H_
#define LLMKIT_TESTS_RESILIENCE_LOAD_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/must.h"
#include "http/test_server.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"

namespace llmkit::testing {

struct LoadOptions {
  int calls = 10'000;
  int concurrency = 64;
  int failures_per_10 = 3;  // Requests n with n % 10 < this get a 503: 30% by default.
  double budget_ratio = 0.5;
  double budget_burst = 100;
  std::chrono::milliseconds call_timeout{10'000};
};

struct LoadResult {
  int succeeded = 0;
  int refused_by_budget = 0;  // Failed with kPayloadRetryBudget.
  int other_failures = 0;
  std::string first_failure;  // The first failed call's status, for the test's message.
  int server_requests = 0;
  double extra_load = 0;  // (server requests - calls) / calls.
  double seconds = 0;
  double slowest_call_seconds = 0;
  int threads_before = 0, threads_after = 0;  // Of this process, around the whole run.
  int fds_before = 0, fds_after = 0;
};

inline int CountEntries(const char* dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

inline LoadResult RunLoad(const LoadOptions& options) {
  LoadResult result;
  // Sanitizer runtimes start a helper thread with the first thread; let that happen first.
  std::thread([] {}).join();
  result.threads_before = CountEntries("/proc/self/task");
  result.fds_before = CountEntries("/proc/self/fd");
  {
    std::atomic<int> n{0};
    TestServer server([&](const ServerRequest&) {
      if (n++ % 10 < options.failures_per_10) {
        return Reply(503, R"({"error":{"message":"injected failure"}})");
      }
      return Reply(200, R"({"id":"c","choices":[{"message":{"content":"ok"},
                            "finish_reason":"stop"}]})");
    });
    auto client = NewOpenAIClient({.base_url = server.Url("/v1"), .model = "m"});
    if (!client.ok()) return result;
    RetryPolicy policy;
    // Requests fail at random-looking points of each call's sequence: ten retries in a row fail
    // once in ~0.3^11 calls (a flake every ~50 runs of 10,000 calls); twenty never do in practice.
    policy.max_retries = 20;
    policy.initial_backoff = std::chrono::milliseconds(1);
    policy.max_backoff = std::chrono::milliseconds(4);
    policy.budget = Must(RetryBudget::Create(options.budget_ratio, options.budget_burst));
    std::shared_ptr<ChatModel> model = Must(WithRetry(std::move(*client), policy));

    std::atomic<int> next{0}, succeeded{0}, refused{0}, other{0};
    std::mutex failure_mu;
    std::string first_failure;
    std::atomic<int64_t> slowest_ns{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < options.concurrency; ++t) {
      threads.emplace_back([&] {
        ChatRequest request;
        request.messages = {{.role = "user", .content = "hi"}};
        while (next++ < options.calls) {
          const auto call_start = std::chrono::steady_clock::now();
          absl::StatusOr<ChatResponse> r =
              model->Complete(request, CallContext::WithTimeout(options.call_timeout));
          const int64_t ns = (std::chrono::steady_clock::now() - call_start).count();
          int64_t seen = slowest_ns.load();
          while (ns > seen && !slowest_ns.compare_exchange_weak(seen, ns)) {
          }
          if (!r.ok()) {
            std::lock_guard lock(failure_mu);
            if (first_failure.empty()) first_failure = r.status().ToString();
          }
          if (r.ok()) {
            ++succeeded;
          } else if (GetPayload(r.status(), kPayloadRetryBudget).has_value()) {
            ++refused;
          } else {
            ++other;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.slowest_call_seconds = static_cast<double>(slowest_ns.load()) / 1e9;
    result.succeeded = succeeded;
    result.refused_by_budget = refused;
    result.other_failures = other;
    result.first_failure = first_failure;
    result.server_requests = server.requests();
    result.extra_load = static_cast<double>(result.server_requests - options.calls) / options.calls;
  }
  result.threads_after = CountEntries("/proc/self/task");
  result.fds_after = CountEntries("/proc/self/fd");
  return result;
}

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_RESILIENCE_LOAD_H_
