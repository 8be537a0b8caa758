// Abusive queries over real HTTP and graphql-ws: each is refused with a typed error quickly, while another
// client's normal query is answered within 1 s. Every layer is exercised on its own: the default server
// stops most abuse at the cheapest gate (query length), a second one with the earlier gates opened up
// shows the later ones (tokens, aliases, cost) holding on their own.
import { getIntrospectionQuery } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, collect, startTestApi, type GraphQLResponse, type TestApi } from './harness.ts';

let t: TestApi;
let lengthOpen: TestApi; // the length gate opened wide: the token limit must hold by itself
let open: TestApi; // length and token gates opened wide: aliases and cost must hold by themselves
beforeAll(async () => {
  t = await startTestApi();
  lengthOpen = await startTestApi({ GLIMPSE_MAX_QUERY_LENGTH: '10000000' });
  open = await startTestApi({ GLIMPSE_MAX_QUERY_LENGTH: '10000000', GLIMPSE_MAX_QUERY_TOKENS: '1000000' });
  // a run with 5,000 loss points, so lossCurve has something to read
  for (const api of [t, lengthOpen, open]) {
    const dataset = await api.db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await api.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
    const points = Array.from({ length: 5000 }, (_, i) => ({
      runId: run.id,
      step: i + 1,
      epoch: 1,
      batch: i + 1,
      loss: 1,
      examplesPerSec: 1,
    }));
    await api.db.prisma.lossPoint.createMany({ data: points });
  }
});
afterAll(async () => {
  await t?.close();
  await lengthOpen?.close();
  await open?.close();
});

const aliases = (n: number, selection: string) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${selection}`).join(' ')} }`;
const LOSS_CURVES = 'trainingRuns { edges { node { lossCurve { loss } } } }';

/**
 * Sends the abuse and, while it is in flight, a normal query from another client; returns the abuse's
 * response, how long it took, and how long the other client waited.
 */
async function whileAnotherClientAsks(api: TestApi, abuse: () => Promise<GraphQLResponse | { json: GraphQLResponse; status: number }>) {
  // what the same request takes right now without abuse: on a machine shared by parallel test files the
  // 1 s allowance is on top of it (client and server share this process, and the cores with everything else)
  const baseline: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await api.gql(`{ serverInfo { version } datasets { name } }`);
    baseline.push(performance.now() - t0);
  }
  const usual = baseline.sort((a, b) => a - b)[1]!;
  const started = performance.now();
  const abusive = abuse().then((r) => ({ r, ms: performance.now() - started }));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const otherStarted = performance.now();
  const other = await api.gql(`{ serverInfo { version } datasets { name } }`);
  const otherMs = performance.now() - otherStarted;
  expect(other).toEqual({ data: { serverInfo: { version: '0.1.0' }, datasets: [{ name: 'd' }] } });
  expect(otherMs).toBeLessThan(1000 + usual);
  const { r, ms } = await abusive;
  const response = 'json' in r ? r.json : r;
  return { response, ms, status: 'status' in r ? r.status : undefined };
}

