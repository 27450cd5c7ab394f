// Parse, edit and print JSON with llmkit::Json.
#include <cstdio>

#include "llmkit/json.h"
#include "llmkit/status.h"

int main() {
  absl::StatusOr<llmkit::Json> doc = llmkit::Json::Parse(R"({"title": "Intro", "tags": [1, 2]})");
  if (!doc.ok()) return 1;
  (*doc)["tags"].push_back(3);
  doc->Set("score", 0.5);
  std::printf("%s\n", doc->Dump().c_str());  // {"title":"Intro","tags":[1,2,3],"score":0.5}
  std::printf("%s\n", doc->Dump(llmkit::JsonDumpOptions::PythonStyle()).c_str());

  absl::StatusOr<llmkit::Json> bad = llmkit::Json::Parse(R"({"a": [1, 2,]})");
  // kInvalidArgument, message "invalid JSON at byte offset 12: ...", offset also as a payload.
  std::printf("%s (offset %lld)\n", std::string(bad.status().message()).c_str(),
              static_cast<long long>(llmkit::GetByteOffset(bad.status()).value_or(-1)));
  return bad.ok() ? 1 : 0;
}
