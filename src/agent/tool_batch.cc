// RunTools: a turn's tool calls on their own threads (tool_batch.h).

#include "agent/tool_batch.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace llmkit::internal::agent {
namespace {

using Clock = CallContext::Clock;

absl::StatusOr<Json> CallTool(const ToolJob& job, const ToolContext& context) {
  try {
    return job.tool->run(job.arguments, context);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the tool threw: ", e.what()));
  } catch (...) {
    return absl::InternalError("the tool threw an exception");
  }
}

// Threads for tool calls, kept for the next call: starting a thread took about 50 µs here, more
// than the rest of a turn. A task gets an idle thread, or a new one when none is idle (a tool
// that blocks holds only its own thread, as with a thread per call); a thread idle for a minute
// ends. Never destroyed: threads still running a tool the run gave up on may outlive main().
class ToolThreads {
 public:
  static ToolThreads& Get() {
    static ToolThreads* const threads = new ToolThreads();
    return *threads;
  }

  // Starts every task; one wake-up call for all of them (each is a system call).
  void Run(std::vector<std::function<void()>> tasks) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& task : tasks) tasks_.push_back(std::move(task));
    const size_t wake = std::min(idle_, tasks_.size());
    for (size_t i = wake; i < tasks_.size(); ++i) std::thread([this] { Work(); }).detach();
    if (wake > 1) {
      cv_.notify_all();
    } else if (wake == 1) {
      cv_.notify_one();
    }
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (tasks_.empty()) {
        ++idle_;
        const bool woken =
            cv_.wait_for(lock, std::chrono::seconds(60), [this] { return !tasks_.empty(); });
        --idle_;
        if (!woken) return;
      }
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // What it captured is released outside the lock.
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // Guarded by mu_.
  size_t idle_ = 0;                          // Guarded by mu_.
};

// What the run's thread and a job's thread share; the job's thread may outlive the run.
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> done;       // Guarded by mu, as the rest.
  std::vector<bool> abandoned;  // Given up on (its timeout): nobody waits for it.
  std::vector<ToolOutcome> outcomes;
  // Jobs started, not done and not abandoned. Changed under mu; read without it to spin.
  std::atomic<size_t> awaited{0};
  std::atomic<size_t> ends{0};  // Jobs done, ever: read without mu to spin.
  // The run's thread wants to hear of each job's end (to report it, or to start the next);
  // else only of the last one's: each wake-up is a system call or two.
  bool wake_each = false;
};

}  // namespace

ToolOutcome OutcomeOf(const absl::StatusOr<Json>& value) {
  ToolOutcome out;
  if (!value.ok()) {
    out.is_error = true;
    out.text = absl::StrCat("Error: ", value.status().message());
  } else if (value->is_string()) {
    out.text = value->as_string();
  } else {
    out.text = value->Dump();
  }
  return out;
}

