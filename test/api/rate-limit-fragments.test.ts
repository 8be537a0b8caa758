// Issue 20, finding 1: `mutation { ... on Mutation { d0: createDataset(…) … d14: createDataset(…) } }` created 15
// datasets for one point. The rate limit is now charged per executed mutation field after fragments are expanded
// (inline and named, aliases counted, @skip/@include applied), over HTTP and graphql-ws alike, and a request over
// the limit is refused before anything executes.
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executedMutationFields } from '../../src/server/mutation-count.ts';
import { codes, collect, startTestApi, type TestApi } from './harness.ts';

const LIMIT = 15;
let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({
    GLIMPSE_API_KEYS: 'k1,k2,k3,k4,k5',
    GLIMPSE_MUTATIONS_PER_MINUTE: String(LIMIT),
    GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: String(LIMIT),
    // room for 20 aliases in one operation: the alias limit is not what is tested here
    GLIMPSE_MAX_QUERY_ALIASES: '40',
  });
});
afterAll(() => t?.close());

const create = (alias: string, name: string, directive = '') =>
  `${alias}: createDataset(input: { name: "${name}", synthetic: { images: 3 } }) ${directive} { id }`;
const creates = (prefix: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => create(`d${from + i}`, `${prefix}-${from + i}`)).join(' ');
const inlineFragment = (prefix: string, n: number) => `mutation { ... on Mutation { ${creates(prefix, n)} } }`;
const single = (name: string) => `mutation { ${create('one', name)} }`;
const stored = (prefix: string) => t.db.prisma.dataset.count({ where: { name: { startsWith: `${prefix}-` } } });

describe('mutation rate limit over fragments', () => {
  it('charges the inline-fragment request of the finding 15: allowed at a limit of 15, and then nothing more is', async () => {
    const res = await t.gql(inlineFragment('k1', 15), {}, 'k1');
    expect(res.errors).toBeUndefined();
    expect(Object.keys(res.data!)).toHaveLength(15);
    expect(await stored('k1')).toBe(15);
    const next = await t.gql(single('k1-more'), {}, 'k1');
    expect(codes(next)).toEqual(['RATE_LIMITED']);
    expect(await stored('k1')).toBe(15);
  });

  it('refuses 16 mutations in fragments before any executes: named fragments, nested inline ones, aliases', async () => {
    const query = `
      fragment A on Mutation { ${creates('k2', 6)} ...B }
      fragment B on Mutation { ... { ${creates('k2', 5, 6)} } }
      mutation { ...A ${creates('k2', 5, 11)} }`;
    const res = await t.gql(query, {}, 'k2');
    expect(codes(res)).toEqual(['RATE_LIMITED']);
    expect(res.data ?? null).toBeNull();
    expect(await stored('k2')).toBe(0);
  });

  it('does not charge fields that @skip / @include leave out, and charges a field spread twice once', async () => {
    const skipped = Array.from({ length: 10 }, (_, i) =>
      create(`s${i}`, `k3-skipped-${i}`, i % 2 === 0 ? '@skip(if: $yes)' : '@include(if: $no)'),
    ).join(' ');
    const query = `
      fragment Twice on Mutation { ${create('t', 'k3-twice')} }
      mutation($yes: Boolean!, $no: Boolean!) { ${skipped} ...Twice ...Twice ${creates('k3', 9)} }`;
    const res = await t.gql(query, { yes: true, no: false }, 'k3');
    expect(res.errors).toBeUndefined();
    expect(await stored('k3')).toBe(10); // 9 + the fragment spread twice (one response key: executed once)
    // 10 of 15 used: 5 more pass, a 6th does not
    expect((await t.gql(inlineFragment('k3-b', 5), {}, 'k3')).errors).toBeUndefined();
    expect(codes(await t.gql(single('k3-c'), {}, 'k3'))).toEqual(['RATE_LIMITED']);
  });

  it('charges the same over graphql-ws, in one budget with HTTP', async () => {
    const over = collect(t.ws('k4'), inlineFragment('k4-ws', 16), {});
    await expect(over.completed).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED' }) }),
    ]);
    expect(await stored('k4-ws')).toBe(0);

    const fits = collect(t.ws('k5'), inlineFragment('k5-ws', 15), {});
    await fits.completed;
    expect(fits.results[0]!.errors).toBeUndefined();
    expect(await stored('k5-ws')).toBe(15);
    expect(codes(await t.gql(single('k5-http'), {}, 'k5'))).toEqual(['RATE_LIMITED']);
  });
});

describe('executedMutationFields', () => {
  const schema = buildSchema(`type Query { a: Int } type Mutation { m(n: Int): Int  other: Int }`);
  const count = (source: string, variables: Record<string, unknown> = {}) => {
    const document = parse(source);
    const operation = document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode;
    return executedMutationFields(schema, document, operation, variables);
  };

  it('counts response keys the executor runs', () => {
    expect(count('mutation { m }')).toBe(1);
    expect(count('mutation { a: m b: m(n: 1) c: other __typename }')).toBe(3);
    expect(count('mutation { m m }')).toBe(1); // merged into one field
    expect(count('mutation { ... on Mutation { x: m y: m } ...F } fragment F on Mutation { z: m x: m }')).toBe(3);
    expect(count('mutation($s: Boolean!) { a: m @skip(if: $s) b: m @include(if: $s) }', { s: true })).toBe(1);
    expect(count('mutation($s: Boolean!) { ... @include(if: $s) { a: m b: m } c: m }', { s: false })).toBe(1);
  });

  it('is 0 for queries and for variables that do not coerce (nothing executes)', () => {
    expect(count('{ a }')).toBe(0);
    expect(count('mutation($n: Int!) { a: m(n: $n) b: m }', { n: 'x' })).toBe(0);
  });
});
