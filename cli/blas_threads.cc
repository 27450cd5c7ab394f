// StopIdleBlasThreads (see blas_threads.h).

#include "blas_threads.h"

#include <dlfcn.h>

namespace llmkit::cli {

void StopIdleBlasThreads() {
  // One thread from now on (a later BLAS call then starts no workers), then the workers that
  // OpenBLAS started at load told to exit and joined.
  using SetThreads = void (*)(int);
  using Shutdown = int (*)();
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
  if (auto shutdown = reinterpret_cast<Shutdown>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"))) {
    shutdown();
  }
}

}  // namespace llmkit::cli
