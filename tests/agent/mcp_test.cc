// The MCP client against the reference servers from npm (scripts/install-test-peers.sh):
// @modelcontextprotocol/server-everything over stdio and streamable HTTP, and
// server-filesystem over stdio; plus small hostile servers written inline (node -e) that print
// garbage, ask the client for a ping, stall, or exit. Skipped when the packages are absent.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/scripted_chat_server.h"
#include "llmkit/agent.h"
#include "llmkit/openai.h"
#include "stores/peer_server.h"

namespace llmkit {
namespace {

using ::llmkit::testing::OpenAIText;
using ::llmkit::testing::OpenAIToolCalls;
using ::llmkit::testing::PeerServer;
using ::llmkit::testing::ScriptedChatServer;
using ::testing::Contains;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string Everything() {
  return PeerServer::Package("@modelcontextprotocol/server-everything/dist/index.js");
}

#define REQUIRE_PACKAGE(path)                                                            \
  if ((path).empty()) {                                                                  \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "MCP servers missing"; \
    GTEST_SKIP() << "the MCP reference servers are not installed: run "                  \
                    "scripts/install-test-peers.sh";                                     \
  }

std::vector<std::string> Names(const std::vector<McpTool>& tools) {
  std::vector<std::string> names;
  for (const McpTool& t : tools) names.push_back(t.name);
  return names;
}

TEST(McpStdio, EverythingServerListsAndCallsTools) {
  const std::string script = Everything();
  REQUIRE_PACKAGE(script);
  auto client = McpClient::Stdio({"node", script, "stdio"});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->protocol_version(), "2025-06-18");
  EXPECT_EQ((*client)->server_info().Find("name")->as_string(), "mcp-servers/everything");
  absl::StatusOr<std::vector<McpTool>> tools = (*client)->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.status();
  EXPECT_THAT(Names(*tools), Contains("echo"));
  EXPECT_THAT(Names(*tools), Contains("get-sum"));

  absl::StatusOr<McpCallResult> echo =
      (*client)->CallTool("echo", *Json::Parse(R"({"message": "hi"})"));
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->text, "Echo: hi");
  EXPECT_FALSE(echo->is_error);
  absl::StatusOr<McpCallResult> sum =
      (*client)->CallTool("get-sum", *Json::Parse(R"({"a": 2, "b": 3})"));
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->text, "The sum of 2 and 3 is 5.");
  // Bad arguments: the server says so, as a tool error or a JSON-RPC error.
  absl::StatusOr<McpCallResult> bad = (*client)->CallTool("get-sum", *Json::Parse(R"({"a": "x"})"));
  EXPECT_TRUE(!bad.ok() ? bad.status().code() == absl::StatusCode::kInvalidArgument : bad->is_error)
      << (bad.ok() ? bad->text : bad.status().ToString());
  absl::StatusOr<McpCallResult> missing = (*client)->CallTool("no-such-tool", Json::MakeObject());
  EXPECT_TRUE(!missing.ok() || missing->is_error);
}

TEST(McpStdio, DeadlinesAndCancellationGiveUpAndTheSessionGoesOn) {
  const std::string script = Everything();
  REQUIRE_PACKAGE(script);
  auto client = McpClient::Stdio({"node", script, "stdio"});
  ASSERT_TRUE(client.ok()) << client.status();
  const Json slow = *Json::Parse(R"({"duration": 5, "steps": 5})");
  auto t0 = Clock::now();
  absl::StatusOr<McpCallResult> r =
      (*client)->CallTool("trigger-long-running-operation", slow,
                          CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));

  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    call.cancellation->Cancel();
  });
  t0 = Clock::now();
  r = (*client)->CallTool("trigger-long-running-operation", slow, call);
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
  // The session still answers.
  absl::StatusOr<McpCallResult> echo =
      (*client)->CallTool("echo", *Json::Parse(R"({"message": "still here"})"));
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->text, "Echo: still here");
}

TEST(McpStdio, FilesystemServerReadsAFileOfItsDirectory) {
  const std::string script =
      PeerServer::Package("@modelcontextprotocol/server-filesystem/dist/index.js");
  REQUIRE_PACKAGE(script);
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "llmkit_mcp_fs_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "the launch code is 1234\n";
  auto client = McpClient::Stdio({"node", script, dir.string()});
  ASSERT_TRUE(client.ok()) << client.status();
  Json args = Json::MakeObject();
  args.Set("path", (dir / "notes.txt").string());
  absl::StatusOr<McpCallResult> read = (*client)->CallTool("read_text_file", args);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->text, "the launch code is 1234\n");
  // Outside its directory: the server refuses, as a tool error.
  Json outside = Json::MakeObject();
  outside.Set("path", "/etc/passwd");
  absl::StatusOr<McpCallResult> denied = (*client)->CallTool("read_text_file", outside);
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_TRUE(denied->is_error);
  EXPECT_THAT(denied->text, HasSubstr("denied"));
  std::filesystem::remove_all(dir);
}

TEST(McpHttp, EverythingServerOverStreamableHttp) {
  PeerServer server = PeerServer::McpEverythingHttp();
  if (!server.ok()) {
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << server.why();
    GTEST_SKIP() << server.why();
  }
  auto client = McpClient::Http(server.HttpUrl() + "/mcp");
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->server_info().Find("name")->as_string(), "mcp-servers/everything");
  absl::StatusOr<std::vector<McpTool>> tools = (*client)->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.status();
  EXPECT_THAT(Names(*tools), Contains("get-sum"));
  absl::StatusOr<McpCallResult> sum =
      (*client)->CallTool("get-sum", *Json::Parse(R"({"a": 20, "b": 22})"));
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->text, "The sum of 20 and 22 is 42.");
  auto t0 = Clock::now();
  absl::StatusOr<McpCallResult> slow = (*client)->CallTool(
      "trigger-long-running-operation", *Json::Parse(R"({"duration": 5, "steps": 5})"),
      CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
  // A second client has a session of its own.
  auto other = McpClient::Http(server.HttpUrl() + "/mcp");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE((*other)->CallTool("echo", *Json::Parse(R"({"message": "b"})")).ok());
  EXPECT_TRUE((*client)->CallTool("echo", *Json::Parse(R"({"message": "a"})")).ok());
}

