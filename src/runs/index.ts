// TrainingRun state, owned here: every status change of a run is one of RUN_TRANSITIONS
// (transitions.ts) and is written by a function of this folder, which the API (requests.ts), the
// worker (lease.ts, progress.ts, finish.ts) and the reaper (reap.ts) call. Shared by both
// processes: it imports only db, events and the queue's types.
export { endRun, HAND_BACK_DELAY_SECONDS, HAND_BACK_LIMIT, handBackUnreadable, succeedRun, type AbortedEnd } from './finish.ts';
export { claimRun, heartbeat, LeaseLostError, writeLeased, type LeaseDb, type LeaseState, type RunLease } from './lease.ts';
export { recordEpochSummary, recordStep, setTotalSteps, type EpochRecord, type StepRecord } from './progress.ts';
export { takeBackStaleRuns, takeBackWorkerRuns, type ReapedRun } from './reap.ts';
export { cancelRun, createRun, deleteRun, resumeRun, type RunDeletion } from './requests.ts';
export {
  canMove,
  fromStatuses,
  isTerminalRun,
  RUN_TRANSITIONS,
  TERMINAL_RUN_STATUSES,
  transitionsBetween,
  whoMay,
  type RunActor,
  type RunTransition,
  type RunTransitionName,
} from './transitions.ts';
export {
  beatEvaluation,
  cancelEvaluation,
  claimEvaluation,
  createEvaluation,
  endEvaluation,
  EVALUATION_TRANSITIONS,
  takeBackEvaluations,
  TERMINAL_EVALUATION_STATUSES,
  type EvaluationEnd,
  type EvaluationLease,
  type EvaluationLeaseState,
  type ReapedEvaluation,
} from './evaluation-state.ts';
