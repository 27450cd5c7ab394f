// RunStore: paused agent runs and their approvals in a SQLite database (agent.h).

#include <sqlite3.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/run_store_impl.h"
#include "common/absl_compat.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using internal::ToAbsl;

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::chrono::system_clock::time_point FromSeconds(double seconds) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(seconds)));
}

// A prepared statement, finalized at scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& Bind(int index, std::string_view text) {
    // An empty view may have no data pointer, which SQLite would bind as NULL.
    sqlite3_bind_text(stmt_, index, text.empty() ? "" : text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& BindNull(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text),
                                         static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  double Double(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless Commit() was called.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    rc_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  }
  ~Transaction() {
    if (rc_ == SQLITE_OK && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  int rc() const { return rc_; }
  int Commit() {
    done_ = true;
    return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_;
  int rc_;
  bool done_ = false;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS llmkit_runs (
  run_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  state TEXT NOT NULL,
  created REAL NOT NULL,
  updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llmkit_approvals (
  run_id TEXT NOT NULL,
  call_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  tool TEXT NOT NULL,
  arguments TEXT NOT NULL,
  requested REAL NOT NULL,
  decision TEXT,
  edited_arguments TEXT,
  reason TEXT,
  decided REAL,
  PRIMARY KEY (run_id, call_id)
);
)sql";

}  // namespace

absl::StatusOr<std::unique_ptr<RunStore::Impl>> RunStore::Impl::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::NotFoundError(absl::StrCat("run store ", path, ": ", message));
  }
  std::unique_ptr<Impl> impl(new Impl(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers do not block the writer; synchronous=FULL: a committed decision survives a
  // power cut.
  LLMKIT_RETURN_IF_ERROR(impl->Exec("PRAGMA journal_mode=WAL"));
  LLMKIT_RETURN_IF_ERROR(impl->Exec("PRAGMA synchronous=FULL"));
  LLMKIT_RETURN_IF_ERROR(impl->Exec(kSchema));
  return impl;
}

RunStore::Impl::~Impl() { sqlite3_close(db_); }

absl::Status RunStore::Impl::Error(std::string_view what) const {
  const int code = sqlite3_extended_errcode(db_);
  std::string message =
      absl::StrCat("run store ", path_, ": ", ToAbsl(what), ": ", sqlite3_errmsg(db_));
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED || (code & 0xff) == SQLITE_BUSY) {
    return absl::UnavailableError(message);
  }
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return absl::DataLossError(message);
  return absl::InternalError(message);
}

absl::Status RunStore::Impl::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
  return absl::OkStatus();
}

absl::Status RunStore::Impl::SavePaused(std::string_view run_id, const Json& state,
                                        const std::vector<PendingApproval>& approvals) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.rc() != SQLITE_OK) return Error("begin");
  const double now = NowSeconds();
  {
    Statement s(db_,
                "INSERT INTO llmkit_runs (run_id, status, state, created, updated) "
                "VALUES (?1, 'awaiting_approval', ?2, ?3, ?3) ON CONFLICT(run_id) DO UPDATE SET "
                "status = 'awaiting_approval', state = ?2, updated = ?3");
    if (!s.ok()) return Error("save the run");
    s.Bind(1, run_id).Bind(2, state.Dump()).Bind(3, now);
    if (s.Step() != SQLITE_DONE) return Error("save the run");
  }
  int64_t position = 0;
  for (const PendingApproval& a : approvals) {
    Statement s(db_,
                "INSERT INTO llmkit_approvals (run_id, call_id, position, tool, arguments, "
                "requested) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!s.ok()) return Error("save an approval");
    s.Bind(1, run_id).Bind(2, a.call_id).Bind(3, position++).Bind(4, a.tool);
    s.Bind(5, a.arguments.Dump()).Bind(6, now);
    if (s.Step() != SQLITE_DONE) return Error("save an approval");
  }
  if (tx.Commit() != SQLITE_OK) return Error("commit");
  return absl::OkStatus();
}

