// What the x86 CPU (and the operating system, for AVX state) supports, read once with cpuid.
// The SIMD kernels pick their code path with it. Written with cpuid rather than
// __builtin_cpu_supports, whose feature names differ between GCC and Clang ("f16c", "sha").

#ifndef LLMKIT_SRC_COMMON_CPU_FEATURES_H_
#define LLMKIT_SRC_COMMON_CPU_FEATURES_H_

namespace llmkit::internal {

struct CpuFeatures {
  bool avx2_fma_f16c = false;  // AVX2, FMA and F16C, with the OS saving YMM registers.
  bool sha = false;            // SHA extensions with SSSE3 and SSE4.1.
  bool sse42 = false;          // SSE4.2 (the CRC32 instruction).
};

// Thread-safe; computed on first use. All false off x86-64.
const CpuFeatures& Cpu();

}  // namespace llmkit::internal

#endif  // LLMKIT_SRC_COMMON_CPU_FEATURES_H_
