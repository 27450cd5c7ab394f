#include "http/sse.h"

#include <algorithm>
#include <cstring>

namespace llmkit::internal {

absl::Status SseParser::Feed(std::string_view bytes) {
  if (at_start_) {
    // A byte order mark may start the stream, possibly cut across fragments.
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    size_t take = std::min(bytes.size(), kBom.size() - head_.size());
    head_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (head_.size() < kBom.size() && kBom.substr(0, head_.size()) == head_) {
      return absl::OkStatus();  // Undecided; `bytes` is used up.
    }
    at_start_ = false;
    std::string buffered;
    buffered.swap(head_);
    if (buffered != kBom) {
      if (absl::Status status = FeedLines(buffered); !status.ok()) return status;
    }
  }
  return FeedLines(bytes);
}

absl::Status SseParser::FeedLines(std::string_view bytes) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    const char* start = bytes.data() + pos;
    size_t left = bytes.size() - pos;
    const void* nl = std::memchr(start, '\n', left);
    const void* cr =
        std::memchr(start, '\r', nl != nullptr ? static_cast<const char*>(nl) - start : left);
    const char* end = static_cast<const char*>(cr != nullptr ? cr : nl);
    if (end == nullptr) {  // No line end yet: keep the tail.
      if (partial_.size() + left > max_event_bytes_) {
        return absl::ResourceExhaustedError("server-sent event line longer than the limit");
      }
      partial_.append(start, left);
      return absl::OkStatus();
    }
    std::string_view piece(start, static_cast<size_t>(end - start));
    absl::Status status;
    if (partial_.empty()) {
      status = Line(piece);
    } else {
      partial_.append(piece);
      status = Line(partial_);
      partial_.clear();
    }
    if (!status.ok()) return status;
    pos = static_cast<size_t>(end - bytes.data()) + 1;
    if (*end == '\r') {
      if (pos < bytes.size()) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SseParser::Finish() {
  if (at_start_) {  // A partial byte order mark is just text.
    at_start_ = false;
    std::string buffered;
    buffered.swap(head_);
    if (absl::Status status = FeedLines(buffered); !status.ok()) return status;
  }
  if (!partial_.empty()) {
    std::string last;
    last.swap(partial_);
    if (absl::Status status = Line(last); !status.ok()) return status;
  }
  return Dispatch();
}

absl::Status SseParser::Line(std::string_view line) {
  if (line.empty()) return Dispatch();
  if (line[0] == ':') return absl::OkStatus();  // Comment.
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) {
      return absl::ResourceExhaustedError("server-sent event data larger than the limit");
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is the caller's policy.
  return absl::OkStatus();
}

absl::Status SseParser::Dispatch() {
  if (!has_data_) {  // Per spec, an event with no data is not dispatched.
    event_.clear();
    return absl::OkStatus();
  }
  SseEvent event{event_, data_, id_};
  bool go_on = callback_(event);
  data_.clear();
  event_.clear();
  has_data_ = false;
  if (!go_on) return absl::CancelledError("the event callback stopped the stream");
  return absl::OkStatus();
}

}  // namespace llmkit::internal
