// The embedding client against the scripted server: request bodies, base64 and JSON-number
// answers, batching by inputs and tokens, bounded concurrency, input order kept when answers
// arrive out of order, and the errors.

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "embeddings/embedding_response.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/embeddings.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::Sleep;
using ::llmkit::testing::TestServer;
using ::testing::HasSubstr;

std::string Base64(const void* data, size_t size) {
  return llmkit::internal::EncodeBase64(data, size);
}

// The vector the fake server gives a text: its length, its first byte, a fraction, a constant.
std::vector<float> VectorFor(const std::string& text) {
  return {static_cast<float>(text.size()), static_cast<float>(text.empty() ? 0 : text[0]),
          static_cast<float>(text.size()) / 7.0f, -1.5e-7f};
}

// Answers an /embeddings request the way OpenAI does; `reverse` lists the items backwards.
Script Answer(const ServerRequest& request, bool reverse, int sleep_ms = 0) {
  Json body = *Json::Parse(request.body);
  const Json* format = body.Find("encoding_format");
  bool base64 = format != nullptr && format->as_string() == "base64";
  const Json::Array& inputs = body.Find("input")->as_array();
  Json data = Json::MakeArray();
  for (size_t k = 0; k < inputs.size(); ++k) {
    size_t i = reverse ? inputs.size() - 1 - k : k;
    std::vector<float> v = VectorFor(inputs[i].as_string());
    Json item = Json::MakeObject();
    item.Set("object", "embedding");
    item.Set("index", i);
    if (base64) {
      item.Set("embedding", Base64(v.data(), v.size() * sizeof(float)));
    } else {
      Json numbers = Json::MakeArray();
      for (float f : v) numbers.push_back(static_cast<double>(f));
      item.Set("embedding", std::move(numbers));
    }
    data.push_back(std::move(item));
  }
  Json answer = Json::MakeObject();
  answer.Set("object", "list");
  answer.Set("data", std::move(data));
  answer.Set("model", body.Find("model")->as_string());
  Json usage = Json::MakeObject();
  usage.Set("prompt_tokens", static_cast<int64_t>(inputs.size()) * 2);
  usage.Set("total_tokens", static_cast<int64_t>(inputs.size()) * 2);
  answer.Set("usage", std::move(usage));
  Script script;
  if (sleep_ms > 0) script.push_back(Sleep(sleep_ms));
  Script reply = Reply(200, answer.Dump());
  script.insert(script.end(), reply.begin(), reply.end());
  return script;
}

std::unique_ptr<EmbeddingModel> Model(const TestServer& server, EmbeddingBatchOptions batch = {}) {
  auto model = NewOpenAIEmbeddingModel({.base_url = server.Url("/v1"),
                                        .api_key = "sk-emb-secret",
                                        .model = "text-embedding-3-small"},
                                       std::move(batch));
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

std::vector<std::string> Texts(int n) {
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) texts.push_back(std::string(i + 1, static_cast<char>('a' + i % 26)));
  return texts;
}

