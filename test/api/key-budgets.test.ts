// A mutation budget set per API key (ApiKey.mutationsPerMinute, src/server/guard.ts): keys with budgets 3 and
// 10 and one on the default (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY, here 5, as for a GLIMPSE_API_KEYS key) are
// each refused exactly past their own budget; setApiKeyBudget on one API process applies on a second one
// (its own key ring, event bus and limiter, same database) within the key cache period; bounds are typed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createPrisma, type PrismaClient } from '../../src/db/client.ts';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import { createKey } from '../../src/keys/store.ts';
import { createLogger } from '../../src/log.ts';
import { startApi, type RunningApi } from '../../src/server/app.ts';
import { until } from '../helpers/until.ts';
import { codes, type GraphQLResponse, startTestApi, type TestApi } from './harness.ts';

const ENV = { GLIMPSE_API_KEYS: 'env-key', GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: '5', GLIMPSE_API_KEY_CACHE_SECONDS: '5' };
let a: TestApi;
let b: RunningApi;
let bEvents: EventBus;
let bPrisma: PrismaClient;
let admin: string;

beforeAll(async () => {
  const log = createLogger({ level: 'warn', pretty: false });
  a = await startTestApi(ENV, { log });
  bEvents = await createEventBus(a.db.url);
  bPrisma = createPrisma(a.db.url, { max: 4 });
  const config = loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-api-test', ...ENV });
  b = await startApi({ config, prisma: bPrisma, events: bEvents, queue: a.queue, port: 0, host: '127.0.0.1', log });
  // the admin's own mutations must not run out in this file: unlimited
  admin = (await createKey(a.db.prisma, { name: 'root', scopes: ['admin'], createdBy: 'cli:test', mutationsPerMinute: 0 })).secret;
});
afterAll(async () => {
  await b?.close();
  await bEvents?.close();
  await bPrisma?.$disconnect();
  await a?.close();
});

async function gql(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<GraphQLResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLResponse;
}

const CREATE_KEY = `mutation($name: String!, $perMinute: Int) {
  createApiKey(input: { name: $name, scopes: [TRAIN], mutationsPerMinute: $perMinute }) { secret key { name mutationsPerMinute } } }`;
const SET_BUDGET = `mutation($name: String!, $perMinute: Int) { setApiKeyBudget(name: $name, mutationsPerMinute: $perMinute) { name mutationsPerMinute } }`;
/** one point, writes nothing: the model does not exist */
const ONE_MUTATION = `mutation { deleteModel(id: "no-such-model") }`;

async function newKey(name: string, perMinute: number | null): Promise<string> {
  const res = await gql(a.api.url, CREATE_KEY, { name, perMinute }, admin);
  expect(res.errors).toBeUndefined();
  expect(res.data!.createApiKey.key).toEqual({ name, mutationsPerMinute: perMinute });
  return res.data!.createApiKey.secret as string;
}

/** the codes of `count` mutations in a row with `token` on `url` */
async function spend(url: string, token: string, count: number): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (let i = 0; i < count; i++) out.push(codes(await gql(url, ONE_MUTATION, {}, token)));
  return out;
}

