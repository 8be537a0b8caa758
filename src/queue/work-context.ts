// What a running handler may do beyond its own jobs (src/queue/queue.ts's work(); a batching queue keeps its decoder
// busy with it: src/jobs/caption-loop.ts).
import type PgBoss from 'pg-boss';
import type { QueueName } from './names.ts';

/**
 * What a running handler may do beyond its own jobs (a batching queue keeps its decoder busy: src/jobs/caption-loop.ts).
 * Jobs from `more` are the handler's to settle: complete or fail each (a job left active is retried after its expiry,
 * like one whose worker died).
 */
export interface WorkContext<J> {
  /** up to `max` more jobs of this queue, fetched now; none once this queue's work is stopped (offWork, stop) */
  more(max: number): Promise<J[]>;
  /** marks jobs done now (the handler's own are also completed when it returns; completing twice is harmless) */
  complete(ids: readonly string[]): Promise<void>;
  /** fails jobs now: pg-boss retries them within the queue's retry policy */
  fail(ids: readonly string[], error: unknown): Promise<void>;
}

/** The context of `name`'s handlers on `boss`; `stopped()`: this queue's work was stopped (offWork, stop). */
export function workContext<N extends QueueName, D extends object>(
  boss: PgBoss,
  name: N,
  stopped: () => boolean,
): WorkContext<{ id: string; name: N; data: D }> {
  return {
    more: async (max) => {
      if (stopped() || max < 1) return [];
      const jobs = await boss.fetch<D>(name, { batchSize: max });
      return (jobs ?? []).map((j) => ({ id: j.id, name, data: j.data }));
    },
    complete: async (ids) => {
      if (ids.length > 0) await boss.complete(name, [...ids]);
    },
    fail: async (ids, error) => {
      const message = error instanceof Error ? error.message : String(error);
      await Promise.all(ids.map((id) => boss.fail(name, id, { message }))); // rare: one statement each keeps the reason
    },
  };
}
