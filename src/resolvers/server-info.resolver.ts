import { readFileSync } from 'node:fs';
import { Ctx, Query, Resolver } from 'type-graphql';
import type { ApiContext } from './context.ts';
import { ServerInfo } from './server-info.type.ts';

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

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
    return {
      version: VERSION,
      backend: backends.length > 0 ? backends.join(', ') : null,
      workers: liveWorkers.length,
      queueDepth: queue.training + queue.caption,
      queue,
      liveWorkers,
    };
  }
}
