// Issue 20, finding 4: after `kill -9` of `npm start` during an upload, its temp files (graphql-upload's
// fs-capacitor `capacitor-*.tmp`, the `glimpse-upload-*` folder the zip is copied and unpacked into) stayed in the
// OS temp folder for good. Now both are written under the API process's own folder in <dataDir>/tmp
// (src/storage/temp.ts, src/server/multipart.ts): here a real `npm start` (src/main.ts) receives a dataset zip that
// never finishes arriving, is SIGKILLed with both files on disk, and the next start on the same data dir removes
// them before it listens. A request that fails (the client goes away) removes its own files at once.
import { request, type ClientRequest } from 'node:http';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/until.ts';
import { alive, allWorkerPids, launch, type Instance } from './process-tree.ts';

let db: TestDatabase;
let dataDir: string;
const started: Instance[] = [];
const uploads: ClientRequest[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'glimpse-upload-crash-'));
});
afterAll(async () => {
  for (const u of uploads) u.destroy();
  for (const s of started) {
    if (s.child.exitCode === null && s.child.signalCode === null) process.kill(-s.pgid, 'SIGKILL');
    for (const pid of allWorkerPids(s)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const BOUNDARY = 'glimpse-upload-crash';
const MUTATION = 'mutation($a: Upload!) { createDataset(input: { name: "big", archive: $a }) { id } }';

/** a multipart createDataset whose zip part has begun (`bytes` of it sent) and is never finished */
function startUpload(url: string, bytes: number): ClientRequest {
  const head = [
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: MUTATION, variables: { a: null } })}\r\n`,
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: ['variables.a'] })}\r\n`,
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="big.zip"\r\nContent-Type: application/zip\r\n\r\n`,
  ].join('');
  const req = request(url, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'apollo-require-preflight': 'true' },
  });
  req.on('error', () => {}); // cut by the kill
  req.write(head);
  req.write(Buffer.alloc(bytes, 0x50));
  uploads.push(req);
  return req;
}

/** every file under <dataDir>/tmp, relative to it, with its size */
async function tempFiles(): Promise<{ path: string; size: number }[]> {
  const root = join(dataDir, 'tmp');
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  const files = await Promise.all(
    entries.map(async (path) => {
      const s = await stat(join(root, path)).catch(() => undefined);
      return s?.isFile() ? [{ path, size: s.size }] : [];
    }),
  );
  return files.flat();
}

const capacitorFile = /^\d+-[0-9a-f]{8}-[0-9a-f]+\/capacitor-[0-9a-f]+\.tmp$/;
const zipCopy = /^\d+-[0-9a-f]{8}-[0-9a-f]+\/upload-\w+\/upload\.zip$/;

describe('an upload in flight when npm start is SIGKILLed', () => {
  it('leaves its files only under <dataDir>/tmp, and the next start removes them', async () => {
    const MiB = 1024 * 1024;
    const first = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_CAPTION_WORKER: 'false' });
    started.push(first);
    const url = await first.ready;
    expect(url, first.output()).toBeDefined();

    // the client goes away mid-upload: the request's files go with it
    const abandoned = startUpload(url!, 2 * MiB);
    await until(tempFiles, (files) => files.some((f) => capacitorFile.test(f.path) && f.size >= MiB), 30_000, 100);
    abandoned.destroy();
    await until(tempFiles, (files) => files.length === 0, 30_000, 100);

    startUpload(url!, 8 * MiB);
    const during = await until(
      tempFiles,
      (files) => files.some((f) => capacitorFile.test(f.path) && f.size >= 4 * MiB) && files.some((f) => zipCopy.test(f.path)),
      30_000,
      100,
    );
    process.kill(first.child.pid!, 'SIGKILL'); // the supervisor (the API) only, as the probe did
    await first.exited;
    const [folder] = during.map((f) => f.path.split('/')[0]!);
    expect(folder!.startsWith(`${first.child.pid}-`)).toBe(true);
    const left = await tempFiles();
    expect(left.filter((f) => capacitorFile.test(f.path) || zipCopy.test(f.path)).length, JSON.stringify(left)).toBe(2);
    // its orphaned worker drains by itself (npm-start.test.ts); it has no part in uploads: not waited for
    for (const pid of allWorkerPids(first)) if (alive(pid)) process.kill(pid, 'SIGKILL');

    const second = launch({ DATABASE_URL: db.url, GLIMPSE_DATA_DIR: dataDir, GLIMPSE_CAPTION_WORKER: 'false' });
    started.push(second);
    expect(await second.ready, second.output()).toBeDefined();
    expect(await tempFiles()).toEqual([]);
    const folders = await readdir(join(dataDir, 'tmp'));
    expect(folders).not.toContain(folder);
    expect(folders.every((name) => name.startsWith(`${second.child.pid}-`))).toBe(true);
    expect(second.lines().find((l) => /left-over upload folder/.test(l.msg))).toMatchObject({ swept: [folder] });
  }, 240_000);
});