absl::StatusOr<RunStore::Impl::Claimed> RunStore::Impl::Claim(std::string_view run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.rc() != SQLITE_OK) return Error("begin");
  Claimed out;
  double paused = 0;
  {
    Statement s(db_, "SELECT status, state, updated FROM llmkit_runs WHERE run_id = ?1");
    if (!s.ok()) return Error("read the run");
    s.Bind(1, run_id);
    const int rc = s.Step();
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(absl::StrCat("no run '", ToAbsl(run_id), "' in ", path_));
    }
    if (rc != SQLITE_ROW) return Error("read the run");
    const std::string status = s.Text(0);
    if (status != "awaiting_approval") {
      return absl::FailedPreconditionError(
          absl::StrCat("run '", ToAbsl(run_id), "' is not awaiting approval (it is ", status, ")"));
    }
    absl::StatusOr<Json> state = Json::Parse(s.Text(1));
    if (!state.ok()) {
      return absl::DataLossError(absl::StrCat("run '", ToAbsl(run_id), "' in ", path_,
                                              ": corrupt state: ", state.status().message()));
    }
    out.state = *std::move(state);
    paused = s.Double(2);
  }
  {
    // The calls of the last pause (saved with it, so at its `updated` time or later decided).
    Statement s(db_,
                "SELECT call_id, tool, arguments, requested, decision, edited_arguments, reason "
                "FROM llmkit_approvals WHERE run_id = ?1 AND requested >= ?2 ORDER BY position");
    if (!s.ok()) return Error("read the approvals");
    s.Bind(1, run_id).Bind(2, paused);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      ApprovalDecision d;
      d.call_id = s.Text(0);
      d.decided = !s.IsNull(4);
      d.approved = s.Text(4) == "approved";
      if (!s.IsNull(5)) {
        absl::StatusOr<Json> edited = Json::Parse(s.Text(5));
        if (!edited.ok()) return absl::DataLossError("corrupt edited arguments");
        d.edited_arguments = *std::move(edited);
      }
      d.reason = s.Text(6);
      if (!d.decided) {
        absl::StatusOr<Json> arguments = Json::Parse(s.Text(2));
        out.undecided.push_back({std::string(run_id), d.call_id, s.Text(1),
                                 arguments.ok() ? *std::move(arguments) : Json(),
                                 FromSeconds(s.Double(3))});
      }
      out.decisions.push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) return Error("read the approvals");
  }
  if (!out.undecided.empty()) return out;  // Stays awaiting; nothing changes.
  {
    Statement s(db_, "UPDATE llmkit_runs SET status = 'running', updated = ?2 WHERE run_id = ?1");
    if (!s.ok()) return Error("claim the run");
    s.Bind(1, run_id).Bind(2, NowSeconds());
    if (s.Step() != SQLITE_DONE) return Error("claim the run");
  }
  if (tx.Commit() != SQLITE_OK) return Error("commit");
  return out;
}

absl::Status RunStore::Impl::Finish(std::string_view run_id, std::string_view status,
                                    const Json& state) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "UPDATE llmkit_runs SET status = ?2, state = ?3, updated = ?4 WHERE run_id = ?1");
  if (!s.ok()) return Error("save the run");
  s.Bind(1, run_id).Bind(2, status).Bind(3, state.Dump()).Bind(4, NowSeconds());
  if (s.Step() != SQLITE_DONE) return Error("save the run");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PendingApproval>> RunStore::Impl::Pending(std::string_view run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "SELECT a.run_id, a.call_id, a.tool, a.arguments, a.requested "
              "FROM llmkit_approvals a JOIN llmkit_runs r ON r.run_id = a.run_id "
              "WHERE r.status = 'awaiting_approval' AND a.decision IS NULL "
              "AND (?1 = '' OR a.run_id = ?1) ORDER BY a.requested, a.run_id, a.position");
  if (!s.ok()) return Error("list the approvals");
  s.Bind(1, run_id);
  std::vector<PendingApproval> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    absl::StatusOr<Json> arguments = Json::Parse(s.Text(3));
    if (!arguments.ok()) return absl::DataLossError("corrupt arguments in the run store");
    out.push_back(
        {s.Text(0), s.Text(1), s.Text(2), *std::move(arguments), FromSeconds(s.Double(4))});
  }
  if (rc != SQLITE_DONE) return Error("list the approvals");
  return out;
}

