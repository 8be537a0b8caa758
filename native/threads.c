// OpenBLAS threads chosen per call by the product's size (kernels.h, "OpenBLAS threads per call"):
// openblas_set_num_threads only when the count changes (it only sets a number once the pool exists).
// The addon's calls are synchronous on the JavaScript thread, so the state needs no lock.
#include <cblas.h>

#include "kernels.h"

static int policy_threads = 1;
static double policy_min = 0;
static int current = -1;

void blas_set_policy(int threads, double parallel_min) {
  policy_threads = threads;
  policy_min = parallel_min;
  current = -1;
  // grows OpenBLAS's pool now, not in the middle of the first large product
  openblas_set_num_threads(threads);
}

int blas_policy_threads(void) { return policy_threads; }

void blas_threads_for(double work) {
  const int want = work >= policy_min ? policy_threads : 1;
  if (want != current) {
    openblas_set_num_threads(want);
    current = want;
  }
}
