// How far along a run is and when it will end: elapsed time, the recent speed (steps per second over
// the last LossPoints, so validation pauses and the machine's load are in it) and the time left.
import type { PrismaClient, TrainingRun as TrainingRunRow } from '../../db/client.ts';

type RunRow = Pick<TrainingRunRow, 'id' | 'status' | 'step' | 'totalSteps' | 'startedAt' | 'finishedAt'>;
import { RunStatus } from '../shared/enums.ts';

/** LossPoints the speed is measured over */
const WINDOW = 20;

export interface RunTiming {
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  elapsedSeconds: number | null;
}

const memo = new WeakMap<object, Promise<RunTiming>>();

async function compute(prisma: PrismaClient, run: RunRow): Promise<RunTiming> {
  const elapsedSeconds = run.startedAt ? ((run.finishedAt ?? new Date()).getTime() - run.startedAt.getTime()) / 1000 : null;
  const recent = await prisma.lossPoint.findMany({
    where: { runId: run.id },
    orderBy: { step: 'desc' },
    take: WINDOW,
    select: { step: true, createdAt: true },
  });
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

/** The run's timing, computed once per row object (the three GraphQL fields share it). */
export function runTiming(prisma: PrismaClient, run: RunRow): Promise<RunTiming> {
  let timing = memo.get(run);
  if (!timing) {
    timing = compute(prisma, run);
    memo.set(run, timing);
  }
  return timing;
}
