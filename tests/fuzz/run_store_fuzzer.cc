// Fuzz target: a run store whose saved state (and edited arguments) are arbitrary bytes, as a
// damaged or hand-edited database would hold, resumed by an agent. Resume must return a result
// or an error (kDataLoss for what cannot be read), never crash. The first byte picks whether
// the approval is decided (bit 0), approved (bit 1) and edited (bit 2); with bit 3 the rest is
// wrapped as the transcript of an otherwise well-formed state.

#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "llmkit/agent.h"

namespace {

class AnsweringModel : public llmkit::ChatModel {
 public:
  absl::StatusOr<llmkit::ChatResponse> Complete(const llmkit::ChatRequest&,
                                                const llmkit::CallContext&) override {
    llmkit::ChatResponse r;
    r.text = r.message.content = "ok";
    r.message.role = "assistant";
    return r;
  }
  absl::StatusOr<llmkit::ChatResponse> Stream(const llmkit::ChatRequest& request,
                                              const llmkit::StreamCallback&,
                                              const llmkit::CallContext& call) override {
    return Complete(request, call);
  }
};

void Exec(sqlite3* db, const char* sql, const std::string& a, const std::string& b) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return;
  sqlite3_bind_text(s, 1, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  sqlite3_step(s);
  sqlite3_finalize(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // One database for every input (in /dev/shm when there is one: no disk flushes), emptied
  // before each; the store, the agent and a raw connection are made once.
  static sqlite3* db = nullptr;
  static std::shared_ptr<llmkit::RunStore> store;
  static std::unique_ptr<llmkit::Agent> agent;
  if (db == nullptr) {
    const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    const std::string path = dir + "/llmkit_run_store_fuzz_" + std::to_string(getpid());
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    absl::StatusOr<std::shared_ptr<llmkit::RunStore>> opened = llmkit::RunStore::Open(path);
    if (!opened.ok() || sqlite3_open(path.c_str(), &db) != SQLITE_OK) std::abort();
    store = *opened;
    llmkit::AgentTool transfer;
    transfer.name = "transfer";
    transfer.parameters = *llmkit::Json::Parse(R"({"type": "object"})");
    transfer.needs_approval = true;
    transfer.run = [](const llmkit::Json& args,
                      const llmkit::ToolContext&) -> absl::StatusOr<llmkit::Json> {
      return llmkit::Json(args.Dump());
    };
    auto made = llmkit::Agent::Create(std::make_shared<AnsweringModel>(),
                                      {.tools = {transfer}, .run_store = store});
    if (!made.ok()) std::abort();
    agent = std::move(*made);
  }
  sqlite3_exec(db, "DELETE FROM llmkit_runs; DELETE FROM llmkit_approvals", nullptr, nullptr,
               nullptr);

  const uint8_t flags = data[0];
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string state = bytes;
  if (flags & 8) {
    state = R"({"version": 1, "turns": 1, "transcript": )" + bytes +
            R"(, "calls": [{"call_id": "t1", "await": true, "arguments": {"to": "bob"}}]})";
  }
  Exec(db,
       "INSERT INTO llmkit_runs (run_id, status, state, created, updated) "
       "VALUES ('run_f', 'awaiting_approval', ?1, 1, 1)",
       state, "");
  Exec(db,
       "INSERT INTO llmkit_approvals (run_id, call_id, position, tool, arguments, requested) "
       "VALUES ('run_f', 't1', 0, 'transfer', ?1, 1)",
       bytes, "");
  if (flags & 1) {
    Exec(db,
         "UPDATE llmkit_approvals SET decision = ?1, edited_arguments = ?2, decided = 2 "
         "WHERE run_id = 'run_f'",
         (flags & 2) ? "approved" : "rejected", (flags & 4) ? bytes : std::string("{}"));
  }
  (void)store->Pending();
  (void)store->List();
  (void)agent->Resume("run_f");
  return 0;
}
