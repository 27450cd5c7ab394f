// Tracing and metrics: spans and metrics of traced chat and embedding calls, exported as
// OTLP/JSON to a local HTTP receiver and decoded there with the OTLP protobuf messages
// (@opentelemetry/otlp-transformer, tests/observe/otlp_check.js); every emitted name checked
// against @opentelemetry/semantic-conventions 1.45.0; trace context joined and passed on in the
// traceparent header; a stalled collector never slows a call (bounded queue, drops counted);
// the Prometheus text.

#include "llmkit/observe.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/agent.h"
#include "llmkit/guard.h"
#include "llmkit/json.h"
#include "llmkit/openai.h"
#include "llmkit/rag.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "llmkit/template.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;

std::string PeersDir() {
  const char* env = std::getenv("LLMKIT_PEERS_DIR");
  return env != nullptr && *env != '\0' ? env : LLMKIT_PEERS_DIR_DEFAULT;
}

bool HavePeers() {
  return std::filesystem::exists(PeersDir() +
                                 "/node_modules/@opentelemetry/otlp-transformer/package.json") &&
         std::filesystem::exists(PeersDir() +
                                 "/node_modules/@opentelemetry/semantic-conventions/package.json");
}

#define REQUIRE_PEERS()                                                                        \
  if (!HavePeers()) {                                                                          \
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no OpenTelemetry packages"; \
    GTEST_SKIP() << "no OpenTelemetry npm packages: run scripts/install-test-peers.sh";        \
  }

// Runs otlp_check.js and parses what it prints.
Json RunCheck(const std::string& mode, const std::vector<std::string>& bodies) {
  std::string command = "node " + std::string(LLMKIT_TEST_SOURCE_DIR) + "/observe/otlp_check.js " +
                        PeersDir() + " " + mode;
  std::vector<std::string> files;
  for (size_t i = 0; i < bodies.size(); ++i) {
    files.push_back(::testing::TempDir() + "llmkit_otlp_" + std::to_string(getpid()) + "_" + mode +
                    std::to_string(i) + ".json");
    std::ofstream(files.back()) << bodies[i];
    command += " " + files.back();
  }
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return Json();
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  for (const std::string& f : files) std::filesystem::remove(f);
  EXPECT_EQ(status, 0) << out;
  absl::StatusOr<Json> parsed = Json::Parse(out);
  EXPECT_TRUE(parsed.ok()) << out;
  return parsed.ok() ? *parsed : Json();
}

// An in-process model: answers from a script, records the trace context it was given.
class FakeModel : public ChatModel, public EmbeddingModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    seen_traceparent = call.trace.traceparent;
    if (fail) {
      absl::Status error = absl::UnavailableError("overloaded");
      error.SetPayload("llmkit/http_status", absl::Cord("503"));
      return error;
    }
    ChatResponse r;
    r.id = "chatcmpl-1";
    r.model = request.model + "-2025";
    r.text = "Paris.";
    r.finish_reason = "stop";
    r.usage = {
        .input_tokens = 12, .output_tokens = 3, .total_tokens = 15, .cached_input_tokens = 4};
    return r;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    for (const char* piece : {"Par", "is."}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      StreamEvent event;
      event.text = piece;
      if (!on_event(event)) return absl::CancelledError("stopped");
    }
    return Complete(request, call);
  }
  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext&) override {
    Embeddings e;
    e.dimensions = 2;
    e.values.assign(inputs.size() * 2, 0.5f);
    e.model = options.model;
    e.usage.input_tokens = static_cast<int64_t>(inputs.size()) * 3;
    return e;
  }
  std::string seen_traceparent;
  bool fail = false;
};

struct Collector {
  std::mutex mu;
  std::vector<std::string> traces, metrics;
  std::vector<std::string> encodings;  // Each request's Content-Encoding ("" when none).
  TestServer server{[this](const ServerRequest& r) {
    std::lock_guard lock(mu);
    (absl::EndsWith(r.path, "/v1/traces") ? traces : metrics).push_back(r.body);
    std::string encoding;
    for (const auto& [name, value] : r.headers) {
      if (absl::EqualsIgnoreCase(name, "Content-Encoding")) encoding = value;
    }
    encodings.push_back(encoding);
    return Reply(200, "{}");
  }};
};

