// How far along a run is and when it will end: elapsed time, the recent speed (steps per second over
// the last LossPoints, so validation pauses and the machine's load are in it) and the time left.
import type { TrainingRun as TrainingRunRow } from '../../db/client.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { type BatchQuery, groupedBy, load } from '../shared/batch.ts';
import { RunStatus } from '../shared/enums.ts';

type RunRow = Pick<TrainingRunRow, 'id' | 'status' | 'step' | 'totalSteps' | 'startedAt' | 'finishedAt'>;

/** LossPoints the speed is measured over */
const WINDOW = 20;

export interface RunTiming {
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  elapsedSeconds: number | null;
}

const memo = new WeakMap<object, Promise<RunTiming>>();

interface RecentPoint {
  runId: string;
  step: number;
  createdAt: Date;
}

/** the last WINDOW points of each run, newest first: WINDOW rows read per run from the (runId, step) key */
const recentPoints: BatchQuery<string, RecentPoint[]> = async (ctx, runIds) =>
  groupedBy(
    await ctx.prisma.$queryRaw<RecentPoint[]>`
      SELECT run.id AS "runId", p.step, p."createdAt"
      FROM unnest(${[...runIds]}::text[]) AS run(id)
      CROSS JOIN LATERAL (
        SELECT step, "createdAt" FROM "LossPoint" WHERE "runId" = run.id ORDER BY step DESC LIMIT ${WINDOW}::int
      ) AS p
      ORDER BY run.id, p.step DESC`,
    (p) => p.runId,
  );

async function compute(ctx: ApiContext, run: RunRow): Promise<RunTiming> {
  const elapsedSeconds = run.startedAt ? ((run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime()) / 1000 : null;
  const recent = (await load(ctx, recentPoints, run.id)) ?? [];
  let stepsPerSecond: number | null = null;
  if (recent.length >= 2) {
    const [last, first] = [recent[0]!, recent.at(-1)!];
    const seconds = (last.createdAt.getTime() - first.createdAt.getTime()) / 1000;
    if (seconds > 0) stepsPerSecond = (last.step - first.step) / seconds;
  }
  let etaSeconds: number | null = null;
  if (run.status === RunStatus.SUCCEEDED) etaSeconds = 0;
  else if (run.status === RunStatus.RUNNING && stepsPerSecond && run.totalSteps !== null) {
    etaSeconds = Math.max(0, run.totalSteps - run.step) / stepsPerSecond;
  }
  return { stepsPerSecond, etaSeconds, elapsedSeconds };
}

/** The run's timing, computed once per row object (the three GraphQL fields share it; a page of runs shares one query). */
export function runTiming(ctx: ApiContext, run: RunRow): Promise<RunTiming> {
  let timing = memo.get(run);
  if (!timing) {
    timing = compute(ctx, run);
    memo.set(run, timing);
  }
  return timing;
}
