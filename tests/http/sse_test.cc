// The SSE parser against the WHATWG rules, with every input also fed in all two-way splits and
// byte by byte: the events must not depend on how the bytes were cut.

#include "http/sse.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace llmkit::internal {
namespace {

struct Event {
  std::string event, data, id;
  bool operator==(const Event& o) const { return event == o.event && data == o.data && id == o.id; }
};

std::vector<Event> ParseIn(const std::vector<std::string_view>& pieces) {
  std::vector<Event> events;
  SseParser parser([&](const SseEvent& e) {
    events.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
    return true;
  });
  for (std::string_view piece : pieces) EXPECT_TRUE(parser.Feed(piece).ok());
  EXPECT_TRUE(parser.Finish().ok());
  return events;
}

// Parses whole, in every split into two, and byte by byte; all must agree.
std::vector<Event> Parse(std::string_view text) {
  std::vector<Event> whole = ParseIn({text});
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(ParseIn({text.substr(0, cut), text.substr(cut)}), whole) << "cut at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  EXPECT_EQ(ParseIn(bytes), whole);
  return whole;
}

TEST(SseParser, OpenAiStyleChunks) {
  auto events = Parse("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[2].data, "[DONE]");
}

TEST(SseParser, AnthropicStyleNamedEvents) {
  auto events = Parse(
      "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[1].event, "ping");
  EXPECT_EQ(events[2].event, "error");
}

TEST(SseParser, LineEndingsCommentsAndMultilineData) {
  auto events =
      Parse(": keep-alive\r\ndata: one\r\ndata:two\rdata\r\n\r\nid: 7\nevent: x\ndata: y\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "one\ntwo\n");
  EXPECT_EQ(events[1].id, "7");
  EXPECT_EQ(events[1].event, "x");
}

TEST(SseParser, EventsWithoutDataAreNotDispatched) {
  auto events = Parse("event: lonely\n\nretry: 100\n\ndata: real\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "");  // The event type does not leak into the next event.
  EXPECT_EQ(events[0].data, "real");
}

TEST(SseParser, ByteOrderMarkAndMissingLastBlankLine) {
  auto events = Parse(
      "\xEF\xBB\xBF"
      "data: a\n\ndata: tail-without-blank-line");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "tail-without-blank-line");
  EXPECT_EQ(Parse("\xEF\xBB").size(), 0u);
}

TEST(SseParser, Utf8CutAcrossFragmentsIsReassembled) {
  auto events = Parse("data: h\xC3\xA9llo \xF0\x9F\x98\x80\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(SseParser, LimitsAndStopping) {
  SseParser parser([](const SseEvent&) { return true; });
  parser.set_max_event_bytes(16);
  EXPECT_EQ(parser.Feed(std::string(40, 'x')).code(), absl::StatusCode::kResourceExhausted);
  SseParser stopper([](const SseEvent&) { return false; });
  EXPECT_EQ(stopper.Feed("data: a\n\n").code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace llmkit::internal