describe('query limits over HTTP', () => {
  it('refuses 200,000 aliases (a 6 MB query) by its length, before parsing', async () => {
    const body = JSON.stringify({ query: aliases(200_000, 'serverInfo { version }') });
    expect(body.length).toBeGreaterThan(6_000_000);
    const { response, ms, status } = await whileAnotherClientAsks(t, () => t.post(body));
    expect(status).toBe(400);
    expect(codes(response)).toEqual(['QUERY_TOO_LARGE']);
    expect(response.errors![0]!.extensions).toMatchObject({ limit: 32768 });
    expect(ms).toBeLessThan(2000);
  });

  it('with the length gate open, stops the same query at 2,000 tokens (parse aborts early)', async () => {
    const body = JSON.stringify({ query: aliases(200_000, 'serverInfo { version }') });
    const { response, ms } = await whileAnotherClientAsks(lengthOpen, () => lengthOpen.post(body));
    expect(codes(response)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(response.errors![0]!.message).toMatch(/more that 2000 tokens/); // sic: graphql-js's wording
    expect(ms).toBeLessThan(2000);
  });

  it('refuses 1,000 aliases of trainingRuns { lossCurve }: by length, else by the alias limit', async () => {
    const query = aliases(1000, LOSS_CURVES);
    const byLength = await whileAnotherClientAsks(t, () => t.gql(query));
    expect(codes(byLength.response)).toEqual(['QUERY_TOO_LARGE']);
    const byAliases = await whileAnotherClientAsks(open, () => open.gql(query));
    expect(codes(byAliases.response)).toEqual(['TOO_MANY_ALIASES']);
    expect(byAliases.response.errors![0]!.message).toMatch(/Aliases limit of 15 exceeded/);
    expect(byAliases.ms).toBeLessThan(2000);
  });

  it('prices lists by their arguments: 10 × trainingRuns(first: 100) × lossCurve(maxPoints: 10000) is over budget', async () => {
    const query = aliases(10, 'trainingRuns(first: 100) { edges { node { lossCurve(maxPoints: 10000) { loss } } } }');
    const { response } = await whileAnotherClientAsks(t, () => t.gql(query));
    expect(codes(response)).toEqual(['QUERY_TOO_COSTLY']);
    expect(response.errors![0]!.extensions).toMatchObject({ limit: 50_000, cost: expect.any(Number) });
    expect(response.errors![0]!.extensions!.cost).toBeGreaterThan(10_000_000);
    // the same through variables
    const viaVariables = await t.gql(
      `query($n: Int!) { trainingRuns(first: 100) { edges { node { lossCurve(maxPoints: $n) { loss } } } } }`,
      { n: 10000 },
    );
    expect(codes(viaVariables)).toEqual(['QUERY_TOO_COSTLY']);
  });

  it('answers what the dashboard and the README ask, with room to spare', async () => {
    const one = await t.gql(`{ trainingRuns(first: 20) { edges { node { id lossCurve { step loss } } } } }`);
    expect(one.errors).toBeUndefined();
    // downsampled to at most the default 1,000 points (min/max decimation: a flat curve's lowest and highest
    // point of a slice are one point, so about half of that here)
    const curve = one.data!.trainingRuns.edges[0].node.lossCurve as { step: number }[];
    expect(curve.length).toBeGreaterThan(450);
    expect(curve.length).toBeLessThanOrEqual(1000);
    expect(curve.at(-1)!.step).toBe(5000);
    const single = await t.gql(`query($id: ID!) { trainingRun(id: $id) { lossCurve(maxPoints: 10000) { step } } }`, {
      id: one.data!.trainingRuns.edges[0].node.id,
    });
    expect(single.data!.trainingRun.lossCurve).toHaveLength(5000);
  });

  it('refuses a deep query (models → run → model → …) but not introspection', async () => {
    let selection = 'id';
    for (let i = 0; i < 21; i++) selection = i % 2 === 0 ? `run { ${selection} }` : `model { ${selection} }`;
    const { response, ms } = await whileAnotherClientAsks(t, () => t.gql(`{ models { ${selection} } }`));
    expect(codes(response)).toEqual(['QUERY_TOO_DEEP']);
    expect(response.errors![0]!.message).toMatch(/depth limit of 10 exceeded/);
    expect(ms).toBeLessThan(2000);
    const introspection = await t.gql(
      `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }`,
    );
    expect(introspection.errors).toBeUndefined();
    // what GraphiQL sends, every option on
    const full = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    expect((await t.gql(full)).errors).toBeUndefined();
  });

  it('refuses a query of more than 2,000 tokens within the length limit', async () => {
    const res = await t.gql(`{ serverInfo { ${'version '.repeat(2500)} } }`);
    expect(codes(res)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('refuses many directives', async () => {
    const res = await t.gql(`{ serverInfo { version ${'@include(if: true) '.repeat(60)} } }`);
    expect(codes(res)).toContain('TOO_MANY_DIRECTIVES');
  });
});

describe('the same limits over graphql-ws', () => {
  const refused = (client: ReturnType<TestApi['ws']>, query: string) =>
    new Promise<GraphQLResponse['errors']>((resolve, reject) =>
      client.subscribe(
        { query },
        {
          next: () => reject(new Error('answered')),
          error: (e) => resolve(e as GraphQLResponse['errors']),
          complete: () => reject(new Error('completed')),
        },
      ),
    );

  it('refuses over-long, deep, aliased and costly operations with the same codes', async () => {
    const client = t.ws();
    let deep = 'id';
    for (let i = 0; i < 21; i++) deep = i % 2 === 0 ? `run { ${deep} }` : `model { ${deep} }`;
    const cases: [string, string][] = [
      [aliases(5000, 'serverInfo { version }'), 'QUERY_TOO_LARGE'],
      [`{ models { ${deep} } }`, 'QUERY_TOO_DEEP'],
      [aliases(20, 'serverInfo { version }'), 'TOO_MANY_ALIASES'],
      [`{ trainingRuns(first: 100) { edges { node { lossCurve(maxPoints: 10000) { loss } } } } }`, 'QUERY_TOO_COSTLY'],
      [`{ serverInfo { ${'version '.repeat(2500)} } }`, 'GRAPHQL_PARSE_FAILED'],
    ];
    for (const [query, code] of cases) {
      const errors = await refused(client, query);
      expect(
        errors!.map((e) => e.extensions?.code),
        code,
      ).toEqual([code]);
    }
    // the socket still serves
    const sub = collect(client, `query { serverInfo { version } }`, {});
    await sub.completed;
    expect(sub.results).toEqual([{ data: { serverInfo: { version: '0.1.0' } } }]);
  });

  it('closes a socket that sends a 20 MB message (1009) while another client is answered', async () => {
    const socket = new WebSocket(t.api.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.on('error', () => {});
    const { response } = await whileAnotherClientAsks(t, async () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(20 * 1024 * 1024) } }));
      const code = await closed;
      return { data: { code } };
    });
    expect(response.data).toEqual({ code: 1009 });
  });
});
