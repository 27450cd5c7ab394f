// A program outside the llmkit tree, built against the installed package.
#include <cstdio>

#include "llmkit/chunker.h"
#include "llmkit/json.h"

int main() {
  auto splitter = llmkit::RecursiveCharacterSplitter::Create({});
  auto chunks = splitter->Split("Hello from an installed llmkit.\n\nSecond paragraph.");
  auto json = llmkit::Json::Parse(R"({"ok": true})");
  if (!chunks.ok() || chunks->size() != 1 || !json.ok()) return 1;
  std::printf("%zu chunk, %s\n", chunks->size(), json->Dump().c_str());
  return 0;
}
