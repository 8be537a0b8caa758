// What every resolver receives. Built per HTTP request / per graphql-ws operation by src/server.
import type { PrismaClient, TransactionClient } from '../db/client.ts';
import type { EventBus } from '../events/index.ts';

/** The part of the job queue the API uses: enqueue in the caller's transaction, read depth. */
export interface JobEnqueuer {
  enqueueTraining(tx: TransactionClient, job: { runId: string }): Promise<unknown>;
  enqueueCaption(tx: TransactionClient, job: { requestId: string; modelId: string }): Promise<unknown>;
  depth(): Promise<{ training: number; caption: number }>;
}

export interface ApiLimits {
  /** largest accepted caption image, in bytes */
  maxImageBytes: number;
}

export interface ApiContext {
  prisma: PrismaClient;
  /** wake-ups only: the rows themselves are read from the database */
  events: EventBus;
  queue: JobEnqueuer;
  limits: ApiLimits;
  /** GLIMPSE_API_KEYS; empty → mutations are open */
  apiKeys: readonly string[];
  /** workers whose lastSeenAt is older than this are not counted as live */
  workerTimeoutMs: number;
  /** bearer token presented by the client (HTTP Authorization header or graphql-ws connectionParams) */
  apiKey: string | null;
  /** id echoed in masked internal errors and in the server log */
  requestId: string;
}
