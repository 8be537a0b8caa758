// What the end-to-end tests share: a worker logger that prints only errors, the captionStream
// subscription with the shape of its events, and an API with an in-process worker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startWorker, type RunningWorker } from '../../src/jobs/worker.ts';
import type { StartApiOptions } from '../../src/server/app.ts';
import { startTestApi, type TestApi } from '../api/harness.ts';

export const quietLog = { info: (_message: string) => {}, error: (message: string, error?: unknown) => console.error(message, error) };

export const CAPTION_STREAM = `subscription($id: ID!) { captionStream(requestId: $id) { index token attention gridSize logProb done caption } }`;

export interface CaptionEvent {
  index: number;
  token: string | null;
  attention: number[] | null;
  gridSize: number | null;
  logProb: number | null;
  done: boolean;
  caption: string | null;
}

/**
 * Checks a completed captionStream: words with consecutive indices, each with gridSize² attention
 * weights summing to 1, then one done event whose caption is the words (special tokens left out).
 * Returns the word events.
 */
export function expectCaptionStream(events: CaptionEvent[]): CaptionEvent[] {
  const final = events.at(-1)!;
  expect(final.done).toBe(true);
  const tokens = events.slice(0, -1);
  expect(tokens.length).toBeGreaterThan(0);
  expect(tokens.map((e) => e.index)).toEqual(tokens.map((_, i) => i));
  for (const e of tokens) {
    expect(e.gridSize).toBeGreaterThan(0);
    expect(e.attention).toHaveLength(e.gridSize! ** 2);
    expect(e.attention!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  }
  expect(final.caption).toBe(
    tokens
      .map((e) => e.token!)
      .filter((w) => !/^<.*>$/.test(w))
      .join(' '),
  );
  return tokens;
}

/** A real API (test database) and a real in-process worker sharing a fresh data dir. */
export interface ApiWithWorker {
  t: TestApi;
  worker: RunningWorker;
  dataDir: string;
  close(): Promise<void>;
}

export async function startApiWithWorker(
  env: Record<string, string> = {},
  apiOptions: Partial<StartApiOptions> = {},
): Promise<ApiWithWorker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'glimpse-e2e-'));
  const all = { GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1', ...env };
  const t = await startTestApi(all, apiOptions);
  const worker = await startWorker({
    config: loadConfig(all),
    prisma: t.db.prisma,
    queue: t.queue,
    pollingIntervalSeconds: 0.5,
    log: quietLog,
  });
  return {
    t,
    worker,
    dataDir,
    async close() {
      await worker.stop({ graceful: true });
      await t.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The images folder of a READY synthetic set on a worker with data dir `dataDir`: its unpacked blob in the artifact cache. */
export async function syntheticImagesDir(prisma: TestApi['db']['prisma'], dataDir: string, datasetId: string): Promise<string> {
  const { blobId } = await prisma.dataset.findUniqueOrThrow({ where: { id: datasetId } });
  expect(blobId).toMatch(/^[0-9a-f]{64}$/);
  return join(dataDir, 'cache', blobId!, 'images');
}
