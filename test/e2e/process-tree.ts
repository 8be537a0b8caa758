// `npm start` (or `node --import tsx src/main.ts`) as a real process tree in its own process group,
// as a terminal or systemd runs it. Its output is pino JSON (stdout is a pipe): one event a line.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

export function launch(env: Record<string, string>, options: { viaNpm?: boolean } = {}): Instance {
  const full = { ...process.env, PORT: '0', GLIMPSE_HEARTBEAT_SECONDS: '1', ...env };
  if (!('DATABASE_URL' in env)) delete full.DATABASE_URL;
  const [cmd, args] = options.viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const child = spawn(cmd as string, args as string[], { env: full, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** the pid of the most recent worker child the supervisor started */
export function workerPids(instance: Instance): number[] {
  return instance.lines().flatMap((l) => (typeof l.workerPid === 'number' && /starting$/.test(l.msg) ? [l.workerPid] : []));
}

export async function gql<T = any>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(`${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function healthz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url.replace(/\/graphql$/, '/healthz'));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** the READY demo dataset `npm start` registers */
export async function demoDataset(url: string): Promise<string> {
  const { datasets } = await until(
    () => gql<{ datasets: { id: string; status: string }[] }>(url, `{ datasets { id status } }`),
    (d) => d.datasets[0]?.status === 'READY',
    90_000,
    200,
  );
  return datasets[0]!.id;
}

export const TINY_RUN = { batchSize: 64, units: 32, embeddingDim: 16, vocabSize: 50, seed: 7, encoder: { imageSize: 32, channels: [8, 16], gridSize: 8, encoderDim: 32 } };

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
