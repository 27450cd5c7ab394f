// An OpenAI-compatible chat server on 127.0.0.1 that replays fixed replies in order and keeps the
// requests it received, with builders for the replies (text, tool calls).

#ifndef LLMKIT_TESTS_HTTP_SCRIPTED_CHAT_SERVER_H_
#define LLMKIT_TESTS_HTTP_SCRIPTED_CHAT_SERVER_H_

#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "http/test_server.h"
#include "llmkit/json.h"

namespace llmkit::testing {

// A chat completion as the stream of chunks an OpenAI-compatible server sends for it: the text in
// two deltas, each tool call in two, the finish reason, the usage, [DONE].
inline std::string AsEvents(Json completion) {
  Json& choice = completion["choices"].as_array()[0];
  Json& message = choice["message"];
  std::vector<Json> deltas;
  if (const Json* content = message.Find("content"); content != nullptr && content->is_string()) {
    const std::string& text = content->as_string();
    const size_t half = text.size() / 2;
    Json first = Json::MakeObject();
    first.Set("role", "assistant");
    first.Set("content", text.substr(0, half));
    deltas.push_back(std::move(first));
    Json second = Json::MakeObject();
    second.Set("content", text.substr(half));
    deltas.push_back(std::move(second));
  }
  if (Json* calls = message.Find("tool_calls"); calls != nullptr && calls->is_array()) {
    int index = 0;
    for (Json& call : calls->as_array()) {
      std::string arguments = call["function"]["arguments"].as_string();
      const size_t half = arguments.size() / 2;
      Json head = *Json::Parse(R"({"tool_calls": [{"type": "function", "function": {}}]})");
      Json& c = head["tool_calls"].as_array()[0];
      c.Set("index", index);
      c.Set("id", call["id"]);
      c["function"].Set("name", call["function"]["name"]);
      c["function"].Set("arguments", arguments.substr(0, half));
      deltas.push_back(std::move(head));
      Json tail = *Json::Parse(R"({"tool_calls": [{"function": {}}]})");
      Json& t = tail["tool_calls"].as_array()[0];
      t.Set("index", index);
      t["function"].Set("arguments", arguments.substr(half));
      deltas.push_back(std::move(tail));
      ++index;
    }
  }
  std::string events;
  auto chunk = [&](Json delta, const Json& finish) {
    Json c =
        *Json::Parse(R"({"id": "chatcmpl-s", "model": "gpt-4o-mini", "choices": [{"index": 0}]})");
    c["choices"].as_array()[0].Set("delta", std::move(delta));
    c["choices"].as_array()[0].Set("finish_reason", finish);
    events += "data: " + c.Dump() + "\n\n";
  };
  for (Json& delta : deltas) chunk(std::move(delta), Json());
  chunk(Json::MakeObject(), choice["finish_reason"]);
  Json usage = *Json::Parse(R"({"id": "chatcmpl-s", "model": "gpt-4o-mini", "choices": []})");
  usage.Set("usage", completion["usage"]);
  events += "data: " + usage.Dump() + "\n\ndata: [DONE]\n\n";
  return events;
}

class ScriptedChatServer {
 public:
  explicit ScriptedChatServer(std::vector<std::string> replies)
      : replies_(replies.begin(), replies.end()), server_([this](const ServerRequest& r) {
          std::lock_guard<std::mutex> lock(mu_);
          Json request = *Json::Parse(r.body);
          const Json* stream = request.Find("stream");
          requests_.push_back(std::move(request));
          if (replies_.empty()) return Reply(500, R"({"error": {"message": "no more replies"}})");
          std::string body = std::move(replies_.front());
          replies_.pop_front();
          if (stream != nullptr && stream->is_bool() && stream->as_bool()) {
            return StreamReply(AsEvents(*Json::Parse(body)), 16);
          }
          return Reply(200, body);
        }) {}
  const TestServer& server() const { return server_; }
  std::vector<Json> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void Add(std::string reply) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(reply));
  }

 private:
  std::mutex mu_;
  std::deque<std::string> replies_;
  std::vector<Json> requests_;
  TestServer server_;
};

// A chat completion's usage object.
inline Json OpenAIUsage(int prompt_tokens, int completion_tokens) {
  Json usage = Json::MakeObject();
  usage.Set("prompt_tokens", prompt_tokens);
  usage.Set("completion_tokens", completion_tokens);
  usage.Set("total_tokens", prompt_tokens + completion_tokens);
  return usage;
}

// A chat completion asking for `calls` ({id, name, arguments JSON text} each), with usage.
inline std::string OpenAIToolCalls(const std::vector<std::vector<std::string>>& calls,
                                   int prompt_tokens = 20, int completion_tokens = 9) {
  Json tool_calls = Json::MakeArray();
  for (const auto& c : calls) {
    Json call = *Json::Parse(R"({"type": "function", "function": {}})");
    call.Set("id", c[0]);
    call["function"].Set("name", c[1]);
    call["function"].Set("arguments", c[2]);
    tool_calls.push_back(std::move(call));
  }
  Json body = *Json::Parse(R"({"id": "chatcmpl-1", "model": "gpt-4o-mini",
      "choices": [{"index": 0, "finish_reason": "tool_calls",
                   "message": {"role": "assistant", "content": null}}]})");
  Json& message = body["choices"].as_array()[0]["message"];
  message.Set("tool_calls", std::move(tool_calls));
  body.Set("usage", OpenAIUsage(prompt_tokens, completion_tokens));
  return body.Dump();
}

// A chat completion answering `text`, with usage.
inline std::string OpenAIText(const std::string& text, int prompt_tokens = 11,
                              int completion_tokens = 5) {
  Json body = *Json::Parse(R"({"id": "chatcmpl-2", "model": "gpt-4o-mini",
      "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant"}}]})");
  body["choices"].as_array()[0]["message"].Set("content", text);
  body.Set("usage", OpenAIUsage(prompt_tokens, completion_tokens));
  return body.Dump();
}

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_HTTP_SCRIPTED_CHAT_SERVER_H_
