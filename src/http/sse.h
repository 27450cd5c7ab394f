// Incremental parser of server-sent events (the WHATWG "text/event-stream" format) for the
// streaming clients: bytes go in as they arrive, cut anywhere; each complete event comes out
// once. Work is linear in the input: a line is scanned once, and only the unfinished tail of a
// fragment is copied.

#ifndef LLMKIT_SRC_HTTP_SSE_H_
#define LLMKIT_SRC_HTTP_SSE_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace llmkit::internal {

struct SseEvent {
  std::string_view event;  // "" when the stream gave no `event:` field ("message" per spec).
  std::string_view data;   // The `data:` lines joined with '\n'.
  std::string_view id;     // The last `id:` seen in the stream so far.
};

class SseParser {
 public:
  // Called for each event; return false to stop parsing (Feed then returns kCancelled).
  using Callback = std::function<bool(const SseEvent&)>;

  explicit SseParser(Callback callback) : callback_(std::move(callback)) {}

  // Parses the next bytes. Lines end with "\n", "\r\n" or "\r" (also when the two bytes of
  // "\r\n" arrive in different calls). Errors: kResourceExhausted if one line or one event's data
  // passes `max_event_bytes`; kCancelled if the callback stopped.
  absl::Status Feed(std::string_view bytes);

  // The stream ended: an event still missing its blank line is delivered (servers that omit
  // the last one lose nothing). A partial last line counts as a line.
  absl::Status Finish();

  void set_max_event_bytes(size_t bytes) { max_event_bytes_ = bytes; }

 private:
  absl::Status FeedLines(std::string_view bytes);
  absl::Status Line(std::string_view line);
  absl::Status Dispatch();

  Callback callback_;
  std::string head_;     // The first bytes, until a byte order mark is ruled in or out.
  std::string partial_;  // An unfinished line from earlier fragments.
  std::string data_;
  std::string event_;
  std::string id_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // The previous fragment ended with '\r'.
  bool at_start_ = true;  // A leading byte order mark is dropped.
  size_t max_event_bytes_ = 64 << 20;
};

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_HTTP_SSE_H_
