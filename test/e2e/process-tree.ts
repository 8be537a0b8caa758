// `npm start` (or `node --import tsx src/main.ts`, or a build's `node dist/main.js`) as a real process
// tree in its own process group, as a terminal or systemd runs it. Its output is pino JSON (stdout is a pipe): one event a line.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { until } from '../helpers/until.ts';

export interface LogLine {
  level: number;
  msg: string;
  pid: number;
  role?: string;
  workerId?: string;
  runId?: string;
  [field: string]: unknown;
}

export interface Instance {
  child: ChildProcess;
  /** the process group (npm's pid, or main.ts's when started without npm) */
  pgid: number;
  output(): string;
  lines(): LogLine[];
  exited: Promise<number | null>;
  /** resolves with the API url, or undefined when the process exited first */
  ready: Promise<string | undefined>;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `command` (argv, run in `cwd`) replaces the default, e.g. the compiled `node dist/main.js` of a build */
export function launch(env: Record<string, string>, options: { viaNpm?: boolean; command?: string[]; cwd?: string } = {}): Instance {
  const full: NodeJS.ProcessEnv = { ...process.env, PORT: '0', GLIMPSE_HEARTBEAT_SECONDS: '1', ...env };
  if (!('DATABASE_URL' in env)) delete full.DATABASE_URL;
  const [cmd, ...args] =
    options.command ?? (options.viaNpm ? ['npm', 'start', '--silent'] : [process.execPath, '--import', 'tsx', 'src/main.ts']);
  const child = spawn(cmd!, args, { cwd: options.cwd, env: full, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    text.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
  const ready = until(
    async () => lines().flatMap((l) => /GraphQL API and IDE at (\S+)/.exec(l.msg)?.[1] ?? [])[0],
    (u) => u !== undefined || child.exitCode !== null,
    120_000,
  );
  return { child, pgid: child.pid!, output: () => text, lines, exited, ready };
}

/** true once no process of the group is left */
export function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** pids of the (training) worker children the supervisor started, in order */
export function workerPids(instance: Instance): number[] {
  return instance
    .lines()
    .flatMap((l) => (typeof l.workerPid === 'number' && /^worker process \d+ starting$/.test(l.msg) ? [l.workerPid] : []));
}

/** pids of every child the supervisor started (a separate caption worker included), for clean-up */
export function allWorkerPids(instance: Instance): number[] {
  return instance.lines().flatMap((l) => (typeof l.workerPid === 'number' && / process \d+ starting$/.test(l.msg) ? [l.workerPid] : []));
}

export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(`${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function healthz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url.replace(/\/graphql$/, '/healthz'));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** a small synthetic dataset (5 captions an image), once READY */
export async function smallDataset(url: string, images = 24): Promise<string> {
  const { createDataset } = await gql<{ createDataset: { id: string } }>(
    url,
    `mutation($images: Int!) { createDataset(input: { name: "tiny", synthetic: { images: $images, seed: 5 } }) { id } }`,
    { images },
  );
  await until(
    () => gql<{ dataset: { status: string } }>(url, `query($id: ID!) { dataset(id: $id) { status } }`, { id: createDataset.id }),
    (d) => d.dataset.status === 'READY',
    90_000,
    200,
  );
  return createDataset.id;
}

export const TINY_RUN = {
  batchSize: 8,
  units: 32,
  embeddingDim: 16,
  vocabSize: 50,
  seed: 7,
  encoder: { imageSize: 32, channels: [8, 16], gridSize: 8, encoderDim: 32 },
};

export async function startTraining(url: string, input: Record<string, unknown>): Promise<string> {
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    url,
    `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`,
    { input: { ...TINY_RUN, ...input } },
  );
  return startTraining.id;
}

/** pid of the embedded Postgres running on a data dir (postmaster.pid, line 1) */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.split('\n')[0]);
}

/** connection string of the embedded Postgres running on a data dir (its password file and postmaster.pid) */
export async function embeddedUrl(dataDir: string): Promise<string | undefined> {
  const pid = await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => undefined);
  const password = await readFile(join(dataDir, 'postgres.password'), 'utf8').catch(() => undefined);
  if (pid === undefined || password === undefined) return undefined;
  return `postgresql://postgres:${password.trim()}@127.0.0.1:${pid.split('\n')[3]}/glimpse`;
}

/** one query on a fresh connection */
export async function queryOnce<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
