// The per-request batcher behind the list field resolvers (src/resolvers/shared/batch.ts), without a
// database: loads of one step share one query, keys are asked once, nothing is cached across steps
// or shared between requests, and a failing query fails every load of its batch.
import { describe, expect, it } from 'vitest';
import type { ApiContext } from '../../src/resolvers/shared/api-context.ts';
import { type BatchQuery, groupedBy, load } from '../../src/resolvers/shared/batch.ts';

/** a fake request context: the batcher only uses its identity */
const context = () => ({}) as ApiContext;

function recording(rows: Record<string, string>) {
  const calls: string[][] = [];
  const query: BatchQuery<string, string> = async (_ctx, keys) => {
    calls.push([...keys]);
    return new Map(keys.filter((k) => k in rows).map((k) => [k, rows[k]!]));
  };
  return { calls, query };
}

describe('load', () => {
  it('answers the loads of one step, made from nested promise jobs too, with one query asking each key once', async () => {
    const { calls, query } = recording({ a: 'A', b: 'B' });
    const ctx = context();
    const later = async (key: string) => {
      await Promise.resolve();
      await Promise.resolve();
      return load(ctx, query, key);
    };
    const values = await Promise.all([load(ctx, query, 'a'), later('b'), load(ctx, query, 'a'), later('missing')]);
    expect(values).toEqual(['A', 'B', 'A', null]);
    expect(calls).toEqual([['a', 'b', 'missing']]);
  });

  it('caches nothing: a load after a batch was answered reads again', async () => {
    const rows = { a: 'old' };
    const { calls, query } = recording(rows);
    const ctx = context();
    expect(await load(ctx, query, 'a')).toBe('old');
    rows.a = 'new';
    expect(await load(ctx, query, 'a')).toBe('new');
    expect(calls).toEqual([['a'], ['a']]);
  });

  it('keeps requests and queries apart', async () => {
    const first = recording({ a: '1' });
    const second = recording({ a: '2' });
    const [one, two] = [context(), context()];
    const values = await Promise.all([load(one, first.query, 'a'), load(two, first.query, 'a'), load(one, second.query, 'a')]);
    expect(values).toEqual(['1', '1', '2']);
    expect(first.calls).toEqual([['a'], ['a']]);
    expect(second.calls).toEqual([['a']]);
  });

  it('rejects every load of a batch whose query fails, and the next batch runs afresh', async () => {
    let fail = true;
    const query: BatchQuery<string, string> = async (_ctx, keys) => {
      if (fail) throw new Error('database gone');
      return new Map(keys.map((k) => [k, k.toUpperCase()]));
    };
    const ctx = context();
    const results = await Promise.allSettled([load(ctx, query, 'a'), load(ctx, query, 'b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await load(ctx, query, 'b')).toBe('B');
  });
});

it('groupedBy keeps the order of the rows within each group', () => {
  const rows = [
    { run: 'x', step: 1 },
    { run: 'y', step: 1 },
    { run: 'x', step: 2 },
  ];
  expect(groupedBy(rows, (r) => r.run)).toEqual(
    new Map([
      ['x', [rows[0], rows[2]]],
      ['y', [rows[1]]],
    ]),
  );
});
