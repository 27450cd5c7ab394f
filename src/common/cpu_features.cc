// cpuid-based feature detection (see cpu_features.h).

#include "common/cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>

#include <cstdint>
#endif

namespace llmkit::internal {
namespace {

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool ssse3 = c & (1u << 9), fma = c & (1u << 12), sse41 = c & (1u << 19);
  f.sse42 = c & (1u << 20);
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  bool ymm_saved = false;
  if (osxsave) {
    uint32_t lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    ymm_saved = (lo & 0x6) == 0x6;  // XMM and YMM state enabled by the OS.
  }
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5), sha = b & (1u << 29);
  f.avx2_fma_f16c = avx && avx2 && fma && f16c && ymm_saved;
  f.sha = sha && ssse3 && sse41;
#endif
  return f;
}

}  // namespace

const CpuFeatures& Cpu() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace llmkit::internal
