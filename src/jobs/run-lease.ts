// How long the training job's lease on its run lasts (the lease itself: src/runs/lease.ts). The
// reaper takes a run back when its beats stop for 3 heartbeat periods, or for the lease its worker
// stated when that is longer: a training step holds the event loop, so no beat goes out while it runs.

/**
 * The lease a training job states: 3 heartbeat periods, or 3 times its longest step so far when
 * that is longer. Before a step has completed, at least 60 s: the first step also warms up the kernels.
 */
export function trainingLeaseSeconds(heartbeatSeconds: number, longestStepSeconds: number | null): number {
  const beats = Math.ceil(3 * heartbeatSeconds);
  if (longestStepSeconds === null) return Math.max(beats, FIRST_STEP_LEASE_SECONDS);
  return Math.max(beats, Math.ceil(3 * longestStepSeconds));
}

/** the lease stated before the first training step has completed */
export const FIRST_STEP_LEASE_SECONDS = 60;
