// Every status change a TrainingRun may make, who makes it, and when: the one table to read for
// "who may move a run from RUNNING to QUEUED?" (the worker handing it back, the reaper taking it
// from a dead worker: nobody else). The write functions of src/runs guard their UPDATEs with a
// transition's `from` statuses, so a run in any other status is left as it is and the write
// reports that it did not apply. No database access here: the test walks all pairs.
import { Prisma, RunStatus } from '../db/client.ts';

/** who writes a transition: the API process (a mutation), the worker training the run, a reaper (any worker, or `npm start` for its dead child) */
export type RunActor = 'api' | 'worker' | 'reaper';

export interface RunTransition {
  /** the statuses the run may be in; empty: the run is created by this transition */
  readonly from: readonly RunStatus[];
  readonly to: RunStatus;
  readonly by: RunActor;
  readonly when: string;
}

const { QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED } = RunStatus;

export const RUN_TRANSITIONS = {
  create: { from: [], to: QUEUED, by: 'api', when: 'startTraining: a new run and its job' },
  cancelQueued: { from: [QUEUED], to: CANCELLED, by: 'api', when: 'cancelTraining before a worker claimed the run' },
  requestCancel: {
    from: [RUNNING],
    to: RUNNING,
    by: 'api',
    when: 'cancelTraining while a worker trains the run: cancelRequested, its worker stops at the next batch',
  },
  resume: { from: [FAILED, CANCELLED], to: QUEUED, by: 'api', when: 'resumeTraining: a new job, continuing from the last checkpoint' },
  claim: { from: [QUEUED], to: RUNNING, by: 'worker', when: "a worker takes the run's job: the run is leased to it" },
  succeed: { from: [RUNNING], to: SUCCEEDED, by: 'worker', when: 'its model is stored' },
  fail: { from: [RUNNING], to: FAILED, by: 'worker', when: "an error; or HAND_BACK_LIMIT workers could not read the run's files" },
  stopCancelled: { from: [RUNNING], to: CANCELLED, by: 'worker', when: 'stopped at a batch boundary because a cancel was requested' },
  handBack: {
    from: [RUNNING],
    to: QUEUED,
    by: 'worker',
    when: "its worker drains (shutdown), lost the database, or cannot read the run's files: a new job for any worker",
  },
  reap: {
    from: [RUNNING],
    to: QUEUED,
    by: 'reaper',
    when: "its worker's beats stopped for longer than its lease, or its supervisor saw it die: a new job",
  },
  reapCancelled: { from: [RUNNING], to: CANCELLED, by: 'reaper', when: 'the same, with a cancel pending' },
} as const satisfies Record<string, RunTransition>;

export type RunTransitionName = keyof typeof RUN_TRANSITIONS;

const ALL: readonly [RunTransitionName, RunTransition][] = Object.entries(RUN_TRANSITIONS) as [RunTransitionName, RunTransition][];

/** Statuses after which a run changes no more unless the API resumes it; only such runs may be deleted. */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [SUCCEEDED, FAILED, CANCELLED];

export function isTerminalRun(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

/** the transitions that move a run from `from` to `to` (a status change, or RUNNING → RUNNING for a cancel request) */
export function transitionsBetween(from: RunStatus, to: RunStatus): RunTransitionName[] {
  return ALL.filter(([, t]) => t.from.includes(from) && t.to === to).map(([name]) => name);
}

export function canMove(from: RunStatus, to: RunStatus): boolean {
  return transitionsBetween(from, to).length > 0;
}

/** who may move a run from `from` to `to`, e.g. whoMay(RUNNING, QUEUED) = ['worker', 'reaper'] */
export function whoMay(from: RunStatus, to: RunStatus): RunActor[] {
  return [...new Set(transitionsBetween(from, to).map((name) => RUN_TRANSITIONS[name].by))];
}

/** "QUEUED or RUNNING": the statuses a transition applies to, for a refusal's message */
export function fromStatuses(...names: RunTransitionName[]): string {
  const statuses = [...new Set(names.flatMap((name) => RUN_TRANSITIONS[name].from))];
  return statuses.join(' or ');
}

/** Prisma filter: the run is in a status `name` applies to */
export function statusFor(name: RunTransitionName): { in: RunStatus[] } {
  return { in: [...RUN_TRANSITIONS[name].from] };
}

/** the same for raw SQL: `"status" = ANY(…)` (the enum array keeps the status index usable) */
export function sqlStatusFor(name: RunTransitionName): Prisma.Sql {
  return Prisma.sql`"status" = ANY(${[...RUN_TRANSITIONS[name].from]}::"RunStatus"[])`;
}
