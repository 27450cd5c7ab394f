// RunTools: a turn's tool calls on their own threads (tool_batch.h).

#include "agent/tool_batch.h"

#include <algorithm>
#include <condition_variable>
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

// What the run's thread and a job's thread share; the job's thread may outlive the run.
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> done;             // Guarded by mu.
  std::vector<ToolOutcome> outcomes;  // Guarded by mu.
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
                  const std::function<void(size_t)>& finished) {
  const size_t n = jobs.size();
  outcomes->assign(n, ToolOutcome());
  if (n == 0) return BatchEnd::kDone;

  // One call that nothing can interrupt: run it here, without a thread.
  if (n == 1 && jobs[0].tool->timeout.count() == 0 && !run_call.has_deadline() &&
      run_call.cancellation == nullptr) {
    started(0);
    const auto t0 = Clock::now();
    ToolOutcome out = OutcomeOf(CallTool(jobs[0], {run_call, jobs[0].call.id, ceilings}));
    out.duration = Clock::now() - t0;
    (*outcomes)[0] = std::move(out);
    finished(0);
    return BatchEnd::kDone;
  }

  auto batch = std::make_shared<Batch>();
  batch->done.assign(n, false);
  batch->outcomes.assign(n, ToolOutcome());
  std::vector<std::shared_ptr<Cancellation>> cancels(n);
  std::vector<Clock::time_point> deadlines(n, CallContext::kNoDeadline);
  std::vector<Clock::time_point> starts(n);
  std::vector<bool> collected(n, false);
  size_t next = 0, running = 0, left = n;
  const size_t parallel = static_cast<size_t>(std::max(1, max_parallel));

  auto give_up = [&](BatchEnd end) {
    for (size_t i = 0; i < n; ++i) {
      if (collected[i]) continue;
      if (cancels[i] != nullptr) cancels[i]->Cancel();
      ToolOutcome& out = (*outcomes)[i];
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
    while (running < parallel && next < n) {
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
      lock.unlock();
      started(i);
      std::thread([batch, job, context = std::move(context), i] {
        ToolOutcome out = OutcomeOf(CallTool(job, context));
        std::lock_guard<std::mutex> guard(batch->mu);
        batch->outcomes[i] = std::move(out);
        batch->done[i] = true;
        batch->cv.notify_all();
      }).detach();
      lock.lock();
      ++running;
    }
    // Wake for a finished job, the soonest deadline, or every 20 ms to look at cancellation.
    Clock::time_point wake = Clock::now() + std::chrono::milliseconds(20);
    for (size_t i = 0; i < next; ++i) {
      if (!collected[i]) wake = std::min(wake, deadlines[i]);
    }
    batch->cv.wait_until(lock, wake, [&] {
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
