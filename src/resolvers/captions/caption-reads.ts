// The reads behind captionStream, batched across streams. The caption worker writes a decoding step's tokens for
// its whole batch in one statement and wakes every request's streams at once: 64 streams woken together used to
// send 128 queries (the request's status, then its new tokens). Reads asked for in the same turn of the event loop
// now go out as ONE statement: each request's status with its tokens from the stream's position on. One statement
// reads one snapshot, so a request read as ended shows every token written before it ended.
import { type CaptionStatus, type PrismaClient, sqlOf } from '../../db/client.ts';

/** runs one statement (sqlOf: the API's node-postgres pool, no Prisma layer on the hot path) */
export type RunQuery = <T>(text: string, values: readonly unknown[]) => Promise<T[]>;

/** what one stream asks for: its request and the first token index it has not delivered */
export interface CaptionRead {
  requestId: string;
  next: number;
}

export interface StoredCaptionToken {
  index: number;
  token: string;
  attention: number[];
  logProb: number;
}

export interface CaptionReadResult {
  status: CaptionStatus;
  caption: string | null;
  gridSize: number | null;
  error: string | null;
  /** from `next` on, in order, at most `page` */
  tokens: StoredCaptionToken[];
}

interface Row {
  /** the read's place in the statement's list, from 1 */
  ord: number;
  status: CaptionStatus;
  caption: string | null;
  gridSize: number | null;
  error: string | null;
  index: number | null;
  token: string | null;
  /** the weights as text, "0.5,0.25,…": split and Number() are several times faster than the driver's array parser */
  attention: string | null;
  logProb: number | null;
}

/** float8 text as Postgres writes it (shortest exact form; NaN, Infinity, -Infinity) back to numbers */
const numbers = (text: string): number[] => (text === '' ? [] : text.split(',').map(Number));

interface Waiting extends CaptionRead {
  resolve: (result: CaptionReadResult | null) => void;
  reject: (error: unknown) => void;
}

/** reads of one batch at most (a statement's parameters stay small; the rest go in the next statement) */
const MAX_BATCH = 500;

/**
 * One per Prisma client (API process). `read` resolves null for a request that does not exist. A failed statement
 * rejects every read of its batch (each stream retries through an outage on its own: ../shared/follow-rows.ts).
 */
export class CaptionReader {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly query: RunQuery,
    private readonly page: number,
  ) {}

  read(request: CaptionRead): Promise<CaptionReadResult | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ...request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // after the current turn's wake-ups have all asked (NOTIFYs of one statement arrive together)
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) void this.run(all.slice(i, i + MAX_BATCH));
  }

  private async run(batch: Waiting[]): Promise<void> {
    // one entry per (request, position): several streams of one request at one position share a read
    const key = (w: CaptionRead) => `${w.requestId}\u0000${w.next}`;
    const unique = [...new Map(batch.map((w) => [key(w), w])).values()];
    let rows: Row[];
    try {
      rows = await this.query<Row>(
        `SELECT q."ord"::int AS "ord", r."status"::text AS "status", r."caption", r."gridSize", r."error",
                t."index", t."token", array_to_string(t."attention", ',') AS "attention", t."logProb"
         FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS q("requestId", "next", "ord")
         JOIN "CaptionRequest" r ON r."id" = q."requestId"
         LEFT JOIN LATERAL (
           SELECT "index", "token", "attention", "logProb" FROM "CaptionToken"
           WHERE "requestId" = q."requestId" AND "index" >= q."next"
           ORDER BY "index" LIMIT $3
         ) t ON true
         ORDER BY q."ord", t."index"`,
        [unique.map((w) => w.requestId), unique.map((w) => w.next), this.page],
      );
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    const results = new Map<string, CaptionReadResult>();
    for (const row of rows) {
      const k = key(unique[row.ord - 1]!);
      let result = results.get(k);
      if (!result) {
        result = { status: row.status, caption: row.caption, gridSize: row.gridSize, error: row.error, tokens: [] };
        results.set(k, result);
      }
      if (row.index !== null)
        result.tokens.push({ index: row.index, token: row.token!, attention: numbers(row.attention!), logProb: Number(row.logProb) });
    }
    for (const w of batch) w.resolve(results.get(key(w)) ?? null);
  }
}

const readers = new WeakMap<PrismaClient, CaptionReader>();

/** the process's reader for this client */
export function captionReader(prisma: PrismaClient, page: number): CaptionReader {
  let reader = readers.get(prisma);
  if (!reader) readers.set(prisma, (reader = new CaptionReader(sqlOf(prisma), page)));
  return reader;
}
