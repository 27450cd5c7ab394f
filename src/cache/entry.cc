// Entries and flights of the response cache, shared by its backends.

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "cache/cache_impl.h"
#include "llmkit/json.h"

namespace llmkit::internal {
namespace {

Json UsageJson(const Usage& u) {
  Json j = Json::MakeObject();
  j.Set("input", u.input_tokens);
  j.Set("output", u.output_tokens);
  j.Set("total", u.total_tokens);
  j.Set("cached_input", u.cached_input_tokens);
  j.Set("cache_creation", u.cache_creation_input_tokens);
  j.Set("reasoning", u.reasoning_tokens);
  return j;
}

int64_t IntOf(const Json& j, std::string_view name) {
  const Json* v = j.Find(name);
  return v != nullptr && v->is_int() ? v->as_int() : 0;
}

std::string StringOf(const Json& j, std::string_view name) {
  const Json* v = j.Find(name);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

Usage UsageOf(const Json* j) {
  Usage u;
  if (j == nullptr) return u;
  u.input_tokens = IntOf(*j, "input");
  u.output_tokens = IntOf(*j, "output");
  u.total_tokens = IntOf(*j, "total");
  u.cached_input_tokens = IntOf(*j, "cached_input");
  u.cache_creation_input_tokens = IntOf(*j, "cache_creation");
  u.reasoning_tokens = IntOf(*j, "reasoning");
  return u;
}

size_t SizeOf(const std::string& key, const ChatResponse& r,
              const std::vector<StreamEvent>& events) {
  size_t bytes = sizeof(Entry) + 2 * key.size() + r.id.size() + r.model.size() + 2 * r.text.size() +
                 r.message.content.size() + r.finish_reason.size() + r.request_id.size() +
                 r.served_by.size();
  for (const ToolCall& c : r.message.tool_calls) {
    bytes += sizeof(ToolCall) + c.id.size() + c.name.size() + c.arguments.size();
  }
  for (const StreamEvent& e : events) {
    bytes += sizeof(StreamEvent) + e.text.size() + e.tool_id.size() + e.tool_name.size() +
             e.arguments_delta.size();
  }
  return bytes;
}

}  // namespace

std::shared_ptr<Entry> MakeEntry(const std::string& key, const ChatResponse& response,
                                 std::vector<StreamEvent> events, bool streamed,
                                 Clock::time_point now, std::chrono::nanoseconds ttl) {
  auto entry = std::make_shared<Entry>();
  entry->key = key;
  entry->response = response;
  entry->events = std::move(events);
  entry->streamed = streamed;
  entry->made = now;
  if (ttl.count() > 0) entry->expires = now + ttl;
  entry->bytes = SizeOf(key, entry->response, entry->events);
  return entry;
}

void Land(Flight& flight, std::shared_ptr<const Entry> entry) {
  {
    std::lock_guard<std::mutex> lock(flight.mu);
    flight.done = true;
    flight.entry = std::move(entry);
  }
  flight.cv.notify_all();
}

absl::StatusOr<std::shared_ptr<const Entry>> WaitFor(Flight& flight, const CallContext& call) {
  constexpr auto kPoll = std::chrono::milliseconds(5);
  std::unique_lock<std::mutex> lock(flight.mu);
  while (!flight.done) {
    if (call.cancelled()) {
      return absl::CancelledError("cancelled while waiting for the same request in flight");
    }
    Clock::time_point now = Clock::now();
    if (call.has_deadline() && now >= call.deadline) {
      return absl::DeadlineExceededError(
          "deadline passed while waiting for the same request in flight");
    }
    flight.cv.wait_until(lock, std::min(call.deadline, now + kPoll));
  }
  return flight.entry;
}

// An entry as the JSON a Redis value or a cache file holds. `made` is wall-clock milliseconds:
// other processes (other machines) compute the age from it.
std::string EncodeEntry(const Entry& e) {
  const ChatResponse& r = e.response;
  Json j = Json::MakeObject();
  j.Set("v", 1);
  j.Set("key", e.key);
  j.Set("made", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()));
  j.Set("streamed", e.streamed);
  j.Set("id", r.id);
  j.Set("model", r.model);
  j.Set("text", r.text);
  j.Set("role", r.message.role);
  j.Set("content", r.message.content);
  Json calls = Json::MakeArray();
  for (const ToolCall& c : r.message.tool_calls) {
    Json call = Json::MakeObject();
    call.Set("id", c.id);
    call.Set("name", c.name);
    call.Set("arguments", c.arguments);
    calls.push_back(std::move(call));
  }
  j.Set("tool_calls", std::move(calls));
  j.Set("finish_reason", r.finish_reason);
  j.Set("usage", UsageJson(r.usage));
  j.Set("request_id", r.request_id);
  j.Set("served_by", r.served_by);
  j.Set("priced", r.cost.has_value());
  Json events = Json::MakeArray();
  for (const StreamEvent& ev : e.events) {
    Json x = Json::MakeObject();
    x.Set("k", static_cast<int64_t>(ev.kind));
    if (!ev.text.empty()) x.Set("t", ev.text);
    if (ev.tool_index != 0) x.Set("i", ev.tool_index);
    if (!ev.tool_id.empty()) x.Set("id", ev.tool_id);
    if (!ev.tool_name.empty()) x.Set("n", ev.tool_name);
    if (!ev.arguments_delta.empty()) x.Set("a", ev.arguments_delta);
    if (ev.kind == StreamEvent::Kind::kUsage) x.Set("u", UsageJson(ev.usage));
    events.push_back(std::move(x));
  }
  j.Set("events", std::move(events));
  if (!e.vector.empty()) {
    Json vector = Json::MakeArray();
    for (float x : e.vector) vector.push_back(static_cast<double>(x));
    j.Set("vector", std::move(vector));
  }
  return j.Dump();
}

// The entry a Redis value or cache file holds, or null when it is not one (another writer's key, a
// version this build does not read): treated as a miss.
std::shared_ptr<Entry> DecodeEntry(const std::string& text) {
  absl::StatusOr<Json> parsed = Json::Parse(text);
  if (!parsed.ok() || !parsed->is_object() || IntOf(*parsed, "v") != 1) return nullptr;
  const Json& j = *parsed;
  auto e = std::make_shared<Entry>();
  e->key = StringOf(j, "key");
  const Json* streamed = j.Find("streamed");
  e->streamed = streamed != nullptr && streamed->is_bool() && streamed->as_bool();
  ChatResponse& r = e->response;
  r.id = StringOf(j, "id");
  r.model = StringOf(j, "model");
  r.text = StringOf(j, "text");
  r.message.role = StringOf(j, "role");
  r.message.content = StringOf(j, "content");
  if (const Json* calls = j.Find("tool_calls"); calls != nullptr && calls->is_array()) {
    for (const Json& c : calls->as_array()) {
      r.message.tool_calls.push_back(
          {StringOf(c, "id"), StringOf(c, "name"), StringOf(c, "arguments")});
    }
  }
  r.finish_reason = StringOf(j, "finish_reason");
  r.usage = UsageOf(j.Find("usage"));
  r.request_id = StringOf(j, "request_id");
  r.served_by = StringOf(j, "served_by");
  if (const Json* priced = j.Find("priced");
      priced != nullptr && priced->is_bool() && priced->as_bool()) {
    r.cost = Cost{};  // A hit bills nothing; that the answer was priced is what matters.
  }
  if (const Json* events = j.Find("events"); events != nullptr && events->is_array()) {
    for (const Json& x : events->as_array()) {
      StreamEvent ev;
      int64_t kind = IntOf(x, "k");
      if (kind < 0 || kind > static_cast<int64_t>(StreamEvent::Kind::kDone)) return nullptr;
      ev.kind = static_cast<StreamEvent::Kind>(kind);
      ev.text = StringOf(x, "t");
      ev.tool_index = static_cast<int>(IntOf(x, "i"));
      ev.tool_id = StringOf(x, "id");
      ev.tool_name = StringOf(x, "n");
      ev.arguments_delta = StringOf(x, "a");
      ev.usage = UsageOf(x.Find("u"));
      e->events.push_back(std::move(ev));
    }
  }
  if (const Json* vector = j.Find("vector"); vector != nullptr && vector->is_array()) {
    for (const Json& x : vector->as_array()) {
      if (!x.is_double() && !x.is_int()) return nullptr;
      e->vector.push_back(static_cast<float>(x.is_int() ? double(x.as_int()) : x.as_double()));
    }
  }
  const auto wall_now = std::chrono::system_clock::now().time_since_epoch();
  const auto age = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(wall_now) -
                                std::chrono::milliseconds(IntOf(j, "made")));
  e->made = Clock::now() - age;
  e->bytes = text.size();
  return e;
}

}  // namespace llmkit::internal