TEST(Tracing, SpansAndMetricsDecodeAsOtlpWithConventionNames) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.service_name = "observe-test",
                                .resource = {{"deployment.environment", std::string("test")}},
                                .traces_endpoint = collector.server.Url("/v1/traces"),
                                .metrics_endpoint = collector.server.Url("/v1/metrics"),
                                .tag_attributes = {"feature"}})
                    .value();
  auto fake = std::make_shared<FakeModel>();
  TracingOptions where{
      .provider = "openai", .server_address = "api.example.com", .server_port = 443};
  auto chat = WithTracing(std::static_pointer_cast<ChatModel>(fake), tracer, where).value();
  auto embed = WithTracing(std::static_pointer_cast<EmbeddingModel>(fake), tracer, where).value();

  // The host's trace: llmkit's span joins it, and the model gets llmkit's span as parent.
  CallContext call;
  call.trace.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  call.tags = {{"feature", "search"}, {"user", "u-123"}};
  ChatRequest request;
  request.model = "gpt-4o";
  request.max_tokens = 50;
  request.temperature = 0.2;
  request.messages = {{.role = "user", .content = "Capital of France?"}};
  ASSERT_TRUE(chat->Complete(request, call).ok());
  const std::string inner_parent = fake->seen_traceparent;
  std::string streamed;
  ASSERT_TRUE(chat->Stream(request,
                           [&](const StreamEvent& e) {
                             streamed += e.text;
                             return true;
                           })
                  .ok());
  EXPECT_EQ(streamed, "Paris.");
  fake->fail = true;
  EXPECT_EQ(chat->Complete(request).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(embed->Embed({"a", "b"}, {.model = "text-embedding-3-small"}).ok());
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());

  std::vector<std::string> traces, metrics;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
    metrics = collector.metrics;
  }
  ASSERT_FALSE(traces.empty());
  ASSERT_FALSE(metrics.empty());
  Json spans = RunCheck("traces", traces);
  ASSERT_TRUE(spans.is_array());
  ASSERT_EQ(spans.as_array().size(), 4u) << spans.Dump();
  Json first = spans.as_array()[0];
  EXPECT_EQ(first["name"].as_string(), "chat gpt-4o");
  EXPECT_EQ(first["kind"].as_int(), 3);  // CLIENT
  EXPECT_EQ(first["traceId"].as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(first["parentSpanId"].as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(inner_parent,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-" + first["spanId"].as_string() + "-01");
  EXPECT_EQ(first["resource"]["service.name"].as_string(), "observe-test");
  EXPECT_EQ(first["resource"]["deployment.environment"].as_string(), "test");
  Json a = first["attributes"];
  EXPECT_EQ(a["gen_ai.operation.name"].as_string(), "chat");
  EXPECT_EQ(a["gen_ai.provider.name"].as_string(), "openai");
  EXPECT_EQ(a["gen_ai.request.model"].as_string(), "gpt-4o");
  EXPECT_EQ(a["gen_ai.response.model"].as_string(), "gpt-4o-2025");
  EXPECT_EQ(a["gen_ai.response.id"].as_string(), "chatcmpl-1");
  EXPECT_EQ(a["gen_ai.response.finish_reasons"].Dump(), R"(["stop"])");
  EXPECT_EQ(a["gen_ai.usage.input_tokens"].as_string(), "12");  // int64 as a string.
  EXPECT_EQ(a["gen_ai.usage.output_tokens"].as_string(), "3");
  EXPECT_EQ(a["gen_ai.usage.cache_read.input_tokens"].as_string(), "4");
  EXPECT_EQ(a["gen_ai.request.max_tokens"].as_string(), "50");
  EXPECT_DOUBLE_EQ(a["gen_ai.request.temperature"].as_double(), 0.2);
  EXPECT_EQ(a["server.address"].as_string(), "api.example.com");
  EXPECT_EQ(a["llmkit.tag.feature"].as_string(), "search");
  EXPECT_EQ(a.Find("llmkit.tag.user"), nullptr);        // Not an allowed tag key.
  EXPECT_EQ(a.Find("gen_ai.input.messages"), nullptr);  // No content by default.
  Json stream = spans.as_array()[1];
  EXPECT_NE(stream["traceId"].as_string(), first["traceId"].as_string());  // A new trace.
  EXPECT_EQ(stream["parentSpanId"].as_string(), "");
  EXPECT_TRUE(stream["attributes"]["gen_ai.request.stream"].as_bool());
  EXPECT_GT(stream["attributes"]["gen_ai.response.time_to_first_chunk"].as_double(), 0.004);
  Json failed = spans.as_array()[2];
  EXPECT_EQ(failed["status"].as_int(), 2);  // ERROR
  EXPECT_EQ(failed["attributes"]["error.type"].as_string(), "503");
  EXPECT_EQ(spans.as_array()[3]["name"].as_string(), "embeddings text-embedding-3-small");

  Json decoded_metrics = RunCheck("metrics", {metrics.back()});
  std::set<std::string> metric_names;
  for (Json m : decoded_metrics.as_array()) {
    metric_names.insert(m["name"].as_string());
    if (m["name"].as_string() == "gen_ai.client.token.usage") {
      EXPECT_EQ(m["unit"].as_string(), "{token}");
      EXPECT_EQ(m["points"].as_array()[0]["explicitBounds"].as_array().size(), 14u);
    }
  }
  EXPECT_EQ(metric_names, (std::set<std::string>{"gen_ai.client.operation.duration",
                                                 "gen_ai.client.operation.time_to_first_chunk",
                                                 "gen_ai.client.token.usage"}));

  // Every name llmkit emitted is a convention's or llmkit's own.
  Json names = RunCheck("names", {});
  std::set<std::string> known;
  for (const Json& n : names.as_array()) known.insert(n.as_string());
  ASSERT_GT(known.size(), 100u);
  std::set<std::string> emitted(metric_names);
  for (Json span : spans.as_array()) {
    for (const auto& [key, value] : span["attributes"].as_object()) emitted.insert(key);
  }
  for (Json m : decoded_metrics.as_array()) {
    for (Json p : m["points"].as_array()) {
      for (const auto& [key, value] : p["attributes"].as_object()) emitted.insert(key);
    }
  }
  for (const std::string& name : emitted) {
    EXPECT_TRUE(known.count(name) > 0 || absl::StartsWith(name, "llmkit."))
        << name << " is neither in the semantic conventions nor in llmkit's namespace";
  }
}

TEST(Tracing, AStalledCollectorNeverSlowsACall) {
  std::atomic<int> posts{0};
  TestServer stalled([&](const ServerRequest&) {
    ++posts;
    return ::llmkit::testing::Script{Sleep(3000)};
  });
  auto tracer = Tracer::Create({.traces_endpoint = stalled.Url("/v1/traces"),
                                .max_queue_size = 8,
                                .max_export_batch_size = 4,
                                .schedule_delay = std::chrono::milliseconds(10),
                                .export_timeout = std::chrono::milliseconds(200)})
                    .value();
  auto chat =
      WithTracing(std::static_pointer_cast<ChatModel>(std::make_shared<FakeModel>()), tracer)
          .value();
  ChatRequest request;
  request.model = "m";
  auto slowest = std::chrono::nanoseconds(0);
  for (int i = 0; i < 200; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(chat->Complete(request).ok());
    slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
  }
  EXPECT_LT(slowest, std::chrono::milliseconds(50));
  TracerStats stats = tracer->stats();
  EXPECT_EQ(stats.spans_ended, 200u);
  EXPECT_GT(stats.spans_dropped, 150u);  // The queue holds 8.
  for (int i = 0; i < 100 && posts.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(posts.load(), 1);
  // Destroying the tracer is bounded by export_timeout, not by the collector.
  const auto start = std::chrono::steady_clock::now();
  chat.reset();
  tracer.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Tracing, TraceparentReachesTheProviderAndPrometheusTextAddsUp) {
  std::mutex mu;
  std::string seen;
  TestServer provider([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    for (const auto& [k, v] : r.headers) {
      if (k == "traceparent") seen = v;
    }
    return Reply(200, R"({"id": "c", "model": "m", "choices": [{"index": 0,
      "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
      "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})");
  });
  auto tracer = Tracer::Create().value();  // No endpoint: metrics for Prometheus only.
  std::shared_ptr<ChatModel> client =
      NewOpenAIClient({.base_url = provider.Url("/v1"), .api_key = "k", .model = "m"}).value();
  auto chat = WithTracing(client, tracer, {.provider = "openai", .default_model = "m"}).value();
  ChatRequest request;
  request.messages = {{.role = "user", .content = "hi"}};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(chat->Complete(request).ok());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 55u) << seen;
    EXPECT_EQ(seen.substr(0, 3), "00-");
  }
  // A malformed traceparent from a host is not sent on (and cannot inject a header).
  CallContext hostile;
  hostile.trace.traceparent = "00-x\r\nX-Evil: 1";
  ASSERT_TRUE(client->Complete(request, hostile).ok());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.find("Evil"), std::string::npos);
  }
  const std::string text = tracer->PrometheusText();
  EXPECT_THAT(text, HasSubstr("# TYPE gen_ai_client_token_usage histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE gen_ai_client_operation_duration_seconds histogram"));
  EXPECT_THAT(text,
              HasSubstr("gen_ai_client_token_usage_bucket{gen_ai_operation_name=\"chat\","
                        "gen_ai_provider_name=\"openai\",gen_ai_request_model=\"m\","
                        "gen_ai_response_model=\"m\",gen_ai_token_type=\"input\",le=\"16\"} 3"));
  EXPECT_THAT(text, HasSubstr("gen_ai_token_type=\"input\"} 15\n"));  // _sum: 3 x 5 tokens.
  EXPECT_THAT(text, HasSubstr("gen_ai_token_type=\"output\",le=\"1\"} 3"));
  EXPECT_EQ(tracer->stats().spans_ended, 3u);
  EXPECT_EQ(Tracer::Create({.max_queue_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Tracer::Create({.traces_endpoint = "ftp://x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A RAG answer is one trace: the workflow span, and the retrieval and chat spans under it.
TEST(Tracing, ARagAnswerIsOneTraceWithRetrievalAndChatUnderIt) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces")}).value();
  auto chat = WithTracing(std::static_pointer_cast<ChatModel>(std::make_shared<FakeModel>()),
                          tracer, {.provider = "openai"})
                  .value();
  RagOptions options;
  options.chat = std::move(chat);
  options.chat_model = "gpt-4o";
  options.tracer = tracer;
  auto rag = RagPipeline::Create(options).value();
  ASSERT_TRUE(rag->Ingest({{.id = "tides", .text = "Tides follow the moon's gravity."},
                           {.id = "bread", .text = "Knead the dough, let it rise."}})
                  .ok());
  ASSERT_TRUE(rag->Answer("What causes tides?").ok());
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
  }
  Json spans = RunCheck("traces", traces);
  std::map<std::string, Json> by_name;
  for (Json span : spans.as_array()) by_name[span["name"].as_string()] = span;
  ASSERT_EQ(by_name.count("llmkit.rag.ingest"), 1u) << spans.Dump();
  ASSERT_EQ(by_name.count("invoke_workflow rag"), 1u) << spans.Dump();
  ASSERT_EQ(by_name.count("retrieval local"), 1u) << spans.Dump();
  ASSERT_EQ(by_name.count("chat gpt-4o"), 1u) << spans.Dump();
  Json answer = by_name["invoke_workflow rag"];
  for (const char* child : {"retrieval local", "chat gpt-4o"}) {
    EXPECT_EQ(by_name[child]["traceId"].as_string(), answer["traceId"].as_string()) << child;
    EXPECT_EQ(by_name[child]["parentSpanId"].as_string(), answer["spanId"].as_string()) << child;
  }
  EXPECT_EQ(answer["kind"].as_int(), 1);  // INTERNAL
  EXPECT_EQ(answer["attributes"]["gen_ai.workflow.name"].as_string(), "rag");
  EXPECT_EQ(by_name["retrieval local"]["attributes"]["gen_ai.data_source.id"].as_string(), "local");
  EXPECT_EQ(by_name["llmkit.rag.ingest"]["attributes"]["llmkit.rag.documents"].as_string(), "2");
}

// Asks for get_weather once, then answers.
class ToolAskingModel final : public ChatModel {
 public:
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request, const CallContext&) override {
    ChatResponse r;
    r.model = "gpt-4o";
    r.usage = {.input_tokens = 10, .output_tokens = 2, .total_tokens = 12};
    r.message.role = "assistant";
    if (request.messages.back().role == "tool") {
      r.text = r.message.content = "18C.";
    } else {
      r.message.tool_calls.push_back({"call_1", "get_weather", R"({"city": "Paris"})"});
    }
    return r;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(request, call);
  }
};

TEST(Tracing, AnAgentRunIsOneTraceWithItsToolAndChatSpansUnderIt) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces")}).value();
  auto chat =
      WithTracing(std::make_shared<ToolAskingModel>(), tracer, {.provider = "openai"}).value();
  AgentTool weather;
  weather.name = "get_weather";
  weather.run = [](const Json&, const ToolContext& context) -> absl::StatusOr<Json> {
    return Json(context.call.trace.traceparent);  // The tool sees its span as the parent.
  };
  auto agent =
      Agent::Create(std::move(chat), {.tools = {weather}, .tracer = tracer, .name = "weather"});
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<AgentResult> r = (*agent)->Run("Weather?");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
  }
  Json spans = RunCheck("traces", traces);
  std::map<std::string, std::vector<Json>> by_name;
  for (Json span : spans.as_array()) by_name[span["name"].as_string()].push_back(span);
  ASSERT_EQ(by_name["invoke_agent weather"].size(), 1u) << spans.Dump();
  ASSERT_EQ(by_name["execute_tool get_weather"].size(), 1u) << spans.Dump();
  ASSERT_EQ(by_name["chat gpt-4o"].size(), 2u) << spans.Dump();
  Json run = by_name["invoke_agent weather"][0];
  Json tool = by_name["execute_tool get_weather"][0];
  EXPECT_EQ(run["kind"].as_int(), 1);  // INTERNAL
  EXPECT_EQ(run["attributes"]["gen_ai.operation.name"].as_string(), "invoke_agent");
  EXPECT_EQ(run["attributes"]["gen_ai.agent.name"].as_string(), "weather");
  EXPECT_EQ(run["attributes"]["gen_ai.usage.input_tokens"].as_string(), "20");
  EXPECT_EQ(run["attributes"]["llmkit.agent.stop_reason"].as_string(), "completed");
  EXPECT_EQ(tool["attributes"]["gen_ai.operation.name"].as_string(), "execute_tool");
  EXPECT_EQ(tool["attributes"]["gen_ai.tool.call.id"].as_string(), "call_1");
  for (Json child : {tool, by_name["chat gpt-4o"][0], by_name["chat gpt-4o"][1]}) {
    EXPECT_EQ(child["traceId"].as_string(), run["traceId"].as_string());
    EXPECT_EQ(child["parentSpanId"].as_string(), run["spanId"].as_string());
  }
  EXPECT_THAT(r->transcript[2].content, HasSubstr(tool["spanId"].as_string()));
  Json names = RunCheck("names", {});
  std::set<std::string> known;
  for (const Json& n : names.as_array()) known.insert(n.as_string());
  for (Json span : spans.as_array()) {
    for (const auto& [key, value] : span["attributes"].as_object()) {
      EXPECT_TRUE(known.count(key) > 0 || absl::StartsWith(key, "llmkit."))
          << key << " is neither in the semantic conventions nor in llmkit's namespace";
    }
  }
}

