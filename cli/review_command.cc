// llmkit review list|show|approve|reject: the review queue of agent runs paused for approval
// (a RunStore file, agent.h).

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "args.h"
#include "commands.h"
#include "llmkit/agent.h"
#include "llmkit/json.h"

namespace llmkit::cli {
namespace {

const OptionSpec kStore = {"--store", "", "FILE",
                           "the run store (default $LLMKIT_RUN_STORE): llmkit.RunStore(path)"};
const OptionSpec kJson = {"--json", "", "", "print JSON instead of text"};

const CommandSpec kListSpec = {
    "review list",
    "[options]",
    "Lists the tool calls waiting for a decision, oldest first: run, call, tool, arguments and\n"
    "how long ago the run paused.",
    {},
    {kStore, kJson, {"--run", "", "RUN_ID", "only this run's calls"}}};
const CommandSpec kShowSpec = {"review show",
                               "RUN_ID [options]",
                               "Prints a run's status and transcript as last saved.",
                               {"RUN_ID"},
                               {kStore, kJson}};
const CommandSpec kApproveSpec = {
    "review approve",
    "RUN_ID CALL_ID [options]",
    "Lets a call run when its run resumes (Agent::Resume, agent.resume), with --arguments\n"
    "instead of the model's when given. The first decision on a call wins.",
    {"RUN_ID", "CALL_ID"},
    {kStore, {"--arguments", "", "JSON", "the arguments to run the call with instead"}}};
const CommandSpec kRejectSpec = {
    "review reject",
    "RUN_ID CALL_ID [options]",
    "The call does not run; when its run resumes the model is told it was rejected, and why.",
    {"RUN_ID", "CALL_ID"},
    {kStore, {"--reason", "", "TEXT", "what the model is told"}}};

void PrintReviewUsage(FILE* out) {
  std::fprintf(out,
               "usage: llmkit review list|show|approve|reject [options]\n\n"
               "  list      the calls waiting for a decision\n"
               "  show      a run's status and transcript\n"
               "  approve   let a call run (optionally with edited arguments)\n"
               "  reject    refuse a call, with a reason the model sees\n\n"
               "`llmkit review SUBCOMMAND --help` describes one.\n");
}

std::shared_ptr<RunStore> OpenStore(const Args& args, const char* command) {
  std::string path = args.Get("--store");
  if (path.empty()) {
    const char* env = std::getenv("LLMKIT_RUN_STORE");
    if (env != nullptr) path = env;
  }
  if (path.empty()) {
    std::fprintf(stderr, "llmkit %s: no run store: give --store FILE or set LLMKIT_RUN_STORE\n",
                 command);
    return nullptr;
  }
  absl::StatusOr<std::shared_ptr<RunStore>> store = RunStore::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "llmkit %s: %s\n", command, std::string(store.status().message()).c_str());
    return nullptr;
  }
  return *store;
}

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "llmkit %s: %s\n", command, std::string(status.message()).c_str());
  return kExitFailure;
}

std::string Age(std::chrono::system_clock::time_point t) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t)
          .count();
  if (seconds < 120) return absl::StrFormat("%ds", seconds);
  if (seconds < 7200) return absl::StrFormat("%dm", seconds / 60);
  if (seconds < 172800) return absl::StrFormat("%dh", seconds / 3600);
  return absl::StrFormat("%dd", seconds / 86400);
}

double Epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

int List(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kListSpec, argc, argv, 3, &exit);
  if (!args) return exit;
  std::shared_ptr<RunStore> store = OpenStore(*args, "review list");
  if (store == nullptr) return kExitFailure;
  absl::StatusOr<std::vector<PendingApproval>> pending = store->Pending(args->Get("--run"));
  if (!pending.ok()) return Fail("review list", pending.status());
  if (args->Has("--json")) {
    Json out = Json::MakeArray();
    for (const PendingApproval& p : *pending) {
      Json item = Json::MakeObject();
      item.Set("run_id", p.run_id);
      item.Set("call_id", p.call_id);
      item.Set("tool", p.tool);
      item.Set("arguments", p.arguments);
      item.Set("requested", Epoch(p.requested));
      out.push_back(std::move(item));
    }
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  if (pending->empty()) {
    std::printf("no calls are waiting for a decision\n");
    return kExitOk;
  }
  std::printf("%-36s  %-24s  %-20s  %5s  %s\n", "RUN", "CALL", "TOOL", "AGE", "ARGUMENTS");
  for (const PendingApproval& p : *pending) {
    std::printf("%-36s  %-24s  %-20s  %5s  %s\n", p.run_id.c_str(), p.call_id.c_str(),
                p.tool.c_str(), Age(p.requested).c_str(), p.arguments.Dump().c_str());
  }
  return kExitOk;
}

