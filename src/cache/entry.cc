// Entries and flights of the response cache, shared by its backends.

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "cache/cache_impl.h"

namespace llmkit::internal {
namespace {

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

}  // namespace llmkit::internal