// Fails its first `failures` calls with a 503, then answers.
class FlakyModel final : public ChatModel {
 public:
  explicit FlakyModel(int failures) : failures_(failures) {}
  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request, const CallContext&) override {
    if (calls_++ < failures_) {
      return WithPayload(absl::UnavailableError("overloaded"), kPayloadHttpStatus, "503");
    }
    ChatResponse response;
    response.model = request.model;
    response.text = "ok";
    return response;
  }
  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback&,
                                      const CallContext& call) override {
    return Complete(request, call);
  }

 private:
  int failures_;
  int calls_ = 0;
};

TEST(Tracing, RetryAttemptsAndFallbackHopsAreChildSpansAndCounted) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces")}).value();
  // The primary always fails; the second attempt falls back to the backup, which answers.
  std::vector<FallbackTarget<ChatModel>> targets = {
      {.model = std::make_shared<FlakyModel>(1000), .name = "primary"},
      {.model = std::make_shared<FlakyModel>(1), .name = "backup"}};
  std::shared_ptr<ChatModel> fallback =
      WithFallback(std::move(targets), {.cooldown = std::chrono::milliseconds(0), .tracer = tracer})
          .value();
  std::shared_ptr<ChatModel> retried =
      WithRetry(fallback, {.initial_backoff = std::chrono::milliseconds(1), .tracer = tracer})
          .value();
  auto traced = WithTracing(retried, tracer, {.provider = "openai"}).value();
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{.role = "user", .content = "hi"}};
  auto response = traced->Complete(request, {});
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
  }
  Json spans = RunCheck("traces", traces);
  std::map<std::string, std::vector<Json>> by_name;
  for (Json span : spans.as_array()) by_name[span["name"].as_string()].push_back(span);
  ASSERT_EQ(by_name["chat gpt-4o"].size(), 1u) << spans.Dump();
  ASSERT_EQ(by_name["retry attempt"].size(), 2u) << spans.Dump();
  // Attempt 1: primary (503) then backup (503); attempt 2: primary (503) then backup (ok).
  ASSERT_EQ(by_name["fallback primary"].size(), 2u) << spans.Dump();
  ASSERT_EQ(by_name["fallback backup"].size(), 2u) << spans.Dump();
  Json call = by_name["chat gpt-4o"][0];
  std::set<std::string> attempt_ids;
  for (Json attempt : by_name["retry attempt"]) {
    EXPECT_EQ(attempt["parentSpanId"].as_string(), call["spanId"].as_string());
    EXPECT_EQ(attempt["kind"].as_int(), 1);  // INTERNAL
    attempt_ids.insert(attempt["spanId"].as_string());
  }
  int failed_hops = 0;
  for (const char* name : {"fallback primary", "fallback backup"}) {
    for (Json hop : by_name[name]) {
      EXPECT_EQ(attempt_ids.count(hop["parentSpanId"].as_string()), 1u) << name;
      if (const Json* type = hop["attributes"].Find("error.type")) {
        EXPECT_EQ(type->as_string(), "503");
        ++failed_hops;
      }
    }
  }
  EXPECT_EQ(failed_hops, 3);
  const std::string metrics = tracer->PrometheusText();
  EXPECT_THAT(metrics, HasSubstr("llmkit_retries"));
  EXPECT_THAT(metrics, HasSubstr("llmkit_fallbacks"));
}

