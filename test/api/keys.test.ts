// Managed API keys (src/keys, src/server/keyring.ts) on two real API processes' worth of servers sharing one
// database, each with its own event bus, key ring and Prisma pool: scopes (FORBIDDEN naming the scope),
// owners (another key's run needs admin), revocation reaching the other API within seconds, lastUsedAt
// throttled, and secrets in no log line (pino output captured), no error and no GraphQL answer but the one
// that creates them.
import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../../src/db/client.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { createKey } from '../../src/keys/store.ts';
import { createLogger } from '../../src/log.ts';
import { startApi, type RunningApi } from '../../src/server/app.ts';
import { until } from '../helpers/until.ts';
import { codes, type GraphQLResponse, startTestApi, type TestApi } from './harness.ts';

const lines: string[] = [];
/** every answer the servers gave, for the secret check at the end (createApiKey's own answers aside) */
const answers: string[] = [];
const secrets: string[] = [];
let a: TestApi;
let b: RunningApi;
let bEvents: EventBus;
let bPrisma: PrismaClient;
let admin: string;

beforeAll(async () => {
  const log = createLogger({ level: 'debug', pretty: false, destination: { write: (line: string) => lines.push(line) } });
  // no GLIMPSE_API_KEYS: managed keys only
  a = await startTestApi({}, { log: log.child({ role: 'api-a' }) });
  bEvents = await createEventBus(a.db.url);
  bPrisma = createPrisma(a.db.url, { max: 4 });
  const config = loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-api-test' });
  b = await startApi({
    config,
    prisma: bPrisma,
    events: bEvents,
    queue: a.queue,
    port: 0,
    host: '127.0.0.1',
    log: log.child({ role: 'api-b' }),
  });
});
afterAll(async () => {
  await b?.close();
  await bEvents?.close();
  await bPrisma?.$disconnect();
  await a?.close();
});

async function post(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  if (!query.includes('createApiKey')) answers.push(text);
  return { status: res.status, json: JSON.parse(text) as GraphQLResponse };
}
const onA = async (query: string, variables?: Record<string, unknown>, token?: string) =>
  (await post(a.api.url, query, variables, token)).json;
const onB = async (query: string, variables?: Record<string, unknown>, token?: string) => (await post(b.url, query, variables, token)).json;

const CREATE_KEY = `mutation($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(input: { name: $name, scopes: $scopes }) { secret key { id name prefix scopes createdBy revokedAt lastUsedAt } } }`;
const READ = `{ datasetsConnection { totalCount } }`;

async function newKey(name: string, scopes: string[]): Promise<string> {
  const res = await onA(CREATE_KEY, { name, scopes }, admin);
  expect(res.errors).toBeUndefined();
  const secret = res.data!.createApiKey.secret as string;
  secrets.push(secret);
  return secret;
}

