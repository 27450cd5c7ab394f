// IEEE binary16 ("float16") conversion, for the vectors llmkit stores at half size (the local
// collection's float16 option, the RAG pipeline's latent model).

#ifndef LLMKIT_SRC_COMMON_FLOAT16_H_
#define LLMKIT_SRC_COMMON_FLOAT16_H_

#include <cstddef>
#include <cstdint>

namespace llmkit::internal {

// Round to nearest even; out of range → ±inf.
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t value);
// out[0, n) = in[0, n) as floats (with the F16C instruction where the CPU has it).
void HalfsToFloats(const uint16_t* in, size_t n, float* out);

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_FLOAT16_H_
