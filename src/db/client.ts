// Prisma 7 client over node-postgres (driver adapter), plus the generated types callers need.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from './generated/client.ts';

export { Prisma, PrismaClient } from './generated/client.ts';
export type {
  BulkCaptionJob,
  BulkCaptionResult,
  CaptionRequest,
  CaptionToken,
  Checkpoint,
  Dataset,
  EpochSummary,
  Evaluation,
  LossPoint,
  Model,
  TrainingRun,
  Worker,
} from './generated/client.ts';
export {
  BulkCaptionStatus,
  CaptionStatus,
  DatasetKind,
  DatasetStatus,
  DecodeMethod,
  EvaluationSplit,
  JobPriority,
  RunStatus,
} from './generated/enums.ts';

/** An interactive-transaction client, as handed to `prisma.$transaction(async (tx) => …)`. */
export type TransactionClient = Prisma.TransactionClient;

export interface PrismaOptions {
  /** pg pool size (default 10) */
  max?: number;
  /** longest wait for a free connection (or a new one to connect), in ms; 0 or unset = forever (pg's default) */
  waitMs?: number;
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

export function createPrisma(url: string, options: PrismaOptions = {}): PrismaClient {
  // the pool is Prisma's (ended by $disconnect); the artifact store also streams blob chunks over it
  // directly (src/storage/blobs.ts): Prisma's raw queries copy bytea parameters several times
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: options.waitMs ?? 0 });
  // every interactive transaction waits for a connection as long as the pool does (GLIMPSE_DB_POOL_WAIT_MS in the
  // API; then SERVICE_OVERLOADED), not Prisma's 2 s default, which failed the first mutations under load (P2028)
  const maxWait = options.waitMs && options.waitMs > 0 ? options.waitMs : TRANSACTION_OPTIONS.maxWait;
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }), transactionOptions: { maxWait } });
  pools.set(prisma, pool);
  return prisma;
}

/** the node-postgres pool under a client made by createPrisma (undefined for others) */
export function pgPoolOf(prisma: PrismaClient): pg.Pool | undefined {
  return pools.get(prisma);
}

/**
 * Options for interactive transactions: a training step holds the worker's event loop while it
 * runs, so Prisma's 2 s default wait for a connection can pass before the transaction even starts.
 */
export const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 30_000 } as const;

/**
 * One statement on the client's node-postgres pool, without Prisma's layer (for hot paths: the caption worker's
 * batch writes, captionStream's batched reads); a client not made by createPrisma runs it as a raw query.
 */
export function sqlOf(prisma: PrismaClient): <T>(text: string, values: readonly unknown[]) => Promise<T[]> {
  const pool = pgPoolOf(prisma);
  if (pool) return async <T>(text: string, values: readonly unknown[]) => (await pool.query(text, [...values])).rows as T[];
  return <T>(text: string, values: readonly unknown[]) => prisma.$queryRawUnsafe<T[]>(text, ...values);
}