TEST(McpAgent, AnAgentCallsMcpTools) {
  const std::string script = Everything();
  REQUIRE_PACKAGE(script);
  auto client = McpClient::Stdio({"node", script, "stdio"});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::vector<AgentTool>> tools = (*client)->Tools("everything_");
  ASSERT_TRUE(tools.ok()) << tools.status();
  ScriptedChatServer s({OpenAIToolCalls({{"c1", "everything_get-sum", R"({"a": 2, "b": 40})"},
                                         {"c2", "everything_echo", R"({"message": 7})"}}),
                        OpenAIText("2 + 40 = 42")});
  auto model = NewOpenAIClient(
      {.base_url = s.server().Url("/v1"), .api_key = "sk-test", .model = "gpt-4o-mini"});
  ASSERT_TRUE(model.ok());
  auto agent = Agent::Create(std::move(*model), {.tools = *tools});
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<AgentResult> r = (*agent)->Run("What is 2 + 40?");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "2 + 40 = 42");
  EXPECT_EQ(r->transcript[2].content, "The sum of 2 and 40 is 42.");
  // The server's draft-07 schema was checked before the call: a number is not a message.
  EXPECT_THAT(r->transcript[3].content, HasSubstr("invalid arguments for everything_echo"));
  Json request = s.requests()[0];
  bool listed = false;
  for (Json& t : request["tools"].as_array()) {
    listed |= t["function"]["name"].as_string() == "everything_get-sum";
  }
  EXPECT_TRUE(listed);
}

// A server written inline: node -e SCRIPT, reading newline-delimited JSON-RPC.
std::vector<std::string> Inline(const std::string& body) {
  return {"node", "-e",
          "const rl = require('readline').createInterface({input: process.stdin});\n"
          "const send = m => process.stdout.write(JSON.stringify(m) + '\\n');\n"
          "const init = id => send({jsonrpc: '2.0', id, result: {protocolVersion: '2025-06-18',"
          " capabilities: {tools: {}}, serverInfo: {name: 'inline'}}});\n" +
              body};
}

TEST(McpHostile, GarbageLinesAreSkippedAndServerRequestsAnswered) {
  if (std::system("node -e 0 > /dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  // Before answering tools/list the server prints garbage and pings the client, and answers
  // only once the ping's reply came back.
  auto client = McpClient::Stdio(Inline(R"(
let pending = null;
rl.on('line', line => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') { console.log('not json {'); init(m.id); }
  else if (m.method === 'tools/list') { pending = m.id; send({jsonrpc: '2.0', id: 'p1', method: 'ping'}); }
  else if (m.id === 'p1' && m.result) {
    send({jsonrpc: '2.0', method: 'notifications/message', params: {level: 'info', data: 'x'}});
    send({jsonrpc: '2.0', id: pending, result: {tools: [{name: 'a.b/c', inputSchema: {type: 'object'}}]}});
  }
});)"));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::vector<AgentTool>> tools = (*client)->Tools();
  ASSERT_TRUE(tools.ok()) << tools.status();
  ASSERT_EQ(tools->size(), 1u);
  EXPECT_EQ((*tools)[0].name, "a_b_c");  // Made a name providers accept.
}

TEST(McpHostile, ExitingStallingAndMissingServers) {
  if (std::system("node -e 0 > /dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  auto exits = McpClient::Stdio(
      {"node", "-e", "console.error('cannot open the database'); process.exit(3)"});
  EXPECT_EQ(exits.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(exits.status().message(), HasSubstr("cannot open the database"));

  auto stalls = McpClient::Stdio(Inline("rl.on('line', () => {});"), {},
                                 CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_EQ(stalls.status().code(), absl::StatusCode::kDeadlineExceeded);

  auto missing = McpClient::Stdio({"llmkit-no-such-mcp-server"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot start"));
  EXPECT_EQ(McpClient::Stdio({}).status().code(), absl::StatusCode::kInvalidArgument);

  auto old = McpClient::Stdio(Inline(R"(
rl.on('line', line => { const m = JSON.parse(line);
  if (m.method === 'initialize') send({jsonrpc: '2.0', id: m.id, result: {protocolVersion: '1999-01-01',
    capabilities: {}, serverInfo: {name: 'old'}}}); });)"));
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);

  // The environment: only the safe variables and what the options add.
  setenv("LLMKIT_TEST_SECRET", "sk-should-not-leak", 1);
  auto env = McpClient::Stdio(Inline(R"(
rl.on('line', line => { const m = JSON.parse(line);
  if (m.method === 'initialize') init(m.id);
  else if (m.method === 'tools/list') send({jsonrpc: '2.0', id: m.id, result: {tools: [
    {name: String(process.env.LLMKIT_TEST_SECRET) + '_' + String(process.env.ADDED), inputSchema: {type: 'object'}}]}}); });)"),
                              {.env = {{"ADDED", "yes"}}});
  ASSERT_TRUE(env.ok()) << env.status();
  absl::StatusOr<std::vector<McpTool>> listed = (*env)->ListTools();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ((*listed)[0].name, "undefined_yes");
}

}  // namespace
}  // namespace llmkit