absl::Status RunStore::Impl::Decide(std::string_view run_id, std::string_view call_id, bool approve,
                                    std::optional<Json> edited_arguments, std::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (tx.rc() != SQLITE_OK) return Error("begin");
  {
    Statement s(db_,
                "SELECT r.status, a.decision FROM llmkit_approvals a JOIN llmkit_runs r "
                "ON r.run_id = a.run_id WHERE a.run_id = ?1 AND a.call_id = ?2");
    if (!s.ok()) return Error("read the approval");
    s.Bind(1, run_id).Bind(2, call_id);
    const int rc = s.Step();
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(absl::StrCat("no call '", ToAbsl(call_id), "' of run '",
                                              ToAbsl(run_id), "' awaits approval in ", path_));
    }
    if (rc != SQLITE_ROW) return Error("read the approval");
    if (s.Text(0) != "awaiting_approval") {
      return absl::FailedPreconditionError(absl::StrCat(
          "run '", ToAbsl(run_id), "' is no longer awaiting approval (it is ", s.Text(0), ")"));
    }
    if (!s.IsNull(1)) {
      return absl::FailedPreconditionError(
          absl::StrCat("call '", ToAbsl(call_id), "' was already ", s.Text(1)));
    }
  }
  {
    Statement s(db_,
                "UPDATE llmkit_approvals SET decision = ?3, edited_arguments = ?4, reason = ?5, "
                "decided = ?6 WHERE run_id = ?1 AND call_id = ?2");
    if (!s.ok()) return Error("record the decision");
    s.Bind(1, run_id).Bind(2, call_id).Bind(3, approve ? "approved" : "rejected");
    if (edited_arguments) {
      s.Bind(4, edited_arguments->Dump());
    } else {
      s.BindNull(4);
    }
    s.Bind(5, reason).Bind(6, NowSeconds());
    if (s.Step() != SQLITE_DONE) return Error("record the decision");
  }
  if (tx.Commit() != SQLITE_OK) return Error("commit");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RunStore::SavedRun>> RunStore::Impl::Runs(std::string_view run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_,
              "SELECT run_id, status, state, updated FROM llmkit_runs "
              "WHERE (?1 = '' OR run_id = ?1) ORDER BY updated DESC, run_id");
  if (!s.ok()) return Error("list the runs");
  s.Bind(1, run_id);
  std::vector<SavedRun> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    SavedRun run;
    run.run_id = s.Text(0);
    run.status = s.Text(1);
    run.updated = FromSeconds(s.Double(3));
    absl::StatusOr<Json> state = Json::Parse(s.Text(2));
    if (!state.ok()) return absl::DataLossError(absl::StrCat("run '", run.run_id, "': corrupt"));
    const Json* transcript = state->Find("transcript");
    if (transcript == nullptr)
      return absl::DataLossError(absl::StrCat("run '", run.run_id, "': no transcript"));
    LLMKIT_ASSIGN_OR_RETURN(run.transcript, internal::agent::MessagesFromJson(*transcript));
    out.push_back(std::move(run));
  }
  if (rc != SQLITE_DONE) return Error("list the runs");
  return out;
}

// --- RunStore -------------------------------------------------------------------------------

RunStore::RunStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunStore::~RunStore() = default;

absl::StatusOr<std::shared_ptr<RunStore>> RunStore::Open(const std::string& path) {
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Open(path));
  return std::shared_ptr<RunStore>(new RunStore(std::move(impl)));
}

absl::StatusOr<std::vector<PendingApproval>> RunStore::Pending(std::string_view run_id) const {
  return impl_->Pending(run_id);
}