TEST(Tracing, ContentIsRecordedOnlyWhenAskedAndAfterTheGuardsRedaction) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces")}).value();
  auto fake = std::make_shared<FakeModel>();
  std::shared_ptr<ChatModel> traced =
      WithTracing(std::static_pointer_cast<ChatModel>(fake), tracer, {.record_content = true})
          .value();
  auto guarded = WithGuard(traced, {.input_pii = GuardAction::kRedact}).value();
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{.role = "system", .content = "Answer briefly."},
                      {.role = "user", .content = "Write to ada@example.com: capital of France?"},
                      {.role = "assistant",
                       .tool_calls = {{.id = "c1", .name = "lookup", .arguments = "{\"q\":1}"}}},
                      {.role = "tool", .content = "Paris", .tool_call_id = "c1"}};
  ASSERT_TRUE(guarded->Complete(request, {}).ok());
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
  }
  Json spans = RunCheck("traces", traces);
  ASSERT_EQ(spans.as_array().size(), 1u) << spans.Dump();
  Json a = spans.as_array()[0]["attributes"];
  EXPECT_EQ(a["gen_ai.system_instructions"].as_string(),
            R"([{"type":"text","content":"Answer briefly."}])");
  const std::string input = a["gen_ai.input.messages"].as_string();
  EXPECT_EQ(input.find("ada@example.com"), std::string::npos) << input;  // Redacted first.
  Json parsed = Json::Parse(input).value();
  ASSERT_EQ(parsed.size(), 3u) << input;
  std::vector<Json> messages = parsed.as_array();
  EXPECT_EQ(messages[0]["role"].as_string(), "user");
  EXPECT_THAT(messages[0]["parts"].as_array()[0]["content"].as_string(),
              HasSubstr("capital of France?"));
  EXPECT_EQ(messages[1]["parts"].as_array()[0].Dump(),
            R"({"type":"tool_call","id":"c1","name":"lookup","arguments":{"q":1}})");
  EXPECT_EQ(messages[2]["parts"].as_array()[0].Dump(),
            R"({"type":"tool_call_response","id":"c1","response":"Paris"})");
  EXPECT_EQ(a["gen_ai.output.messages"].as_string(),
            R"([{"role":"assistant","parts":[{"type":"text","content":"Paris."}],)"
            R"("finish_reason":"stop"}])");
}

