#include "unicode/unicode_classes.h"

namespace llmkit::internal {
namespace {
#include "unicode/unicode_classes.inc"
}  // namespace

uint8_t CodePointClass(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return kBlocks[kBlockIndex[cp >> 8]][cp & 0xFF];
}

const char* UnicodeTablesVersion() { return kUnicodeVersion; }

}  // namespace llmkit::internal