int Show(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kShowSpec, argc, argv, 3, &exit);
  if (!args) return exit;
  std::shared_ptr<RunStore> store = OpenStore(*args, "review show");
  if (store == nullptr) return kExitFailure;
  absl::StatusOr<RunStore::SavedRun> run = store->Get(args->positional(0));
  if (!run.ok()) return Fail("review show", run.status());
  absl::StatusOr<std::vector<PendingApproval>> pending = store->Pending(run->run_id);
  if (!pending.ok()) return Fail("review show", pending.status());
  if (args->Has("--json")) {
    Json out = Json::MakeObject();
    out.Set("run_id", run->run_id);
    out.Set("status", run->status);
    out.Set("updated", Epoch(run->updated));
    Json transcript = Json::MakeArray();
    for (const Message& m : run->transcript) {
      Json item = Json::MakeObject();
      item.Set("role", m.role);
      item.Set("content", m.content);
      if (!m.tool_call_id.empty()) item.Set("tool_call_id", m.tool_call_id);
      if (!m.tool_calls.empty()) {
        Json calls = Json::MakeArray();
        for (const ToolCall& c : m.tool_calls) {
          Json call = Json::MakeObject();
          call.Set("id", c.id);
          call.Set("name", c.name);
          call.Set("arguments", c.arguments);
          calls.push_back(std::move(call));
        }
        item.Set("tool_calls", std::move(calls));
      }
      transcript.push_back(std::move(item));
    }
    out.Set("transcript", std::move(transcript));
    Json waiting = Json::MakeArray();
    for (const PendingApproval& p : *pending) waiting.push_back(p.call_id);
    out.Set("pending", std::move(waiting));
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  std::printf("run %s: %s (updated %s ago)\n\n", run->run_id.c_str(), run->status.c_str(),
              Age(run->updated).c_str());
  for (const Message& m : run->transcript) {
    std::printf("[%s]%s%s\n", m.role.c_str(),
                m.tool_call_id.empty() ? "" : (" " + m.tool_call_id).c_str(),
                m.content.empty() ? "" : (" " + m.content).c_str());
    for (const ToolCall& c : m.tool_calls) {
      bool waiting = false;
      for (const PendingApproval& p : *pending) waiting |= p.call_id == c.id;
      std::printf("  -> %s %s(%s)%s\n", c.id.c_str(), c.name.c_str(), c.arguments.c_str(),
                  waiting ? "  [awaiting approval]" : "");
    }
  }
  return kExitOk;
}

int Decide(int argc, char** argv, bool approve) {
  const CommandSpec& spec = approve ? kApproveSpec : kRejectSpec;
  const char* command = approve ? "review approve" : "review reject";
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(spec, argc, argv, 3, &exit);
  if (!args) return exit;
  std::optional<Json> edited;
  if (approve && args->Has("--arguments")) {
    absl::StatusOr<Json> parsed = Json::Parse(args->Get("--arguments"));
    if (!parsed.ok() || !parsed->is_object()) {
      std::fprintf(stderr, "llmkit %s: --arguments must be a JSON object%s%s\n", command,
                   parsed.ok() ? "" : ": ",
                   parsed.ok() ? "" : std::string(parsed.status().message()).c_str());
      return kExitUsage;
    }
    edited = *std::move(parsed);
  }
  std::shared_ptr<RunStore> store = OpenStore(*args, command);
  if (store == nullptr) return kExitFailure;
  const std::string& run_id = args->positional(0);
  const std::string& call_id = args->positional(1);
  absl::Status status = approve ? store->Approve(run_id, call_id, std::move(edited))
                                : store->Reject(run_id, call_id, args->Get("--reason"));
  if (!status.ok()) return Fail(command, status);
  std::printf("%s %s of run %s\n", approve ? "approved" : "rejected", call_id.c_str(),
              run_id.c_str());
  return kExitOk;
}

}  // namespace

int RunReview(int argc, char** argv) {
  if (argc < 3) {
    PrintReviewUsage(stderr);
    return kExitUsage;
  }
  const std::string sub = argv[2];
  if (sub == "-h" || sub == "--help") {
    PrintReviewUsage(stdout);
    return kExitOk;
  }
  if (sub == "list") return List(argc, argv);
  if (sub == "show") return Show(argc, argv);
  if (sub == "approve") return Decide(argc, argv, true);
  if (sub == "reject") return Decide(argc, argv, false);
  std::fprintf(stderr, "llmkit review: unknown subcommand \"%s\"\n", sub.c_str());
  PrintReviewUsage(stderr);
  return kExitUsage;
}

}  // namespace llmkit::cli