TEST(Tracing, ExportsAreGzippedWhenAsked) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces"),
                                .metrics_endpoint = collector.server.Url("/v1/metrics"),
                                .compression = "gzip"})
                    .value();
  auto chat =
      WithTracing(std::static_pointer_cast<ChatModel>(std::make_shared<FakeModel>()), tracer)
          .value();
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{.role = "user", .content = std::string(4000, 'x')}};
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(chat->Complete(request, {}).ok());
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces, metrics, encodings;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
    metrics = collector.metrics;
    encodings = collector.encodings;
  }
  ASSERT_FALSE(traces.empty());
  ASSERT_FALSE(metrics.empty());
  for (const std::string& encoding : encodings) EXPECT_EQ(encoding, "gzip");
  for (const std::string& body : traces) {
    ASSERT_GE(body.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x1f);  // The gzip magic.
    EXPECT_EQ(static_cast<unsigned char>(body[1]), 0x8b);
  }
  Json spans = RunCheck("traces", traces);  // Inflated and decoded as a collector does.
  ASSERT_EQ(spans.size(), 20u);
  EXPECT_EQ(spans.as_array()[0]["name"].as_string(), "chat gpt-4o");
  EXPECT_GT(RunCheck("metrics", {metrics.back()}).size(), 0u);
  // Configured as the SDKs are; anything but gzip or none is refused.
  setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
  EXPECT_EQ(TracerOptionsFromEnvironment().compression, "gzip");
  unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
  EXPECT_EQ(Tracer::Create({.compression = "brotli"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Tracer::Create({.compression = "none"}).ok());
}

TEST(Tracing, TemplateRendersAreSpansWhenATracerIsGiven) {
  REQUIRE_PEERS();
  Collector collector;
  auto tracer = Tracer::Create({.traces_endpoint = collector.server.Url("/v1/traces")}).value();
  auto greeting =
      Template::Compile("Hello {{ name }}!", {.name = "greeting", .tracer = tracer}).value();
  CallContext call;
  call.trace.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  EXPECT_EQ(greeting.Render(*Json::Parse(R"({"name": "Ada"})"), call).value(), "Hello Ada!");
  auto strict =
      Template::Compile("{{ missing.x }}",
                        {.undefined = UndefinedMode::kStrict, .name = "strict", .tracer = tracer})
          .value();
  EXPECT_FALSE(strict.Render(Json()).ok());
  auto untraced = Template::Compile("{{ 1 + 1 }}").value();  // No tracer: no span.
  EXPECT_EQ(untraced.Render(Json()).value(), "2");
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(10)).ok());
  std::vector<std::string> traces;
  {
    std::lock_guard lock(collector.mu);
    traces = collector.traces;
  }
  Json spans = RunCheck("traces", traces);
  ASSERT_EQ(spans.size(), 2u) << spans.Dump();
  Json ok = spans.as_array()[0];
  EXPECT_EQ(ok["name"].as_string(), "template render greeting");
  EXPECT_EQ(ok["kind"].as_int(), 1);  // INTERNAL
  EXPECT_EQ(ok["traceId"].as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ok["attributes"]["llmkit.template.output_bytes"].as_string(), "10");  // int64.
  Json failed = spans.as_array()[1];
  EXPECT_EQ(failed["name"].as_string(), "template render strict");
  EXPECT_EQ(failed["status"].as_int(), 2);  // ERROR
  EXPECT_EQ(failed["attributes"]["error.type"].as_string(), "invalid_argument");
}