void ExpectRowsMatch(const Embeddings& e, const std::vector<std::string>& texts) {
  ASSERT_EQ(e.dimensions, 4u);
  ASSERT_EQ(e.rows(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> want = VectorFor(texts[i]);
    EXPECT_EQ(std::vector<float>(e.row(i).begin(), e.row(i).end()), want) << "row " << i;
  }
}

// The key a server echoes in its error body never reaches the caller's error.
TEST(OpenAIEmbeddings, EchoedKeysAreRedactedFromErrors) {
  TestServer server([](const ServerRequest& r) {
    std::string echoed;
    for (const auto& [name, value] : r.headers) echoed += name + ": " + value + "; ";
    return Reply(401, R"({"error":{"message":"bad key )" + echoed + R"("}})");
  });
  absl::Status status = Model(server)->Embed(std::vector<std::string>{"a", "b"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_EQ(status.ToString().find("sk-emb-secret"), std::string::npos) << status;
  EXPECT_NE(status.ToString().find("[redacted]"), std::string::npos) << status;
}

TEST(OpenAIEmbeddings, Base64AndNumbersGiveTheSameFloats) {
  for (bool base64 : {true, false}) {
    std::mutex mu;
    std::string body;
    std::string auth;
    TestServer server([&](const ServerRequest& request) {
      std::lock_guard<std::mutex> lock(mu);
      body = request.body;
      auth = std::string(FindHeader(request.headers, "authorization").value_or(""));
      return Answer(request, /*reverse=*/true);
    });
    std::vector<std::string> texts = {"héllo", "world", ""};
    auto e = Model(server, {.base64 = base64})->Embed(texts, {.dimensions = 4});
    ASSERT_TRUE(e.ok()) << e.status();
    ExpectRowsMatch(*e, texts);
    EXPECT_EQ(e->model, "text-embedding-3-small");
    EXPECT_EQ(e->usage.input_tokens, 6);
    EXPECT_EQ(e->requests, 1);
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(auth, "Bearer sk-emb-secret");
    Json want = *Json::Parse(
        R"({"model":"text-embedding-3-small","input":["héllo","world",""],"dimensions":4})");
    if (base64) want.Set("encoding_format", "base64");
    EXPECT_EQ(*Json::Parse(body), want);
  }
}

TEST(OpenAIEmbeddings, BatchesConcurrentlyAndKeepsInputOrder) {
  std::atomic<int> count{0};
  TestServer server([&](const ServerRequest& request) {
    // Earlier batches answer later, so answers arrive out of order.
    int n = count.fetch_add(1);
    return Answer(request, n % 2 == 0, std::max(0, 120 - 30 * n));
  });
  std::vector<std::string> texts = Texts(23);
  auto e = Model(server, {.max_inputs_per_request = 3, .max_concurrency = 3})->Embed(texts);
  ASSERT_TRUE(e.ok()) << e.status();
  ExpectRowsMatch(*e, texts);
  EXPECT_EQ(e->requests, 8);
  EXPECT_EQ(server.requests(), 8);
  EXPECT_LE(server.max_in_flight(), 3);
  EXPECT_GE(server.max_in_flight(), 2);
  EXPECT_EQ(e->usage.input_tokens, 46);
}

TEST(OpenAIEmbeddings, BatchesByTokens) {
  std::mutex mu;
  std::vector<size_t> sizes;
  TestServer server([&](const ServerRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    sizes.push_back(Json::Parse(request.body)->Find("input")->size());
    return Answer(request, false);
  });
  // 30-byte texts count 10 tokens each without a tokenizer; 25 allows two per request.
  std::vector<std::string> texts(5, std::string(30, 'x'));
  auto e = Model(server, {.max_tokens_per_request = 25, .max_concurrency = 1})->Embed(texts);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->rows(), 5u);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST(OpenAIEmbeddings, Errors) {
  {  // One batch fails: the call fails with the provider's error and the others stop.
    std::atomic<int> count{0};
    TestServer server([&](const ServerRequest& request) {
      if (count.fetch_add(1) == 1) {
        return Reply(429, R"({"error":{"message":"Rate limit"}})", {{"retry-after", "1"}});
      }
      return Answer(request, false, 20);
    });
    auto e = Model(server, {.max_inputs_per_request = 2, .max_concurrency = 2})->Embed(Texts(20));
    EXPECT_EQ(e.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(GetPayload(e.status(), kPayloadRetryAfter), "1");
    EXPECT_LT(server.requests(), 10);
  }
  auto malformed = [](std::string body) {
    TestServer server([&](const ServerRequest&) { return Reply(200, body); });
    return Model(server)->Embed(Texts(2)).status();
  };
  EXPECT_THAT(malformed(R"({"data":[{"index":0,"embedding":[1,2]}]})").message(),
              HasSubstr("1 embeddings for 2 inputs"));
  EXPECT_THAT(malformed(R"({"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[3,4]}]})")
                  .message(),
              HasSubstr("repeats"));
  EXPECT_THAT(malformed(R"({"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[3]}]})")
                  .message(),
              HasSubstr("embeddings of 2 and 1 values"));
  EXPECT_THAT(
      malformed(R"({"data":[{"index":0,"embedding":"AAA"},{"index":1,"embedding":"!!"}]})").code(),
      absl::StatusCode::kUnavailable);
  EXPECT_EQ(malformed("not json").code(), absl::StatusCode::kUnavailable);
  {  // Dimensions other than requested.
    TestServer server([](const ServerRequest& request) { return Answer(request, false); });
    absl::Status wrong = Model(server)->Embed(Texts(2), {.dimensions = 8}).status();
    EXPECT_THAT(wrong.message(), HasSubstr("4-dimensional embeddings for dimensions=8"));
    std::vector<std::string> bad = {"ok", "bad \xff byte"};
    absl::Status utf8 = Model(server)->Embed(bad).status();
    EXPECT_EQ(utf8.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(utf8.message(), HasSubstr("input 1"));
    EXPECT_TRUE(Model(server)->Embed({}).ok());
    EXPECT_EQ(server.requests(), 1);
  }
}

TEST(OpenAIEmbeddings, CancellationStopsTheCall) {
  TestServer server([](const ServerRequest& request) { return Answer(request, false, 5000); });
  auto cancel = std::make_shared<Cancellation>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel->Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  CallContext call;
  call.cancellation = cancel;
  auto e = Model(server)->Embed(Texts(3), {}, call);
  canceller.join();
  EXPECT_EQ(e.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(EmbeddingResponse, Base64DecodesEveryLengthAndRejectsJunk) {
  for (size_t n = 0; n < 40; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(i * 37 + 11);
    std::string text = Base64(bytes.data(), bytes.size());
    std::vector<uint8_t> out(n);
    ASSERT_EQ(internal::Base64DecodedSize(text), n);
    ASSERT_EQ(internal::DecodeBase64(text, out.data(), n), static_cast<int64_t>(n));
    EXPECT_EQ(std::string(out.begin(), out.end()), bytes);
    std::string unpadded = text.substr(0, text.find('='));
    ASSERT_EQ(internal::DecodeBase64(unpadded, out.data(), n), static_cast<int64_t>(n));
  }
  EXPECT_EQ(Base64("Man", 3), "TWFu");  // RFC 4648's examples.
  EXPECT_EQ(Base64("fo", 2), "Zm8=");
  EXPECT_EQ(Base64("f", 1), "Zg==");
  uint8_t out[8];
  EXPECT_EQ(internal::DecodeBase64("AB$D", out, 8), -1);
  EXPECT_EQ(internal::DecodeBase64("A", out, 8), -1);
  EXPECT_EQ(internal::DecodeBase64("AAAAAAAA", out, 5), -1);
  EXPECT_EQ(internal::DecodeBase64("AA=A", out, 8), -1);
}

}  // namespace
}  // namespace llmkit
