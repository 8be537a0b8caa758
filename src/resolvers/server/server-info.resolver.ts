import { readFileSync } from 'node:fs';
import { Ctx, Query, Resolver } from 'type-graphql';
import type { ApiContext } from '../shared/api-context.ts';
import { ServerInfo } from './server-info.type.ts';

const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

@Resolver(() => ServerInfo)
export class ServerInfoResolver {
  @Query(() => ServerInfo)
  async serverInfo(@Ctx() ctx: ApiContext): Promise<ServerInfo> {
    const [liveWorkers, queue] = await Promise.all([
      ctx.prisma.worker.findMany({
        where: { lastSeenAt: { gte: new Date(Date.now() - ctx.workerTimeoutMs) } },
        orderBy: { startedAt: 'asc' },
      }),
      ctx.queue.depth(),
    ]);
    const backends = [...new Set(liveWorkers.map((w) => w.backend))];
    // what each live worker is running: its RUNNING training runs and caption requests
    const ids = liveWorkers.map((w) => w.id);
    const [runs, captions] = await Promise.all([
      ctx.prisma.trainingRun.findMany({ where: { status: 'RUNNING', workerId: { in: ids } }, select: { id: true, workerId: true } }),
      ctx.prisma.captionRequest.groupBy({ by: ['workerId'], where: { status: 'RUNNING', workerId: { in: ids } }, _count: { _all: true } }),
    ]);
    const workers = liveWorkers.map((w) => ({
      ...w,
      freeDiskBytes: w.freeDiskBytes === null ? null : Number(w.freeDiskBytes),
      runningTrainingRuns: runs.filter((r) => r.workerId === w.id).map((r) => r.id),
      runningCaptionRequests: captions.find((c) => c.workerId === w.id)?._count._all ?? 0,
    }));
    return {
      version: VERSION,
      backend: backends.length > 0 ? backends.join(', ') : null,
      workers: liveWorkers.length,
      queueDepth: queue.training + queue.caption + queue.evaluation,
      queue,
      liveWorkers: workers,
    };
  }
}