// A sleeper that returns at once: a rate limiter's wait is counted without being slept.
class NoSleep final : public Sleeper {
 public:
  bool Sleep(std::chrono::nanoseconds, const Cancellation*) override { return true; }
};

TEST(Tracing, BreakerStateChangesAndRateLimitWaitsAreCounted) {
  auto tracer = Tracer::Create({}).value();
  auto breaker = CircuitBreaker::Create({.window = 2,
                                         .min_calls = 2,
                                         .open_for = std::chrono::milliseconds(30),
                                         .half_open_calls = 1,
                                         .name = "primary",
                                         .tracer = tracer})
                     .value();
  auto model = WithCircuitBreaker(std::make_shared<FlakyModel>(2), breaker).value();
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{.role = "user", .content = "hi"}};
  EXPECT_FALSE(model->Complete(request, {}).ok());  // 503
  EXPECT_FALSE(model->Complete(request, {}).ok());  // 503: opens
  EXPECT_EQ(GetPayload(model->Complete(request, {}).status(), kPayloadCircuitOpen), "primary");
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_TRUE(model->Complete(request, {}).ok());  // Half-open trial succeeds: closed.
  const std::string breaker_metrics = tracer->PrometheusText();
  for (const char* state : {"open", "half_open", "closed"}) {
    EXPECT_THAT(breaker_metrics,
                HasSubstr(absl::StrCat("llmkit_circuit_breaker_state_changes_total{llmkit_circuit_"
                                       "breaker=\"primary\",llmkit_circuit_breaker_state=\"",
                                       state, "\"} 1")))
        << breaker_metrics;
  }
  EXPECT_THAT(breaker_metrics,
              HasSubstr("llmkit_circuit_breaker_rejections_total{llmkit_circuit_breaker="
                        "\"primary\"} 1"));

  // One request a minute: the second call waits a minute (not slept here), the third with
  // wait=false is refused.
  auto limiter =
      RateLimiter::Create(
          {.requests_per_minute = 1, .sleeper = std::make_shared<NoSleep>(), .tracer = tracer})
          .value();
  auto limited = WithRateLimit(std::make_shared<FlakyModel>(0), limiter).value();
  EXPECT_TRUE(limited->Complete(request, {}).ok());
  EXPECT_TRUE(limited->Complete(request, {}).ok());
  auto refusing =
      RateLimiter::Create({.requests_per_minute = 1, .wait = false, .tracer = tracer}).value();
  auto strict = WithRateLimit(std::make_shared<FlakyModel>(0), refusing).value();
  EXPECT_TRUE(strict->Complete(request, {}).ok());
  EXPECT_EQ(strict->Complete(request, {}).status().code(), absl::StatusCode::kResourceExhausted);
  const std::string metrics = tracer->PrometheusText();
  EXPECT_THAT(metrics, HasSubstr("llmkit_rate_limit_waits_total{llmkit_rate_limit=\"local\"} 1"))
      << metrics;
  EXPECT_THAT(metrics,
              HasSubstr("llmkit_rate_limit_refusals_total{llmkit_rate_limit=\"local\"} 1"));
  // The minute waited, give or take the milliseconds the test took.
  const size_t at = metrics.find("llmkit_rate_limit_wait_ms_total{llmkit_rate_limit=\"local\"} ");
  ASSERT_NE(at, std::string::npos) << metrics;
  const int64_t waited_ms = std::stoll(metrics.substr(metrics.find("} ", at) + 2));
  EXPECT_GT(waited_ms, 59'000);
  EXPECT_LE(waited_ms, 60'000);
}

std::string FetchText(const std::string& url) {
  static std::shared_ptr<HttpTransport> transport = NewCurlTransport().value();
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.timeout = std::chrono::milliseconds(5000);
  absl::StatusOr<HttpResponse> response = transport->Send(std::move(request));
  return response.ok() && response->status == 200 ? response->body : "";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t size = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

// promtool accepts the text; a real Prometheus server scrapes the endpoint and its query API
// gives back the values.
TEST(Tracing, PrometheusScrapesTheMetricsEndpoint) {
  if (std::system("command -v prometheus > /dev/null && command -v promtool > /dev/null") != 0) {
    if (std::getenv("LLMKIT_REQUIRE_PEERS") != nullptr) FAIL() << "no prometheus";
    GTEST_SKIP() << "Debian's prometheus package is not installed (make deps installs it)";
  }
  auto tracer = Tracer::Create().value();
  auto chat = WithTracing(std::static_pointer_cast<ChatModel>(std::make_shared<FakeModel>()),
                          tracer, {.provider = "openai"})
                  .value();
  ChatRequest request;
  request.model = "gpt-4o";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(chat->Complete(request).ok());
  absl::StatusOr<int> port = tracer->ServeMetrics();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(tracer->ServeMetrics().status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string base = "http://127.0.0.1:" + std::to_string(*port);
  const std::string text = FetchText(base + "/metrics");
  ASSERT_EQ(text, tracer->PrometheusText());
  EXPECT_EQ(FetchText(base + "/other"), "");  // 404
  const std::string dir = ::testing::TempDir() + "llmkit_prometheus_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/metrics.txt") << text;
  EXPECT_EQ(std::system(("promtool check metrics < " + dir + "/metrics.txt").c_str()), 0);

  const int web = FreePort();
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: llmkit\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << *port << "']\n";
  const pid_t server = fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    const std::string config = "--config.file=" + dir + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + dir + "/data";
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(web);
    freopen("/dev/null", "w", stdout);
    freopen((dir + "/prometheus.log").c_str(), "w", stderr);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  // The input tokens of three calls (12 each), as Prometheus read them from the endpoint.
  const std::string query = "http://127.0.0.1:" + std::to_string(web) +
                            "/api/v1/query?query=gen_ai_client_token_usage_sum%7B"
                            "gen_ai_token_type%3D%22input%22%7D";
  std::string value;
  for (int i = 0; i < 300 && value.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<Json> answer = Json::Parse(FetchText(query));
    if (!answer.ok()) continue;
    const Json* data = answer->Find("data");
    const Json* result = data != nullptr ? data->Find("result") : nullptr;
    if (result == nullptr || !result->is_array() || result->as_array().empty()) continue;
    Json first = result->as_array()[0];
    value = first["value"].as_array()[1].as_string();
    EXPECT_EQ(first["metric"]["gen_ai_request_model"].as_string(), "gpt-4o");
  }
  kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);
  EXPECT_EQ(value, "36");
  std::filesystem::remove_all(dir);
}

// A stream's span ends however the stream ends: stopped by its callback after the first chunk
// (cancelled), failing after two chunks (the provider's 503), or read to the end. Each records
// its time to the first chunk and its duration with error.type.
TEST(Tracing, AStreamsSpanEndsHoweverTheStreamEnds) {
  auto tracer = Tracer::Create().value();
  auto fake = std::make_shared<FakeModel>();
  auto chat = WithTracing(std::static_pointer_cast<ChatModel>(fake), tracer, {.provider = "openai"})
                  .value();
  ChatRequest request;
  request.model = "gpt-4o";
  request.messages = {{.role = "user", .content = "hi"}};
  EXPECT_EQ(chat->Stream(request, [](const StreamEvent&) { return false; }).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(tracer->stats().spans_ended, 1u);
  fake->fail = true;
  EXPECT_EQ(chat->Stream(request, [](const StreamEvent&) { return true; }).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(tracer->stats().spans_ended, 2u);
  fake->fail = false;
  EXPECT_TRUE(chat->Stream(request, [](const StreamEvent&) { return true; }).ok());
  EXPECT_EQ(tracer->stats().spans_ended, 3u);
  const std::string text = tracer->PrometheusText();
  for (const char* type : {"cancelled", "503"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat(
                          "gen_ai_client_operation_duration_seconds_count{error_type=\"", type,
                          R"(",gen_ai_operation_name="chat",gen_ai_provider_name="openai",)",
                          R"(gen_ai_request_model="gpt-4o"} 1)", "\n")));
  }
  uint64_t first_chunks = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "gen_ai_client_operation_time_to_first_chunk_seconds_count")) {
      uint64_t n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(line.substr(line.rfind(' ') + 1), &n)) << line;
      first_chunks += n;
    }
  }
  EXPECT_EQ(first_chunks, 3u);
}

