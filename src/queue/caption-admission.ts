// requestCaption's write path in ONE statement, no interactive transaction: it checks the model (FOR SHARE, so
// a deleteModel committing meanwhile reads as not found), counts the caption jobs waiting (admission by queue
// depth, GLIMPSE_CAPTION_QUEUE_LIMIT), and only when both pass inserts the CaptionRequest row and its pg-boss 10
// job together and sends the `job` wake-up (delivered at commit). The job row is the one pg-boss's own `send`
// writes (plans.js insertJob: the queue's policy, expiry, retention and retries; state `created`), so the worker
// fetches it like any other. Under load an interactive transaction held a pool connection across four round
// trips and Prisma's 2 s wait for one ran out (P2028); this holds one for a single round trip.
import { randomUUID } from 'node:crypto';
import { channelOf } from '../events/topics.ts';
import { QUEUE_SCHEMA, QueueError } from './queue.ts';

/** what the caller stores: the checked image and decoding settings */
export interface NewCaptionRequest {
  modelId: string;
  imageBytes: Buffer;
  imageHash: string;
  mimeType: string;
  method: string;
  beamWidth: number;
  maxLength: number | null;
  temperature: number;
  /** the name of the API key that asked (null: no key) */
  createdByKey: string | null;
}

/** the CaptionRequest row as written (its image bytes left out) */
export interface AdmittedCaptionRequest {
  id: string;
  modelId: string;
  status: string;
  method: string;
  beamWidth: number;
  maxLength: number | null;
  temperature: number;
  imageHash: string;
  mimeType: string | null;
  createdByKey: string | null;
  caption: string | null;
  gridSize: number | null;
  error: string | null;
  timings: Record<string, unknown> | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export type CaptionAdmission =
  | { outcome: 'queued'; request: AdmittedCaptionRequest }
  | { outcome: 'no-model' }
  /** `waiting`: jobs waiting when it was refused (at least the limit) */
  | { outcome: 'queue-full'; waiting: number };

/** a node-postgres Pool or client */
export interface SqlQueryable {
  query(text: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

// timestamps: Prisma's columns are timestamp(3) without time zone holding UTC; written and read as UTC here
const ADMIT_SQL = `
  WITH model AS (
    SELECT "id" FROM "Model" WHERE "id" = $1 FOR SHARE
  ), waiting AS (
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM ${QUEUE_SCHEMA}.job WHERE name = 'caption' AND state < 'active' LIMIT $2
    ) w
  ), request AS (
    INSERT INTO "CaptionRequest"
      ("id", "modelId", "imageBytes", "imageHash", "mimeType", "method", "beamWidth", "maxLength", "temperature", "createdByKey", "createdAt")
    SELECT $3, model."id", $4, $5, $6, $7::"DecodeMethod", $8, $9, $10, $12::text, now() AT TIME ZONE 'UTC'
    FROM model, waiting, ${QUEUE_SCHEMA}.queue q
    WHERE waiting.n < $2 AND q.name = 'caption'
    RETURNING "id", "modelId", "status"::text, "method"::text, "beamWidth", "maxLength", "temperature", "imageHash",
      "mimeType", "createdByKey", "caption", "gridSize", "error", "timings", "createdAt" AT TIME ZONE 'UTC' AS "createdAt",
      "startedAt" AT TIME ZONE 'UTC' AS "startedAt", "finishedAt" AT TIME ZONE 'UTC' AS "finishedAt"
  ), job AS (
    INSERT INTO ${QUEUE_SCHEMA}.job
      (name, data, expire_in, keep_until, retry_limit, retry_delay, retry_backoff, policy, dead_letter)
    SELECT q.name, jsonb_build_object('requestId', request."id", 'modelId', request."modelId"),
      COALESCE(q.expire_seconds * interval '1 second', interval '15 minutes'),
      now() + COALESCE(q.retention_minutes * interval '1 minute', interval '14 days'),
      COALESCE(q.retry_limit, 2),
      CASE WHEN COALESCE(q.retry_backoff, false) THEN GREATEST(COALESCE(q.retry_delay, 0), 1) ELSE COALESCE(q.retry_delay, 0) END,
      COALESCE(q.retry_backoff, false), q.policy, q.dead_letter
    FROM request JOIN ${QUEUE_SCHEMA}.queue q ON q.name = 'caption'
    RETURNING id, pg_notify($11, 'caption')
  )
  SELECT (SELECT count(*) FROM model)::int AS "modelFound", (SELECT n FROM waiting) AS "waiting",
    (SELECT count(*) FROM job)::int AS "jobs", request.*
  FROM (SELECT 1) one LEFT JOIN request ON true`;

/**
 * Queues a caption request and its job unless the model is gone or `queueLimit` caption jobs (or more) are
 * waiting. Concurrent calls each see the jobs committed before they started, so a burst may pass the limit by
 * at most the number of statements running at once (the pool's size).
 */
export async function admitCaption(db: SqlQueryable, input: NewCaptionRequest, queueLimit: number): Promise<CaptionAdmission> {
  const { rows } = await db.query(ADMIT_SQL, [
    input.modelId,
    queueLimit,
    randomUUID(),
    input.imageBytes,
    input.imageHash,
    input.mimeType,
    input.method,
    input.beamWidth,
    input.maxLength,
    input.temperature,
    channelOf('job'),
    input.createdByKey,
  ]);
  const { modelFound, waiting, jobs, ...request } = rows[0]! as { modelFound: number; waiting: number; jobs: number } & Record<
    string,
    unknown
  >;
  if (modelFound === 0) return { outcome: 'no-model' };
  if (waiting >= queueLimit) return { outcome: 'queue-full', waiting };
  if (jobs !== 1 || request.id === null) {
    throw new QueueError('QUEUE_NOT_STARTED', 'the caption queue does not exist yet: start the queue before requesting captions');
  }
  return { outcome: 'queued', request: request as unknown as AdmittedCaptionRequest };
}
