// The addon's threads: OpenBLAS threads chosen per call by the product's size, and how many threads a
// call may use now (kernels.h, "Threads"). openblas_set_num_threads only when the count changes (it
// only sets a number once the pool exists). The addon's calls are synchronous on the JavaScript
// thread, so the state needs no lock.
//
// A core taken: the parallel parts of a call (recurrence.c) report what share of a core each part's
// thread got while the call ran (its CPU time over the call's wall time). On free cores every part gets
// nearly all of one; when another process runs on a core (a caption worker beside the trainer, another
// job), the scheduler shares it and the part there gets half or less — the call waits for it, slower
// than on one thread. Two such calls in a row (one alone is often a garbage collection of this process's
// own, over in milliseconds; the first WARM_UP_CALLS count for nothing) send the following calls to one
// thread (their parts and OpenBLAS), and every PROBE_EVERY-th call that could run in parallel tries all
// the threads again: back to all of them once a try finds every part with its core.
#include <cblas.h>

#include "kernels.h"

/** below this share of a core, a part's core counts as taken (idle parts measure 0.93–1.0 here) */
#define TAKEN_SHARE 0.8
/** a core taken: one thread, and a try with all of them every this many parallel-worthy calls */
#define PROBE_EVERY 16
/** parallel calls after setThreads whose shares decide nothing: the first steps fault their memory in, and
 * threads that wait on the process's page-table lock get no CPU time (shares of 0.5 on the idle machine) */
#define WARM_UP_CALLS 4

static int policy_threads = 1;
static double policy_min = 0;
static int current = -1;
static int active = 1;
static int countdown = PROBE_EVERY;
static int taken_in_a_row = 0;
static double stats[4]; // calls found with a core taken, tries with all threads, parallel calls, last lowest share

void blas_set_policy(int threads, double parallel_min) {
  policy_threads = threads;
  policy_min = parallel_min;
  current = -1;
  active = threads;
  countdown = PROBE_EVERY;
  taken_in_a_row = 0;
  stats[0] = stats[1] = stats[2] = stats[3] = 0;
  // grows OpenBLAS's pool now, not in the middle of the first large product
  openblas_set_num_threads(threads);
}

int blas_policy_threads(void) { return policy_threads; }

int threads_for_parts(void) {
  if (active >= policy_threads) return policy_threads;
  if (--countdown > 0) return active;
  countdown = PROBE_EVERY;
  stats[1] += 1;
  return policy_threads;
}

void threads_observe(int parts, double lowest_share) {
  if (parts < 2) return;
  stats[2] += 1;
  stats[3] = lowest_share;
  if (stats[2] <= WARM_UP_CALLS) return;
  if (lowest_share < TAKEN_SHARE) {
    stats[0] += 1;
    // on one thread already (this was a try): stay; on all: the second in a row drops to one
    if (active < policy_threads || ++taken_in_a_row >= 2) {
      active = 1;
      countdown = PROBE_EVERY;
      taken_in_a_row = 0;
    }
  } else {
    active = policy_threads;
    taken_in_a_row = 0;
  }
}

void threads_state(double out[6]) {
  out[0] = policy_threads;
  out[1] = active;
  for (int i = 0; i < 4; i++) out[2 + i] = stats[i];
}

void blas_threads_for(double work) {
  const int want = work >= policy_min ? active : 1;
  if (want != current) {
    openblas_set_num_threads(want);
    current = want;
  }
}