absl::Status RunStore::Approve(std::string_view run_id, std::string_view call_id,
                               std::optional<Json> edited_arguments) {
  return impl_->Decide(run_id, call_id, true, std::move(edited_arguments), {});
}

absl::Status RunStore::Reject(std::string_view run_id, std::string_view call_id,
                              std::string_view reason) {
  return impl_->Decide(run_id, call_id, false, std::nullopt, reason);
}

absl::StatusOr<RunStore::SavedRun> RunStore::Get(std::string_view run_id) const {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<SavedRun> runs, impl_->Runs(run_id));
  if (run_id.empty() || runs.empty()) {
    return absl::NotFoundError(absl::StrCat("no run '", ToAbsl(run_id), "'"));
  }
  return std::move(runs.front());
}

absl::StatusOr<std::vector<RunStore::SavedRun>> RunStore::List() const { return impl_->Runs({}); }

// --- Messages as JSON -----------------------------------------------------------------------

namespace internal::agent {

Json MessagesToJson(const std::vector<Message>& messages) {
  Json out = Json::MakeArray();
  for (const Message& m : messages) {
    Json j = Json::MakeObject();
    j.Set("role", m.role);
    j.Set("content", m.content);
    if (!m.parts.empty()) {
      Json parts = Json::MakeArray();
      for (const ContentPart& p : m.parts) {
        Json part = Json::MakeObject();
        part.Set("type", p.type);
        part.Set("text", p.text);
        part.Set("image_url", p.image_url);
        parts.push_back(std::move(part));
      }
      j.Set("parts", std::move(parts));
    }
    if (!m.tool_calls.empty()) {
      Json calls = Json::MakeArray();
      for (const ToolCall& c : m.tool_calls) {
        Json call = Json::MakeObject();
        call.Set("id", c.id);
        call.Set("name", c.name);
        call.Set("arguments", c.arguments);
        calls.push_back(std::move(call));
      }
      j.Set("tool_calls", std::move(calls));
    }
    if (!m.tool_call_id.empty()) j.Set("tool_call_id", m.tool_call_id);
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

absl::StatusOr<std::string> StringField(const Json& object, std::string_view key) {
  const Json* v = object.Find(key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) {
    return absl::DataLossError(absl::StrCat("saved message: '", ToAbsl(key), "' is not a string"));
  }
  return v->as_string();
}

}  // namespace

absl::StatusOr<std::vector<Message>> MessagesFromJson(const Json& json) {
  if (!json.is_array()) return absl::DataLossError("saved transcript is not an array");
  std::vector<Message> out;
  for (const Json& j : json.as_array()) {
    if (!j.is_object()) return absl::DataLossError("saved message is not an object");
    Message m;
    LLMKIT_ASSIGN_OR_RETURN(m.role, StringField(j, "role"));
    LLMKIT_ASSIGN_OR_RETURN(m.content, StringField(j, "content"));
    LLMKIT_ASSIGN_OR_RETURN(m.tool_call_id, StringField(j, "tool_call_id"));
    if (const Json* parts = j.Find("parts"); parts != nullptr && parts->is_array()) {
      for (const Json& p : parts->as_array()) {
        ContentPart part;
        LLMKIT_ASSIGN_OR_RETURN(part.type, StringField(p, "type"));
        LLMKIT_ASSIGN_OR_RETURN(part.text, StringField(p, "text"));
        LLMKIT_ASSIGN_OR_RETURN(part.image_url, StringField(p, "image_url"));
        m.parts.push_back(std::move(part));
      }
    }
    if (const Json* calls = j.Find("tool_calls"); calls != nullptr && calls->is_array()) {
      for (const Json& c : calls->as_array()) {
        ToolCall call;
        LLMKIT_ASSIGN_OR_RETURN(call.id, StringField(c, "id"));
        LLMKIT_ASSIGN_OR_RETURN(call.name, StringField(c, "name"));
        LLMKIT_ASSIGN_OR_RETURN(call.arguments, StringField(c, "arguments"));
        m.tool_calls.push_back(std::move(call));
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace internal::agent
}  // namespace llmkit
