// Prisma 7 client over node-postgres (driver adapter), plus the generated types callers need.
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from './generated/client.ts';

export { Prisma, PrismaClient } from './generated/client.ts';
export type {
  CaptionRequest,
  CaptionToken,
  Checkpoint,
  Dataset,
  EpochSummary,
  LossPoint,
  Model,
  TrainingRun,
  Worker,
} from './generated/client.ts';
export { CaptionStatus, DatasetKind, DatasetStatus, DecodeMethod, RunStatus } from './generated/enums.ts';

/** An interactive-transaction client, as handed to `prisma.$transaction(async (tx) => …)`. */
export type TransactionClient = Prisma.TransactionClient;

export interface PrismaOptions {
  /** pg pool size (default 10) */
  max?: number;
}

export function createPrisma(url: string, options: PrismaOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: url, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}