describe('a mutation budget per API key', () => {
  it('refuses each key exactly past its own budget (3, 10, the default 5, a GLIMPSE_API_KEYS key the default)', async () => {
    const keys: [string, number, string][] = [
      ['three', 3, await newKey('three', 3)],
      ['ten', 10, await newKey('ten', 10)],
      ['default', 5, await newKey('default', null)],
      ['env', 5, 'env-key'],
    ];
    for (const [name, budget, token] of keys) {
      const results = await spend(a.api.url, token, budget + 1);
      expect(results.slice(0, budget).flat(), name).not.toContain('RATE_LIMITED');
      const refused = await gql(a.api.url, ONE_MUTATION, {}, token);
      expect(codes(refused), name).toEqual(['RATE_LIMITED']);
      expect(results[budget], name).toEqual(['RATE_LIMITED']);
      expect(refused.errors![0]!.extensions, name).toMatchObject({ code: 'RATE_LIMITED', limit: budget, per: 'key' });
      const own = name === 'three' || name === 'ten';
      expect(refused.errors![0]!.message, name).toContain(own ? "this key's own budget" : 'GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY');
    }
    const listed = await gql(a.api.url, `{ apiKeys { edges { node { name mutationsPerMinute } } } }`, {}, admin);
    expect(listed.data!.apiKeys.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { name: 'default', mutationsPerMinute: null },
      { name: 'ten', mutationsPerMinute: 10 },
      { name: 'three', mutationsPerMinute: 3 },
      { name: 'root', mutationsPerMinute: 0 },
    ]);
  });

  it('applies a budget set through setApiKeyBudget on another API process within 5 s, a raised or reset one likewise', async () => {
    const token = await newKey('moving', null);
    // the second process has looked the key up (default budget 5) and counted one mutation
    expect((await spend(b.url, token, 1)).flat()).not.toContain('RATE_LIMITED');
    const set = await gql(a.api.url, SET_BUDGET, { name: 'moving', perMinute: 1 }, admin);
    expect(set.data!.setApiKeyBudget).toEqual({ name: 'moving', mutationsPerMinute: 1 });
    const started = Date.now();
    const refused = await until(
      () => gql(b.url, ONE_MUTATION, {}, token),
      (res) => res.errors?.[0]?.extensions?.limit === 1,
      5000,
      50,
    );
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(Date.now() - started).toBeLessThan(5000);
    // unlimited, then back to the default: the minute already counted stays counted
    await gql(a.api.url, SET_BUDGET, { name: 'moving', perMinute: 0 }, admin);
    await until(
      () => gql(b.url, ONE_MUTATION, {}, token),
      (res) => !codes(res).includes('RATE_LIMITED'),
      5000,
      50,
    );
    const reset = await gql(a.api.url, SET_BUDGET, { name: 'moving', perMinute: null }, admin);
    expect(reset.data!.setApiKeyBudget).toEqual({ name: 'moving', mutationsPerMinute: null });
    const back = await until(
      () => gql(b.url, ONE_MUTATION, {}, token),
      (res) => codes(res).includes('RATE_LIMITED'),
      5000,
      50,
    );
    expect(back.errors![0]!.extensions).toMatchObject({ limit: 5, per: 'key' });
  });

  it('refuses budgets out of 0..1,000,000 as BAD_USER_INPUT, an unknown key as NOT_FOUND, a non-admin as FORBIDDEN', async () => {
    for (const perMinute of [-1, 1_000_001]) {
      const created = await gql(a.api.url, CREATE_KEY, { name: `bad-${perMinute}`, perMinute }, admin);
      expect(codes(created)).toEqual(['BAD_USER_INPUT']);
      expect(created.errors![0]!.extensions).toMatchObject({ field: 'input.mutationsPerMinute' });
      const set = await gql(a.api.url, SET_BUDGET, { name: 'three', perMinute }, admin);
      expect(codes(set)).toEqual(['BAD_USER_INPUT']);
      expect(set.errors![0]!.extensions).toMatchObject({ field: 'mutationsPerMinute' });
    }
    // past GraphQL's Int (32 bits): graphql-js refuses the variable itself
    expect(codes(await gql(a.api.url, SET_BUDGET, { name: 'three', perMinute: 2 ** 31 }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(await a.db.prisma.apiKey.count({ where: { name: { startsWith: 'bad-' } } })).toBe(0);
    expect((await a.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'three' } })).mutationsPerMinute).toBe(3);
    expect(codes(await gql(a.api.url, SET_BUDGET, { name: 'nobody', perMinute: 1 }, admin))).toEqual(['NOT_FOUND']);
    const trainer = await newKey('trainer', 0);
    expect(codes(await gql(a.api.url, SET_BUDGET, { name: 'trainer', perMinute: null }, trainer))).toEqual(['FORBIDDEN']);
  });
});
