// An agent from C++: a tool-calling loop with a ceiling on turns, a tool that needs a person's
// approval, and a run store that keeps the paused run until someone decides. The server and key
// come from the environment (OPENAI_BASE_URL, OPENAI_API_KEY); ctest runs this against a local
// fake that asks for get_weather and then answers with its result.
//
//   build/release/examples/agent_quickstart /tmp/runs.db

#include <cstdio>

#include "llmkit/agent.h"
#include "llmkit/openai.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  absl::StatusOr<std::shared_ptr<llmkit::RunStore>> store = llmkit::RunStore::Open(argv[1]);
  if (!model.ok() || !store.ok()) return 1;

  llmkit::AgentTool weather{
      .name = "get_weather",
      .description = "Current weather for a city",
      .parameters = *llmkit::Json::Parse(R"({"type": "object",
          "properties": {"city": {"type": "string"}}, "required": ["city"]})"),
      .run = [](const llmkit::Json& args,
                const llmkit::ToolContext&) -> absl::StatusOr<llmkit::Json> {
        return llmkit::Json("18C in " + args.Find("city")->as_string());
      },
      .needs_approval = true,  // A person says yes before it runs.
  };
  absl::StatusOr<std::unique_ptr<llmkit::Agent>> agent =
      llmkit::Agent::Create(std::move(*model), {.instructions = "Answer in one sentence.",
                                                .tools = {weather},
                                                .limits = {.max_turns = 5},
                                                .run_store = *store});
  if (!agent.ok()) return 1;

  absl::StatusOr<llmkit::AgentResult> run = (*agent)->Run("What is the weather in Paris?");
  if (!run.ok()) return 1;
  // The run paused: it is saved in the store. Any process may now look and decide.
  absl::StatusOr<std::vector<llmkit::PendingApproval>> pending = (*store)->Pending(run->run_id);
  if (!pending.ok()) return 1;
  for (const llmkit::PendingApproval& p : *pending) {
    std::printf("%s wants %s(%s)\n", p.run_id.substr(0, 4).c_str(), p.tool.c_str(),
                p.arguments.Dump().c_str());
    if (!(*store)->Approve(p.run_id, p.call_id).ok()) return 1;
  }
  absl::StatusOr<llmkit::AgentResult> done = (*agent)->Resume(run->run_id);
  if (!done.ok()) {
    std::fprintf(stderr, "%s\n", std::string(done.status().message()).c_str());
    return 1;
  }
  std::printf("%s: %s (%d turns, %lld tool calls, %lld tokens)\n",
              std::string(llmkit::AgentStopReasonName(done->stop_reason)).c_str(),
              done->text.c_str(), done->turns, static_cast<long long>(done->tool_calls),
              static_cast<long long>(done->usage.total_tokens));
  return 0;
}
