// `npm start` as a real process tree (src/main.ts with DATABASE_URL): the worker runs in its own
// child process, not on the API's event loop; Ctrl-C (SIGINT to the whole process group) drains a
// running training through the parent's single SIGTERM and everything exits 0; when the parent is
// SIGKILLed, the orphaned worker notices (IPC channel closed), drains and exits by itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  url: string;
  workerPid: number;
}

let db: TestDatabase;
let dataDir: string;
const started: Started[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-npm-start-'));
});
afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode === null && s.child.signalCode === null) process.kill(-s.child.pid!, 'SIGKILL');
    if (alive(s.workerPid)) process.kill(s.workerPid, 'SIGKILL');
  }
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** src/main.ts in its own process group (as a terminal runs it), until its API answers */
async function start(): Promise<Started> {
  const env = { ...process.env, DATABASE_URL: db.url, PORT: '0', GLIMPSE_DATA_DIR: dataDir, GLIMPSE_HEARTBEAT_SECONDS: '1' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await until(
    async () => /GraphQL API and IDE at (\S+)/.exec(text)?.[1],
    (u) => u !== undefined || child.exitCode !== null,
    90_000,
  );
  if (!url) throw new Error(`src/main.ts exited:\n${text}`);
  const workerPid = Number(/worker process (\d+) starting/.exec(text)?.[1]);
  const s = { child, output: () => text, exited, url, workerPid };
  started.push(s);
  return s;
}

async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

describe('npm start (src/main.ts)', () => {
  it('runs the worker in a child process; Ctrl-C drains a running training and everything exits 0', async () => {
    const s = await start();
    expect(s.workerPid).toBeGreaterThan(0);
    expect(s.workerPid).not.toBe(s.child.pid);
    const info = await until(
      () => gql<{ serverInfo: { liveWorkers: { pid: number }[] } }>(s.url, `{ serverInfo { liveWorkers { pid } } }`),
      (d) => d.serverInfo.liveWorkers.length === 1,
      60_000,
    );
    expect(info.serverInfo.liveWorkers[0]!.pid).toBe(s.workerPid); // the worker is not the API's process

    const { datasets } = await until(
      () => gql<{ datasets: { id: string; status: string }[] }>(s.url, `{ datasets { id status } }`),
      (d) => d.datasets[0]?.status === 'READY',
      60_000,
    );
    const { startTraining } = await gql<{ startTraining: { id: string } }>(
      s.url,
      `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`,
      { input: { datasetId: datasets[0]!.id, epochs: 5, batchSize: 8, units: 32, embeddingDim: 16, vocabSize: 50 } },
    );
    const runId = startTraining.id;
    await until(() => db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } }), (r) => r.step >= 2, 60_000);

    process.kill(-s.child.pid!, 'SIGINT'); // a terminal's Ctrl-C reaches the whole group
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/\[worker\] SIGTERM: draining/);
    expect(s.output()).not.toMatch(/exiting now/);
    const run = await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe('QUEUED'); // handed back at a batch boundary, to be resumed
    expect(run.step).toBeGreaterThanOrEqual(2);
    expect(alive(s.workerPid)).toBe(false);
  }, 180_000);

  it('a worker whose parent was SIGKILLed drains and exits by itself', async () => {
    const s = await start();
    await until(async () => s.output(), (text) => /\[worker\] \S+ ready/.test(text), 60_000);
    process.kill(s.child.pid!, 'SIGKILL'); // the parent only
    await s.exited;
    await until(async () => alive(s.workerPid), (isAlive) => !isAlive, 30_000);
    expect(s.output()).toMatch(/\[worker\] SIGTERM: draining/);
  }, 120_000);
});
