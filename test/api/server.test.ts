// HTTP plumbing: /healthz, the web hook for the IDE, GET queries, request ids, graceful close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi(
    {},
    {
      mountWeb: (app) =>
        app.get('/graphql', (req, res, next) =>
          req.accepts(['application/json', 'text/html']) === 'text/html' ? res.type('html').send('<h1>IDE</h1>') : next(),
        ),
    },
  );
});
afterAll(() => t?.close());

describe('HTTP server', () => {
  it('serves /healthz after checking the database', async () => {
    const res = await fetch(new URL('/healthz', t.api.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'up', workers: 0 }); // src/server/health.ts
  });

  it('leaves GET /graphql with Accept: text/html to mountWeb, and answers GET queries with a preflight header', async () => {
    const page = await fetch(t.api.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).toBe('<h1>IDE</h1>');
    const url = `${t.api.url}?query=${encodeURIComponent('{ serverInfo { version } }')}`;
    const blocked = await fetch(url, { headers: { accept: 'application/json' } });
    expect(blocked.status).toBe(400);
    const query = await fetch(url, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(await query.json()).toEqual({ data: { serverInfo: { version: '0.1.0' } } });
  });

  it('echoes a caller-supplied x-request-id, or assigns one', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(t.api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ datasets { id } }' }),
      });
    expect((await post({ 'x-request-id': 'trace-123' })).headers.get('x-request-id')).toBe('trace-123');
    expect((await post({})).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('closes gracefully with a live subscription open', async () => {
    const own = await startTestApi();
    const dataset = await own.db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC', status: 'READY' } });
    const run = await own.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {} } });
    const sub = collect(own.ws(), `subscription($id: ID!) { trainingProgress(runId: $id) { kind status } }`, { id: run.id });
    await sub.waitFor(1);
    const started = Date.now();
    await own.api.close();
    expect(Date.now() - started).toBeLessThan(5000);
    // the server went away (close code 1001): the client sees an error, not a completed stream
    await expect(sub.completed).rejects.toMatchObject({ code: 1001 });
    expect(sub.results).toHaveLength(1);
    await own.close();
  });
});