// The standard variables configure the exporter as the SDKs read them: endpoint, headers and
// resource values percent-decoded (W3C Baggage), a header that would smuggle in another one not
// sent, service name, batching, OTEL_SDK_DISABLED. A collector answering 429 with Retry-After
// is retried after the wait, not given up on.
TEST(Tracing, EnvironmentConfiguresTheExporterAndA429IsRetried) {
  std::mutex mu;
  std::vector<HttpHeaders> seen;
  std::vector<std::string> accepted;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  TestServer collector([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    if (!absl::EndsWith(r.path, "/v1/traces")) return Reply(200, "{}");
    seen.push_back(r.headers);
    arrivals.push_back(std::chrono::steady_clock::now());
    if (seen.size() == 1) return Reply(429, "slow down", {{"Retry-After", "1"}});
    accepted.push_back(r.body);
    return Reply(200, "{}");
  });
  std::string base = collector.Url("/");
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base.c_str(), 1);
  setenv("OTEL_EXPORTER_OTLP_HEADERS",
         "Authorization=Bearer%20s3cr3t, X-Team = ml ,X-Bad=a%0D%0AX-Evil:%201", 1);
  setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod%2Ceu,service.name=ignored", 1);
  setenv("OTEL_SERVICE_NAME", "env-test", 1);
  setenv("OTEL_BSP_SCHEDULE_DELAY", "20", 1);
  TracerOptions options = TracerOptionsFromEnvironment();
  setenv("OTEL_SDK_DISABLED", "TRUE", 1);
  EXPECT_TRUE(TracerOptionsFromEnvironment().disabled);
  for (const char* name :
       {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SERVICE_NAME", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_SDK_DISABLED"}) {
    unsetenv(name);
  }
  EXPECT_EQ(options.traces_endpoint, collector.Url("/v1/traces"));
  EXPECT_EQ(options.metrics_endpoint, collector.Url("/v1/metrics"));
  EXPECT_EQ(options.schedule_delay, std::chrono::milliseconds(20));
  EXPECT_EQ(options.service_name, "env-test");
  EXPECT_FALSE(options.disabled);

  auto tracer = Tracer::Create(options).value();
  tracer->StartSpan("exported once", {}).End();
  ASSERT_TRUE(tracer->Flush(std::chrono::steady_clock::now() + std::chrono::seconds(20)).ok());
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);  // Refused once, accepted on the retry.
  EXPECT_GE(arrivals[1] - arrivals[0], std::chrono::milliseconds(900));  // Retry-After: 1.
  for (const HttpHeaders& headers : seen) {
    EXPECT_EQ(FindHeader(headers, "Authorization").value_or(""), "Bearer s3cr3t");
    EXPECT_EQ(FindHeader(headers, "X-Team").value_or(""), "ml");
    EXPECT_FALSE(FindHeader(headers, "X-Bad").has_value());
    EXPECT_FALSE(FindHeader(headers, "X-Evil").has_value());
  }
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_THAT(accepted[0], HasSubstr(R"("stringValue":"env-test")"));
  EXPECT_THAT(accepted[0], HasSubstr(R"("stringValue":"prod,eu")"));
  EXPECT_THAT(accepted[0], HasSubstr("exported once"));
  EXPECT_EQ(tracer->stats().export_failures, 0u);
  EXPECT_EQ(tracer->stats().spans_exported, 1u);
}