BatchEnd RunTools(const std::vector<ToolJob>& jobs, const CallContext& run_call,
                  const std::shared_ptr<Ceilings>& ceilings, int max_parallel,
                  std::vector<ToolOutcome>* outcomes, const std::function<void(size_t)>& started,
                  const std::function<void(size_t)>& finished, bool live_events) {
  const size_t n = jobs.size();
  outcomes->assign(n, ToolOutcome());
  if (n == 0) return BatchEnd::kDone;

  // When nothing can interrupt the run (no deadline, no cancellation), the last call without a
  // timeout of its own runs on this thread, beside the others: one thread fewer to wake.
  const bool uninterruptible = !run_call.has_deadline() && run_call.cancellation == nullptr;
  const bool inline_last = uninterruptible && jobs.back().tool->timeout.count() == 0;
  const size_t threaded = inline_last ? n - 1 : n;

  auto batch = std::make_shared<Batch>();
  batch->done.assign(n, false);
  batch->abandoned.assign(n, false);
  batch->outcomes.assign(n, ToolOutcome());
  std::vector<std::shared_ptr<Cancellation>> cancels(n);
  std::vector<Clock::time_point> deadlines(n, CallContext::kNoDeadline);
  std::vector<Clock::time_point> starts(n);
  std::vector<bool> collected(n, false);
  size_t next = 0, running = 0, left = n;
  const size_t parallel = static_cast<size_t>(std::max(1, max_parallel));

  // Called without the lock. Jobs that finished meanwhile keep their results.
  auto give_up = [&](BatchEnd end) {
    for (size_t i = 0; i < n; ++i) {
      if (collected[i]) continue;
      if (cancels[i] != nullptr) cancels[i]->Cancel();
      ToolOutcome& out = (*outcomes)[i];
      bool done = false;
      {
        std::lock_guard<std::mutex> guard(batch->mu);
        done = i < next && batch->done[i];
        if (done) {
          out = std::move(batch->outcomes[i]);
        } else {
          batch->abandoned[i] = true;
        }
      }
      if (done) {
        out.duration = Clock::now() - starts[i];
        finished(i);
        continue;
      }
      out.is_error = true;
      out.text = end == BatchEnd::kDeadline ? "Error: not finished: the run's deadline passed"
                                            : "Error: not finished: the run was cancelled";
      if (i < next) {
        out.duration = Clock::now() - starts[i];
        finished(i);
      }
    }
    return end;
  };

  std::unique_lock<std::mutex> lock(batch->mu);
  while (left > 0) {
    std::vector<std::function<void()>> tasks;
    while (running < parallel && next < threaded) {
      const size_t i = next++;
      const ToolJob& job = jobs[i];
      cancels[i] = run_call.Linked();
      starts[i] = Clock::now();
      Clock::time_point deadline = run_call.deadline;
      if (job.tool->timeout.count() > 0) {
        deadline = std::min(deadline, CallContext::DeadlineAfter(job.tool->timeout, starts[i]));
      }
      deadlines[i] = deadline;
      ToolContext context{run_call.WithCancellation(cancels[i]).WithDeadlineAtMost(deadline),
                          job.call.id, ceilings};
      context.call.deadline = deadline;
      if (!job.trace.traceparent.empty()) context.call.trace = job.trace;
      ++batch->awaited;
      lock.unlock();
      started(i);
      tasks.push_back([batch, job, context = std::move(context), i] {
        ToolOutcome out = OutcomeOf(CallTool(job, context));
        std::lock_guard<std::mutex> guard(batch->mu);
        batch->outcomes[i] = std::move(out);
        batch->done[i] = true;
        if (batch->abandoned[i]) return;
        --batch->awaited;
        ++batch->ends;
        if (batch->wake_each || batch->awaited == 0) batch->cv.notify_one();  // The run's thread.
      });
      lock.lock();
      ++running;
    }
    if (!tasks.empty()) ToolThreads::Get().Run(std::move(tasks));
    if (next == threaded && threaded < n && running < parallel) {
      const size_t i = next++;
      lock.unlock();
      started(i);
      starts[i] = Clock::now();
      ToolContext context{run_call, jobs[i].call.id, ceilings};
      if (!jobs[i].trace.traceparent.empty()) context.call.trace = jobs[i].trace;
      ToolOutcome out = OutcomeOf(CallTool(jobs[i], context));
      out.duration = Clock::now() - starts[i];
      (*outcomes)[i] = std::move(out);
      finished(i);
      lock.lock();
      collected[i] = true;
      --left;
      if (left == 0) break;
    }
    // Wake for a finished job, the soonest deadline, or every 20 ms to look at cancellation.
    Clock::time_point wake = Clock::now() + std::chrono::milliseconds(20);
    for (size_t i = 0; i < next; ++i) {
      if (!collected[i]) wake = std::min(wake, deadlines[i]);
    }
    batch->wake_each = live_events || next < threaded;
    {
      // Tools that return at once are collected without sleeping: a wait and a wake-up are
      // system calls, which cost more than a turn's own work. About 20 µs of spinning.
      const size_t ends = batch->ends.load();
      const bool wake_each = batch->wake_each;
      lock.unlock();
      const auto spin_until = Clock::now() + std::chrono::microseconds(20);
      while (Clock::now() < spin_until) {
        if (wake_each ? batch->ends.load() != ends : batch->awaited.load() == 0) break;
      }
      lock.lock();
    }
    batch->cv.wait_until(lock, wake, [&] {
      if (!batch->wake_each) return batch->awaited == 0;
      for (size_t i = 0; i < next; ++i) {
        if (!collected[i] && batch->done[i]) return true;
      }
      return false;
    });
    const auto now = Clock::now();
    for (size_t i = 0; i < next; ++i) {
      if (collected[i]) continue;
      if (batch->done[i]) {
        (*outcomes)[i] = std::move(batch->outcomes[i]);
      } else if (now >= deadlines[i] && deadlines[i] < run_call.deadline) {
        cancels[i]->Cancel();  // Its own timeout: the model is told, the run goes on.
        batch->abandoned[i] = true;
        --batch->awaited;
        (*outcomes)[i].is_error = true;
        (*outcomes)[i].text = absl::StrCat("Error: the tool did not finish within its timeout of ",
                                           jobs[i].tool->timeout.count(), " ms");
      } else {
        continue;
      }
      (*outcomes)[i].duration = now - starts[i];
      collected[i] = true;
      --running;
      --left;
      lock.unlock();
      finished(i);
      lock.lock();
    }
    if (left == 0) break;
    if (run_call.cancelled()) {
      lock.unlock();
      return give_up(BatchEnd::kCancelled);
    }
    if (run_call.has_deadline() && Clock::now() >= run_call.deadline) {
      lock.unlock();
      return give_up(BatchEnd::kDeadline);
    }
  }
  return BatchEnd::kDone;
}

}  // namespace llmkit::internal::agent
