// The Put helpers (see byte_io.h).

#include "common/byte_io.h"

namespace llmkit::internal {

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutF64(std::string* out, double v) { out->append(reinterpret_cast<const char*>(&v), 8); }

void PadTo(std::string* out, size_t alignment) {
  out->resize((out->size() + alignment - 1) & ~(alignment - 1), '\0');
}

}  // namespace llmkit::internal
