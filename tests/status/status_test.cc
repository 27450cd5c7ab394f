#include "llmkit/status.h"

#include <gtest/gtest.h>

#include <string>

namespace llmkit {
namespace {

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return absl::InvalidArgumentError("odd");
  return value / 2;
}

absl::StatusOr<int> Quarter(int value) {
  LLMKIT_ASSIGN_OR_RETURN(int half, Half(value));
  LLMKIT_ASSIGN_OR_RETURN(half, Half(half));  // Assigning to an existing variable works too.
  return half;
}

absl::Status CheckEven(int value) {
  LLMKIT_RETURN_IF_ERROR(Half(value));
  LLMKIT_RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacros, AssignOrReturnPassesValuesAndErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(7).status().message(), "odd");
}

TEST(StatusMacros, ReturnIfErrorAcceptsStatusAndStatusOr) {
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusPayloads, RoundTrip) {
  absl::Status status = WithPayload(absl::UnavailableError("busy"), kPayloadHttpStatus, "503");
  status = WithPayload(status, kPayloadByteOffset, "17");
  EXPECT_EQ(GetPayload(status, kPayloadHttpStatus), "503");
  EXPECT_EQ(GetPayload(status, kPayloadRetryAfter), std::nullopt);
  EXPECT_EQ(GetByteOffset(status), 17);
  EXPECT_EQ(GetByteOffset(absl::InternalError("x")), std::nullopt);
}

}  // namespace
}  // namespace llmkit
