// The BLAS's idle threads, for the commands that answer one question from a cold process.

#ifndef LLMKIT_CLI_BLAS_THREADS_H_
#define LLMKIT_CLI_BLAS_THREADS_H_

namespace llmkit::cli {

// OpenBLAS (the BLAS FAISS links, and the latent model's fit uses) starts a worker thread per
// core when the process loads it, and each worker spins on sched_yield for about 2^28 cycles
// (0.1 s) waiting for work: on a 2-core machine a cold `llmkit query` loses a core to it for
// most of its run. `query` and `ask` make no BLAS call, so they stop those workers and keep
// OpenBLAS on the calling thread. Nothing happens with another BLAS (the symbols are looked up
// at run time).
void StopIdleBlasThreads();

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_BLAS_THREADS_H_
