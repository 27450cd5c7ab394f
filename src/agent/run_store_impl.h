// The SQLite side of RunStore (agent.h) and what the agent loop saves in it: a paused run's
// state as JSON, its calls awaiting a decision, and the decisions.

#ifndef LLMKIT_SRC_AGENT_RUN_STORE_IMPL_H_
#define LLMKIT_SRC_AGENT_RUN_STORE_IMPL_H_

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "llmkit/agent.h"

struct sqlite3;

namespace llmkit {

// A reviewer's decision on one call of a paused run.
struct ApprovalDecision {
  std::string call_id;
  bool decided = false;
  bool approved = false;
  std::optional<Json> edited_arguments;
  std::string reason;
};

class RunStore::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Open(const std::string& path);
  ~Impl();

  // Saves a paused run (status awaiting_approval) and the calls it waits on, in one transaction.
  absl::Status SavePaused(std::string_view run_id, const Json& state,
                          const std::vector<PendingApproval>& approvals);
  struct Claimed {
    Json state;
    std::vector<ApprovalDecision> decisions;  // Of the calls saved with the last pause.
    std::vector<PendingApproval> undecided;
  };
  // The saved state and decisions of a run awaiting approval; when every call is decided the run
  // becomes "running" (so no other process resumes it). kNotFound, kFailedPrecondition.
  absl::StatusOr<Claimed> Claim(std::string_view run_id);
  // Records the state a run ended (or paused again: use SavePaused) with.
  absl::Status Finish(std::string_view run_id, std::string_view status, const Json& state);

  absl::StatusOr<std::vector<PendingApproval>> Pending(std::string_view run_id);
  absl::Status Decide(std::string_view run_id, std::string_view call_id, bool approve,
                      std::optional<Json> edited_arguments, std::string_view reason);
  absl::StatusOr<std::vector<SavedRun>> Runs(std::string_view run_id);

 private:
  Impl(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Error(std::string_view what) const;
  absl::Status Exec(const char* sql);

  sqlite3* db_;
  std::string path_;
  std::mutex mu_;  // One statement at a time on db_.
};

namespace internal::agent {

struct RunStoreAccess {
  static RunStore::Impl& Of(RunStore& store) { return *store.impl_; }
};

// A conversation as JSON and back, every field kept (the run store's format).
Json MessagesToJson(const std::vector<Message>& messages);
absl::StatusOr<std::vector<Message>> MessagesFromJson(const Json& json);

}  // namespace internal::agent
}  // namespace llmkit

#endif  // LLMKIT_SRC_AGENT_RUN_STORE_IMPL_H_
