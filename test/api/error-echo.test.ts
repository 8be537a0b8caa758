// Issue 20, finding 6: a 10 MB id to dataset(id:) came back as a 20 MB response (message and extensions.id),
// to anonymous readers too. Client input in errors is now cut to a short prefix, over HTTP and graphql-ws, in
// typed errors (NotFoundError) and in graphql-js's own messages ("got invalid value …") alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundClientText } from '../../src/server/error-masking.ts';
import { clip } from '../../src/sources/client-text.ts';
import { codes, collect, startTestApi, type GraphQLResponse, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_API_KEYS: 'k1', GLIMPSE_PUBLIC_READ: 'true' });
});
afterAll(() => t?.close());

const HUGE = 'a'.repeat(10 * 1024 * 1024);
const SHOWN = `${'a'.repeat(64)}…`;

/** an anonymous POST; the response's size in bytes and its body */
async function anonymous(body: unknown): Promise<{ bytes: number; json: GraphQLResponse }> {
  const res = await fetch(t.api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { bytes: Buffer.byteLength(text), json: JSON.parse(text) as GraphQLResponse };
}

describe('client input in errors', () => {
  it('answers a 10 MB id to dataset(id:) with a short NOT_FOUND, over HTTP', async () => {
    const { bytes, json } = await anonymous({ query: 'query($id: ID!) { dataset(id: $id) { id } }', variables: { id: HUGE } });
    expect(codes(json)).toEqual(['NOT_FOUND']);
    expect(json.errors![0]!.message).toBe(`Dataset ${SHOWN} not found`);
    expect(json.errors![0]!.extensions).toEqual({ code: 'NOT_FOUND', entity: 'Dataset', id: SHOWN });
    expect(bytes).toBeLessThan(1024);
  });

  it('and over graphql-ws', async () => {
    const sub = collect(t.ws(), 'query($id: ID!) { dataset(id: $id) { id } }', { id: HUGE });
    await sub.completed;
    const [result] = sub.results;
    expect(codes(result!)).toEqual(['NOT_FOUND']);
    expect(result!.errors![0]!.message).toBe(`Dataset ${SHOWN} not found`);
    expect(JSON.stringify(result).length).toBeLessThan(1024);
  });

  it("cuts graphql-js's own echo of a bad variable value", async () => {
    const { bytes, json } = await anonymous({
      query: 'query($n: Int) { trainingRuns(first: $n) { totalCount } }',
      variables: { n: HUGE },
    });
    expect(codes(json)).toEqual(['BAD_USER_INPUT']);
    expect(json.errors![0]!.message).toBe(`Variable "$n" got invalid value "${SHOWN}"; Int cannot represent non-integer value: "${SHOWN}"`);
    expect(bytes).toBeLessThan(1024);
  });

  it('cuts an unknown operation name', async () => {
    const { bytes, json } = await anonymous({ query: '{ serverInfo { version } }', operationName: HUGE });
    expect(codes(json)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    expect(json.errors![0]!.message).toBe(`Unknown operation named "${SHOWN}".`);
    expect(bytes).toBeLessThan(1024);
  });
});

// Issue 22's end-to-end test found a NUL byte (which Postgres text cannot hold) in an id, a name or a filter
// answered as a masked INTERNAL_SERVER_ERROR: now BAD_USER_INPUT naming where, before any query runs.
describe('a NUL byte in client input', () => {
  it('is BAD_USER_INPUT naming the variable or the literal, over HTTP', async () => {
    const byVariable = await anonymous({ query: 'query($id: ID!) { trainingRun(id: $id) { id } }', variables: { id: 'x\u0000' } });
    expect(byVariable.json.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$id' });
    const inFilter = await anonymous({ query: '{ datasetsConnection(nameContains: "a\\u0000") { totalCount } }' });
    expect(inFilter.json.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'document' });
  });

  it('and over graphql-ws', async () => {
    const sub = collect(t.ws(), 'subscription($id: ID!) { evaluationProgress(id: $id) { status } }', { id: '\u0000' });
    const refusal = await sub.completed.then(
      () => sub.results[0]!.errors,
      (errors: unknown) => errors as GraphQLResponse['errors'],
    );
    expect(refusal![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$id' });
  });
});

describe('boundClientText', () => {
  it('clips long quoted strings (escaped quotes inside skipped), long extension strings and long messages', () => {
    const long = 'b'.repeat(500);
    const bounded = boundClientText({
      message: `value "${long}" and "short" and "x\\"${long}" end`,
      extensions: { code: 'X', id: long, nested: { list: [long, 7] }, requestId: 'r'.repeat(100) },
    });
    expect(bounded.message).toBe(`value "${clip(long)}" and "short" and "${clip(`x\\"${long}`)}" end`);
    expect(bounded.extensions).toEqual({ code: 'X', id: clip(long), nested: { list: [clip(long), 7] }, requestId: 'r'.repeat(100) });
    // unquoted input: the whole message is bounded
    expect(boundClientText({ message: long.repeat(10) }).message).toHaveLength(1025);
    // an unterminated quote, megabytes of backslashes and quotes: linear, bounded
    expect(boundClientText({ message: `oops "${long}` }).message).toBe(`oops "${clip(long)}`);
    const started = performance.now();
    expect(boundClientText({ message: '\\"'.repeat(2_000_000) }).message.length).toBeLessThanOrEqual(1025);
    expect(boundClientText({ message: '"'.repeat(4_000_000) }).message.length).toBeLessThanOrEqual(1025);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('never splits a surrogate pair', () => {
    expect(clip(`${'a'.repeat(63)}😀😀`)).toBe(`${'a'.repeat(63)}…`);
  });
});
