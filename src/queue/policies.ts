// Per-queue pg-boss policies (retries, expiry, retention) and a dataset job's expiry by its work.
import type PgBoss from 'pg-boss';
import type { QueueName } from './names.ts';

// Per-queue policies. Training: the run lease handles dead workers, so no pg-boss retries and
// the longest expiry pg-boss allows (its handler race must never cut a long run short).
export const QUEUES: Record<QueueName, PgBoss.Queue> = {
  training: { name: 'training', retryLimit: 0, expireInSeconds: 23 * 3600, retentionMinutes: 7 * 24 * 60 },
  caption: { name: 'caption', retryLimit: 2, retryDelay: 1, expireInSeconds: 120, retentionMinutes: 24 * 60 },
  // the handler records FAILED itself; a job whose worker died is retried once its expiry passes,
  // which each job sets from its work (datasetExpirySeconds): checking a COCO set takes seconds
  dataset: { name: 'dataset', retryLimit: 1, retryDelay: 5, expireInSeconds: 900, retentionMinutes: 7 * 24 * 60 },
  // like training: the Evaluation row's heartbeat and the reaper handle dead workers (src/runs/evaluation-state.ts)
  evaluation: { name: 'evaluation', retryLimit: 0, expireInSeconds: 23 * 3600, retentionMinutes: 7 * 24 * 60 },
  // a job works for at most BULK_SLICE_SECONDS, then queues its next slice (src/jobs/bulk-caption.job.ts): the expiry
  // is 3× that, so a dead worker's job is retried (from its last stored result) within 15 minutes and a live one never
  'bulk-caption': { name: 'bulk-caption', retryLimit: 5, retryDelay: 5, expireInSeconds: 900, retentionMinutes: 7 * 24 * 60 },
};

/**
 * How long a dataset job may run before pg-boss fails it (and retries it once, e.g. after its worker
 * died): 15 minutes for checking a COCO set; for generating a synthetic set, 2 minutes plus 20 ms per
 * image (about 4× the measured generation time on a slow machine), so a dead worker's set is taken
 * up again soon, and a large set is never cut short.
 */
export function datasetExpirySeconds(syntheticImages?: number): number {
  if (syntheticImages === undefined) return QUEUES.dataset.expireInSeconds!;
  return Math.min(120 + Math.ceil(syntheticImages * 0.02), 23 * 3600);
}
