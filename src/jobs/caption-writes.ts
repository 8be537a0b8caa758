// The caption worker's writes for a whole batch, each one SQL statement with its wake-ups (NOTIFYs delivered at
// commit): the batch marked RUNNING, the tokens of a decoding step for every request in it, and the results.
// One statement per request and per token (a transaction each) was ~16 × 10 round trips per batch of 16, which
// the API's readers then queued behind; now a batch costs a statement per step.
import { CaptionStatus, type PrismaClient, sqlOf } from '../db/client.ts';
import { channelOf } from '../events/topics.ts';
import type { TokenEvent } from '../ml/index.ts';

const CAPTION_CHANNEL = channelOf('caption_request');

/** The batch's requests RUNNING on this worker, with the grid size its tokens will have. */
export async function markRunning(prisma: PrismaClient, ids: readonly string[], gridSize: number, workerId: string): Promise<void> {
  await sqlOf(prisma)(
    `WITH running AS (
       UPDATE "CaptionRequest" SET "status" = $2::"CaptionStatus", "gridSize" = $3, "workerId" = $4,
         "startedAt" = now() AT TIME ZONE 'UTC'
       WHERE "id" = ANY($1::text[]) RETURNING "id"
     )
     SELECT count(pg_notify($5, "id")::text) FROM running`,
    [[...ids], CaptionStatus.RUNNING, gridSize, workerId, CAPTION_CHANNEL],
  );
}

export interface StoredToken {
  requestId: string;
  event: TokenEvent;
}

/** float8[] input syntax; String() gives what Postgres reads back exactly (and NaN / ±Infinity as it spells them) */
// (numbers go as text: Prisma sends a parameter array as JSON, where -Infinity and NaN become null)
const float8Array = (values: Iterable<number>) => `{${Array.from(values, String).join(',')}}`;

/** Stores tokens of any requests (a token already stored is kept) and wakes each request's streams once. */
export async function storeTokens(prisma: PrismaClient, tokens: readonly StoredToken[]): Promise<void> {
  if (tokens.length === 0) return;
  await sqlOf(prisma)(
    `WITH stored AS (
       INSERT INTO "CaptionToken" ("requestId", "index", "token", "attention", "logProb")
       SELECT t."requestId", t."index", t."token", t."attention"::double precision[], t."logProb"::double precision
       FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
         AS t("requestId", "index", "token", "attention", "logProb")
       ON CONFLICT DO NOTHING RETURNING 1
     )
     SELECT count(pg_notify($6, r)::text) FROM (SELECT DISTINCT unnest($1::text[]) AS r) requests`,
    [
      tokens.map((t) => t.requestId),
      tokens.map((t) => t.event.index),
      tokens.map((t) => t.event.token),
      tokens.map((t) => float8Array(t.event.attention)),
      tokens.map((t) => String(t.event.logProb)), // as text: a JSON number array would turn -Infinity into null
      CAPTION_CHANNEL,
    ],
  );
}

export interface CaptionOutcome {
  id: string;
  caption: string;
  timings: Record<string, unknown>;
}

/** The batch's results SUCCEEDED at once (the image deleted unless `keepImages`), each request woken. */
export async function storeResults(prisma: PrismaClient, results: readonly CaptionOutcome[], keepImages: boolean): Promise<void> {
  if (results.length === 0) return;
  await sqlOf(prisma)(
    `WITH outcome AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS o("id", "caption", "timings")
     ), ended AS (
       UPDATE "CaptionRequest" c SET "status" = $4::"CaptionStatus", "caption" = o."caption", "timings" = o."timings"::jsonb,
         "finishedAt" = now() AT TIME ZONE 'UTC', "imageBytes" = CASE WHEN $5 THEN c."imageBytes" END
       FROM outcome o WHERE c."id" = o."id" RETURNING c."id"
     )
     SELECT count(pg_notify($6, "id")::text) FROM ended`,
    [
      results.map((r) => r.id),
      results.map((r) => r.caption),
      results.map((r) => JSON.stringify(r.timings)),
      CaptionStatus.SUCCEEDED,
      keepImages,
      CAPTION_CHANNEL,
    ],
  );
}

/**
 * Tokens as the decoder announces them, written in order with at most one statement in flight: the first token
 * goes at once, and those announced meanwhile (the rest of a step, later steps) go together in the next one.
 */
export class TokenWriter {
  private pending: StoredToken[] = [];
  private flushing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  /** `after`: the first write waits for it (the batch's RUNNING), and fails with it */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly after?: Promise<void>,
  ) {}

  add(requestId: string, events: readonly TokenEvent[]): void {
    if (events.length === 0 || this.failure) return; // after a failure the batch fails: nothing more is written
    for (const event of events) this.pending.push({ requestId, event });
    this.flushing ??= this.drain(); // drain always awaits a write first, so it never ends before this assignment
  }

  /** waits for every token added so far; throws the first write error */
  async done(): Promise<void> {
    await this.flushing;
    if (this.failure) throw this.failure.error;
  }

  private async drain(): Promise<void> {
    try {
      if (this.after) await this.after;
      while (this.pending.length > 0) await storeTokens(this.prisma, this.pending.splice(0));
    } catch (error) {
      this.failure ??= { error };
    } finally {
      this.flushing = undefined;
    }
  }
}
