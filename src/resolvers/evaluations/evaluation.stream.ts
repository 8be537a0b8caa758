// evaluationProgress: the evaluation as stored now, then again after every `evaluation` wake-up that changed
// it (progress is written first, the NOTIFY only wakes the read: ../shared/follow-rows.ts); completes after
// a terminal status (SUCCEEDED, FAILED, CANCELLED).
import { TERMINAL_EVALUATION_STATUSES } from '../../runs/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { NotFoundError } from '../shared/api-errors.ts';
import { openStream, type ReadResult } from '../shared/follow-rows.ts';
import { toEvaluation } from './evaluation.mapper.ts';
import type { Evaluation } from './evaluation.type.ts';

export async function evaluationProgressStream(ctx: ApiContext, id: string): Promise<AsyncIterableIterator<Evaluation | Error>> {
  const wakeUps = ctx.events.subscribe('evaluation', id);
  let last = '';
  async function read(): Promise<ReadResult<Evaluation>> {
    const row = await ctx.prisma.evaluation.findUnique({ where: { id } });
    if (row === null) return { events: [], more: false, done: true }; // deleted with its model or dataset
    const key = `${row.status}:${row.done}:${row.total}:${row.updatedAt.getTime()}`;
    const changed = key !== last;
    last = key;
    return { events: changed ? [toEvaluation(row)] : [], more: false, done: TERMINAL_EVALUATION_STATUSES.includes(row.status) };
  }
  return openStream(
    wakeUps,
    async () => (await ctx.prisma.evaluation.count({ where: { id } })) > 0,
    () => new NotFoundError('Evaluation', id),
    read,
  );
}
