// The queues as an operator sees them (queues) and pause / resume (admin): src/queue/pause.ts keeps the state,
// workers read it every polling interval (src/jobs/queue-gate.ts).
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { QUEUE_NAMES, type QueueName } from '../../queue/names.ts';
import { setQueuePaused } from '../../queue/pause.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError } from '../shared/api-errors.ts';
import { JobQueueState } from './queue.type.ts';

function queueName(name: string): QueueName {
  if (!(QUEUE_NAMES as readonly string[]).includes(name)) {
    throw new BadUserInputError('name', `unknown queue: expected one of ${QUEUE_NAMES.join(', ')}`);
  }
  return name as QueueName;
}

async function queueStates(ctx: ApiContext, only?: QueueName): Promise<JobQueueState[]> {
  const [rows, depth] = await Promise.all([ctx.prisma.queueState.findMany(), ctx.queue.depth()]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  return QUEUE_NAMES.filter((n) => only === undefined || n === only).map((name) => ({
    name,
    paused: byName.get(name)?.paused ?? false,
    depth: depth[name],
    changedAt: byName.get(name)?.changedAt ?? null,
  }));
}

@Resolver()
export class QueueResolver {
  @Query(() => [JobQueueState], { description: 'every job queue: paused or not, and how many jobs wait' })
  queues(@Ctx() ctx: ApiContext): Promise<JobQueueState[]> {
    return queueStates(ctx);
  }

  @Mutation(() => JobQueueState, {
    description:
      "Workers stop taking the queue's jobs within seconds (running ones end as usual); its jobs stay queued. BAD_USER_INPUT: no such queue",
  })
  async pauseQueue(@Arg('name', () => String) name: string, @Ctx() ctx: ApiContext): Promise<JobQueueState> {
    const queue = queueName(name);
    await setQueuePaused(ctx.prisma, queue, true, ctx.caller.keyName);
    return (await queueStates(ctx, queue))[0]!;
  }

  @Mutation(() => JobQueueState, { description: "Workers take the queue's jobs again within seconds. BAD_USER_INPUT: no such queue" })
  async resumeQueue(@Arg('name', () => String) name: string, @Ctx() ctx: ApiContext): Promise<JobQueueState> {
    const queue = queueName(name);
    await setQueuePaused(ctx.prisma, queue, false, ctx.caller.keyName);
    return (await queueStates(ctx, queue))[0]!;
  }
}
