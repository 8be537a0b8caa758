// GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: mutations per valid API key per minute, GLIMPSE_MUTATIONS_PER_MINUTE per
// IP address for callers without one; over it a mutation gets RATE_LIMITED (HTTP 429 with Retry-After) and
// writes nothing, over HTTP and graphql-ws alike, while other clients and reads go on. Each test spends its own
// keys' budgets (and only the third one the IP address's, which the keys' mutations from the same address did
// not touch), so the tests hold in any order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, collect, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({
    GLIMPSE_API_KEYS: 'key-a,key-b,key-c,key-d',
    GLIMPSE_MUTATIONS_PER_MINUTE: '2',
    GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: '3',
  });
});
afterAll(() => t?.close());

const body = (name: string) =>
  JSON.stringify({ query: `mutation { createDataset(input: { name: "${name}", synthetic: { images: 3 } }) { id } }` });

describe('mutation rate limit', () => {
  it('refuses the 4th mutation of a key within a minute with RATE_LIMITED, 429 and Retry-After', async () => {
    for (const i of [1, 2, 3]) expect((await t.post(body(`a-${i}`), 'key-a')).json.errors).toBeUndefined();
    const refused = await t.post(body('a-4'), 'key-a');
    expect(refused.status).toBe(429);
    expect(codes(refused.json)).toEqual(['RATE_LIMITED']);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.json.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: retryAfter, limit: 3, per: 'key' });
    expect(refused.json.errors![0]!.message).toMatch(/GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY/);
    expect(await t.db.prisma.dataset.count({ where: { name: 'a-4' } })).toBe(0);
    // another key has its own budget; reads are not counted
    expect((await t.post(body('b-1'), 'key-b')).json.errors).toBeUndefined();
    const names = (await t.gql('{ datasets { name } }', {}, 'key-a')).data!.datasets.map((d: { name: string }) => d.name);
    expect(names.filter((n: string) => /^[ab]-\d$/.test(n)).sort()).toEqual(['a-1', 'a-2', 'a-3', 'b-1']);
  });

  it('counts each top-level mutation field, and applies over graphql-ws too', async () => {
    expect((await t.post(body('c-1'), 'key-c')).json.errors).toBeUndefined();
    const three = `mutation { x: createDataset(input: { name: "c-2", synthetic: { images: 3 } }) { id } y: createDataset(input: { name: "c-3", synthetic: { images: 3 } }) { id } z: createDataset(input: { name: "c-4", synthetic: { images: 3 } }) { id } }`;
    const res = await t.gql(three, {}, 'key-c'); // c-1 + three = 4 > 3
    expect(codes(res)).toEqual(['RATE_LIMITED']);
    for (const i of [1, 2, 3]) expect((await t.post(body(`d-${i}`), 'key-d')).json.errors).toBeUndefined();
    const ws = collect(t.ws('key-d'), `mutation { createDataset(input: { name: "d-ws", synthetic: { images: 3 } }) { id } }`, {});
    await expect(ws.completed).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED' }) }),
    ]);
    expect(await t.db.prisma.dataset.count({ where: { name: { in: ['c-2', 'c-3', 'c-4', 'd-ws'] } } })).toBe(0);
  });

  it('buckets callers without a valid key by IP address, with its own budget', async () => {
    // anonymous mutations are refused anyway (UNAUTHENTICATED) but still count: a flood gets RATE_LIMITED; the
    // keys' mutations above came from this same address and were charged to the keys alone
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await t.gql(`mutation { deleteModel(id: "x") }`, {}, `wrong-${i}`));
    expect(results.map(codes)).toEqual([['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['RATE_LIMITED']]);
    expect(results[2]!.errors![0]!.extensions).toMatchObject({ limit: 2, per: 'address' });
  });
});