// RecordCall (what WithTracing uses) gives the metrics of the Record* calls one by one, also when
// the attribute sets, the fields given and the tracers alternate (its per-thread memo must never
// hand one set's or one tracer's points to another).
TEST(Tracing, RecordCallIsTheRecordCallsOneByOne) {
  auto together = Tracer::Create().value();
  auto apart = Tracer::Create().value();
  auto other = Tracer::Create().value();
  const Attributes a = {{"gen_ai.operation.name", std::string("chat")},
                        {"gen_ai.request.model", std::string("a")}};
  const Attributes b = {{"gen_ai.operation.name", std::string("chat")},
                        {"gen_ai.request.model", std::string("b")}};
  const Attributes a_error = {{"gen_ai.operation.name", std::string("chat")},
                              {"gen_ai.request.model", std::string("a")},
                              {"error.type", std::string("503")}};
  struct Step {
    Tracer* tracer;  // `together` or `other`
    const Attributes* attributes;
    Tracer::CallMetrics metrics;
  };
  // Consecutive calls that differ only in the attribute set (2), only in the store (5, 6), only
  // in the fields given (3, 4).
  const std::vector<Step> steps = {
      {together.get(), &a, {.duration_seconds = 0.5, .input_tokens = 10, .output_tokens = 2}},
      {together.get(), &b, {.duration_seconds = 1.5, .input_tokens = 300, .output_tokens = 0}},
      {together.get(),
       &a,
       {.duration_seconds = 0.05, .input_tokens = 7, .output_tokens = 3, .cost_usd = 0.002}},
      {together.get(), &a, {.duration_seconds = 2.5}},
      {other.get(), &b, {.duration_seconds = 9}},
      {together.get(), &b, {.duration_seconds = 0.3}},
      {together.get(), &a_error, {.duration_seconds = 0.01, .input_tokens = 5}},
      {together.get(), &a, {.duration_seconds = 0.7, .input_tokens = 10, .output_tokens = 2}},
  };
  for (const Step& step : steps) {
    step.tracer->RecordCall(step.metrics, *step.attributes);
    if (step.tracer != together.get()) continue;
    const Tracer::CallMetrics& m = step.metrics;
    if (m.input_tokens) apart->RecordTokens(*m.input_tokens, "input", *step.attributes);
    if (m.output_tokens) apart->RecordTokens(*m.output_tokens, "output", *step.attributes);
    if (m.cost_usd) apart->RecordCost(*m.cost_usd, *step.attributes);
    apart->RecordDuration(m.duration_seconds, *step.attributes);
  }
  EXPECT_EQ(together->PrometheusText(), apart->PrometheusText());
  EXPECT_THAT(together->PrometheusText(),
              HasSubstr("gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="
                        "\"chat\",gen_ai_request_model=\"a\"} 4\n"));
  EXPECT_THAT(other->PrometheusText(),
              HasSubstr("gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="
                        "\"chat\",gen_ai_request_model=\"b\"} 1\n"));
}

}  // namespace
}  // namespace llmkit