describe('managed API keys', () => {
  it('an open server closes on every API process once the first key exists (created as by the CLI)', async () => {
    expect((await onB(READ)).errors).toBeUndefined();
    admin = (await createKey(a.db.prisma, { name: 'root', scopes: ['admin'], createdBy: 'cli:test' })).secret;
    secrets.push(admin);
    // NOTIFY reaches both rings at the commit; the cache period (5 s) bounds it otherwise
    for (const on of [onA, onB])
      await until(
        () => on(READ),
        (res) => codes(res)[0] === 'UNAUTHENTICATED',
        5000,
        50,
      );
    expect((await onB(READ, {}, admin)).errors).toBeUndefined();
  });

  it('creates keys over GraphQL (admin): the secret once, stored as its sha256 with a display prefix', async () => {
    const res = await onA(CREATE_KEY, { name: 'reader', scopes: ['READ'] }, admin);
    const { secret, key } = res.data!.createApiKey;
    secrets.push(secret);
    expect(secret).toMatch(/^glk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ name: 'reader', prefix: secret.slice(0, 12), scopes: ['READ'], createdBy: 'root', revokedAt: null });
    const row = await a.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'reader' } });
    expect(row.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret);
    // taken names, bad names and empty scopes are typed refusals
    expect(codes(await onA(CREATE_KEY, { name: 'reader', scopes: ['READ'] }, admin))).toEqual(['CONFLICT']);
    expect(codes(await onA(CREATE_KEY, { name: 'no spaces', scopes: ['READ'] }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await onA(CREATE_KEY, { name: 'none', scopes: [] }, admin))).toEqual(['BAD_USER_INPUT']);
  });

  it('lists keys a page at a time, never a secret or a hash', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) await newKey(name, ['CAPTION']);
    const page = `query($after: String) { apiKeys(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { name prefix scopes lastUsedAt } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResponse = await onA(page, { after }, admin);
      expect(res.errors).toBeUndefined();
      const list = res.data!.apiKeys;
      seen.push(...list.edges.map((e: { node: { name: string } }) => e.node.name));
      if (!list.pageInfo.hasNextPage) break;
      after = list.pageInfo.endCursor;
    }
    expect(seen).toEqual(['page-3', 'page-2', 'page-1', 'reader', 'root']);
    expect(codes(await onA(`{ apiKeys { totalCount } }`, {}, secrets[1]))).toEqual(['FORBIDDEN']);
  });

  it('a read key reads but gets FORBIDDEN (HTTP 403, naming the scope) on startTraining, over HTTP and graphql-ws', async () => {
    const reader = secrets[1]!;
    expect((await onB(READ, {}, reader)).errors).toBeUndefined();
    const start = `mutation { startTraining(input: { datasetId: "x" }) { id } }`;
    const refused = await post(b.url, start, {}, reader);
    expect(refused.status).toBe(403);
    expect(refused.json.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'train', field: 'startTraining' });
    expect(refused.json.errors![0]!.message).toContain('"train"');
    const ws = a.ws(reader);
    const overWs = new Promise((resolve, reject) => ws.subscribe({ query: start }, { next: resolve, error: reject, complete: () => {} }));
    await expect(overWs).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    // a caption-only key cannot read; a key that presents nothing is asked for one
    expect(codes(await onA(READ, {}, secrets[2]))).toEqual(['FORBIDDEN']);
    expect(codes(await onA(start))).toEqual(['UNAUTHENTICATED']);
  });

  it('records the key that created a dataset and a run; another train key needs admin to cancel or delete them', async () => {
    const ownerKey = await newKey('trainer-b', ['TRAIN', 'READ']);
    const otherKey = await newKey('trainer-a', ['TRAIN']);
    const created = await onA(
      `mutation { createDataset(input: { name: "b-set", synthetic: { images: 8 } }) { id createdByKey } }`,
      {},
      ownerKey,
    );
    const datasetId = created.data!.createDataset.id;
    expect(created.data!.createDataset.createdByKey).toBe('trainer-b');
    await a.db.prisma.dataset.update({ where: { id: datasetId }, data: { status: 'READY', imageCount: 8 } });
    const started = await onB(
      `mutation($d: ID!) { startTraining(input: { datasetId: $d }) { id createdByKey } }`,
      { d: datasetId },
      ownerKey,
    );
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;
    expect(started.data!.startTraining.createdByKey).toBe('trainer-b');

    const cancel = `mutation($id: ID!) { cancelTraining(id: $id) { status } }`;
    const refused = await onA(cancel, { id: runId }, otherKey);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'admin' });
    expect((await a.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe('QUEUED');
    expect((await onA(cancel, { id: runId }, ownerKey)).data!.cancelTraining.status).toBe('CANCELLED');
    // nor resume it, nor rename the models of its runs
    const resumed = await onB(`mutation($id: ID!) { resumeTraining(id: $id) { status } }`, { id: runId }, otherKey);
    expect(resumed.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'admin' });
    expect((await a.db.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe('CANCELLED');
    const model = await a.db.prisma.model.create({
      data: { name: 'b-model', path: '/b-model', vocabSize: 10, config: {}, createdByKey: 'trainer-b' },
    });
    const rename = `mutation($id: ID!, $name: String!) { renameModel(id: $id, name: $name) { name } }`;
    expect(codes(await onA(rename, { id: model.id, name: 'taken-over' }, otherKey))).toEqual(['FORBIDDEN']);
    expect((await a.db.prisma.model.findUniqueOrThrow({ where: { id: model.id } })).name).toBe('b-model');
    expect((await onA(rename, { id: model.id, name: 'b-model-2' }, ownerKey)).data!.renameModel.name).toBe('b-model-2');

    const deleteRun = `mutation($id: ID!) { deleteTrainingRun(id: $id) }`;
    expect(codes(await onB(deleteRun, { id: runId }, otherKey))).toEqual(['FORBIDDEN']);
    expect(await a.db.prisma.trainingRun.count({ where: { id: runId } })).toBe(1);
    expect(codes(await onB(`mutation($id: ID!) { deleteDataset(id: $id) }`, { id: datasetId }, otherKey))).toEqual(['FORBIDDEN']);
    // admin may delete any key's objects
    expect((await onB(deleteRun, { id: runId }, admin)).data!.deleteTrainingRun).toBe(runId);
    expect((await onB(`mutation($id: ID!) { deleteDataset(id: $id) }`, { id: datasetId }, ownerKey)).errors).toBeUndefined();
  });

  it('records the key that requested a caption', async () => {
    const model = await a.db.prisma.model.create({ data: { name: 'm', path: '/models/m', vocabSize: 20, config: { units: 8 } } });
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png()
      .toBuffer();
    const caption = `mutation($m: ID!, $img: String!) { requestCaption(input: { modelId: $m, imageBase64: $img }) { id createdByKey } }`;
    const res = await onB(caption, { m: model.id, img: png.toString('base64') }, secrets[2]); // page-1: CAPTION only
    expect(res.errors).toBeUndefined();
    expect((await a.db.prisma.captionRequest.findUniqueOrThrow({ where: { id: res.data!.requestCaption.id } })).createdByKey).toBe(
      'page-1',
    );
    // the answer shows it too: createdByKey is for key holders, and a caption-only key is one
    expect(res.data!.requestCaption.createdByKey).toBe('page-1');
  });

  it('a revoked key is refused by the other API process within 5 s, without a restart', async () => {
    const rotating = await newKey('rotating', ['READ']);
    expect((await onB(READ, {}, rotating)).errors).toBeUndefined(); // B has it cached now
    const revoked = await onA(`mutation { revokeApiKey(name: "rotating") { name revokedAt } }`, {}, admin);
    expect(revoked.data!.revokeApiKey.revokedAt).toEqual(expect.any(String));
    const started = Date.now();
    await until(
      () => onB(READ, {}, rotating),
      (res) => codes(res)[0] === 'UNAUTHENTICATED',
      5000,
      20,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(5000);
    expect(codes(await onA(READ, {}, rotating))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await onA(`mutation { revokeApiKey(name: "no-such-key") { name } }`, {}, admin))).toEqual(['NOT_FOUND']);
  });

  it('writes lastUsedAt on first use, then not again within the minute', async () => {
    const key = await newKey('counted', ['READ']);
    expect((await a.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'counted' } })).lastUsedAt).toBeNull();
    await onA(READ, {}, key);
    const first = await until(
      () => a.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'counted' } }),
      (row) => row.lastUsedAt !== null,
      5000,
      20,
    );
    for (let i = 0; i < 5; i++) await onA(READ, {}, key);
    await new Promise((r) => setTimeout(r, 300));
    const later = await a.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'counted' } });
    expect(later.lastUsedAt).toEqual(first.lastUsedAt);
  });

  it('never shows a secret in the log, in an error or in any other answer; the log names the key', async () => {
    // a revoked key, a wrong key, a key without the scope: refused without echoing what was presented
    const revoked = secrets.at(-2)!; // "rotating"
    expect(codes(await onA(READ, {}, revoked))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await onA(`mutation { deleteModel(id: "x") }`, {}, `${admin}x`))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await onA(`mutation { deleteModel(id: "x") }`, {}, secrets[1]))).toEqual(['FORBIDDEN']);
    expect(secrets.length).toBeGreaterThan(8);
    const log = lines.join('\n');
    const everything = `${log}\n${answers.join('\n')}`;
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(createHash('sha256').update(secret).digest('hex'));
    }
    // the request's log lines carry the name of the key that sent it
    const created = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'API key created' && line.apiKey === 'reader');
    expect(created).toMatchObject({ key: 'root', scopes: ['read'] });
    expect(log).toContain('API key revoked');
  });
  it('a revoked key ends the subscriptions it opened, on the other API process too (close 4403)', async () => {
    const streaming = await newKey('streaming', ['READ']);
    const other = await newKey('still-valid', ['READ']);
    // an evaluation with no worker: evaluationProgress sends it now and then stays open
    const dataset = await a.db.prisma.dataset.create({ data: { name: 'ws-revoke', kind: 'SYNTHETIC' } });
    const model = await a.db.prisma.model.create({ data: { name: 'ws-revoke', path: '/ws', vocabSize: 10, config: {} } });
    const evaluation = await a.db.prisma.evaluation.create({ data: { modelId: model.id, datasetId: dataset.id, split: 'VALIDATION' } });
    const follow = (token: string) => {
      const client = createClient({
        url: b.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
      });
      const events: unknown[] = [];
      const closes: { code: number; reason: string }[] = [];
      client.on('closed', (event) => closes.push(event as { code: number; reason: string }));
      const ended = new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription($id: ID!) { evaluationProgress(id: $id) { status } }', variables: { id: evaluation.id } },
          { next: (e) => events.push(e), error: resolve, complete: () => resolve('complete') },
        );
      });
      return { client, events, closes, ended };
    };
    const revoking = follow(streaming);
    const staying = follow(other);
    await until(
      async () => revoking.events.length + staying.events.length,
      (n) => n === 2,
      10_000,
      20,
    );
    expect(revoking.events[0]).toEqual({ data: { evaluationProgress: { status: 'QUEUED' } } });
    const revoked = await onA(`mutation { revokeApiKey(name: "streaming") { name } }`, {}, admin);
    expect(revoked.errors).toBeUndefined();
    await until(
      async () => revoking.closes.length,
      (n) => n > 0,
      5000,
      20,
    );
    expect(revoking.closes[0]).toMatchObject({ code: 4403, reason: 'Forbidden: the API key was revoked' });
    await revoking.ended;
    // the other key's stream is untouched
    await new Promise((r) => setTimeout(r, 200));
    expect(staying.closes).toEqual([]);
    await staying.client.dispose();
    await revoking.client.dispose();
  });
});
