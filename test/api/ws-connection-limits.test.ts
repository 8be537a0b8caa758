// Issue 20, finding 7: 2,000 WebSockets from one address were all accepted (+92 MB, 2,042 open files, a
// normal query took 4.6 s during the burst) and one connection held 500 subscriptions. Now, at the
// defaults: the 101st WebSocket from one address is closed with 1013 "Try Again Later" and a reason naming
// the limit, a connection is released when it closes, and the 21st operation running on one connection
// gets TOO_MANY_SUBSCRIPTIONS — while another client (another address: 127.0.0.2) is answered within 1 s.
// The hostile client runs in a process of its own, as in the finding.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_CLOSE_MS, TOO_MANY_CONNECTIONS_CLOSE } from '../../src/server/connection-limits.ts';
import { codes, collect, startTestApi, type TestApi } from './harness.ts';

const PER_ADDRESS = 100;
const PER_CONNECTION = 20;

let t: TestApi;
let wsUrl: string;
let runId: string;
beforeAll(async () => {
  t = await startTestApi(); // the defaults: GLIMPSE_WS_CONNECTIONS_PER_ADDRESS 100, GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION 20
  wsUrl = t.api.url.replace(/^http/, 'ws');
  const dataset = await t.db.prisma.dataset.create({ data: { name: 'd', kind: 'SYNTHETIC', status: 'READY' } });
  // a RUNNING run: its trainingProgress stays open
  runId = (await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: {}, status: 'RUNNING' } })).id;
});
afterAll(async () => {
  await t?.close();
});

type Outcome = { open: true; socket: WebSocket } | { open: false; code: number; reason: string };

/** a raw graphql-ws connection from `localAddress`: acknowledged (kept open), or closed by the server */
function connect(localAddress = '127.0.0.1'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { localAddress });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') resolve({ open: true, socket });
    });
    socket.on('close', (code, reason) => resolve({ open: false, code, reason: reason.toString() }));
    socket.on('error', reject);
  });
}

const closeAll = (outcomes: Outcome[]) =>
  Promise.all(
    outcomes.map((o) =>
      o.open && o.socket.readyState !== WebSocket.CLOSED
        ? new Promise<void>((resolve) => {
            o.socket.once('close', () => resolve());
            o.socket.close();
          })
        : undefined,
    ),
  );

/** another client's query over HTTP and over its own WebSocket, from 127.0.0.2; how long each took (ms) */
async function anotherClient(): Promise<{ httpMs: number; wsMs: number }> {
  const started = performance.now();
  const res = await fetch(t.api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ serverInfo { version } }' }),
  });
  expect(await res.json()).toEqual({ data: { serverInfo: { version: '0.1.0' } } });
  const httpMs = performance.now() - started;
  const wsStarted = performance.now();
  const other = await connect('127.0.0.2');
  expect(other.open).toBe(true);
  if (!other.open) throw new Error('refused');
  const answer = new Promise<unknown>((resolve) => other.socket.on('message', (data) => resolve(JSON.parse(String(data)))));
  other.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ serverInfo { version } }' } }));
  expect(await answer).toMatchObject({ id: '1', type: 'next', payload: { data: { serverInfo: { version: '0.1.0' } } } });
  const wsMs = performance.now() - wsStarted;
  await closeAll([other]);
  return { httpMs, wsMs };
}

/** `n` connections from 127.0.0.1, all acknowledged (retried while the server still counts ones just closed) */
async function holdAll(n: number): Promise<Outcome[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const outcomes = await Promise.all(Array.from({ length: n }, () => connect()));
    if (outcomes.every((o) => o.open)) return outcomes;
    await closeAll(outcomes);
    if (Date.now() > deadline) throw new Error(`${outcomes.filter((o) => !o.open).length} of ${n} still refused`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** the same request's time right now without the burst: on a shared machine the 1 s allowance is on top of it */
async function usualMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { httpMs, wsMs } = await anotherClient();
    times.push(Math.max(httpMs, wsMs));
  }
  return times.sort((a, b) => a - b)[1]!;
}

/**
 * The hostile client, in another process (as in the finding, so that its own work is not on the API's event
 * loop): `body` runs with `WebSocket` imported, defines `sockets` (closed on release) and prints "started" once
 * all it sends is on its way, then one JSON line, its result. `release()` closes its sockets and ends it.
 */
function hostileProcess(body: string) {
  const script = `import WebSocket from 'ws';
    const url = ${JSON.stringify(wsUrl)};
    const tally = (outcomes) => outcomes.reduce((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});
    ${body}
    process.stdin.on('data', async () => {
      await Promise.all(sockets.map((s) => s.readyState === WebSocket.CLOSED ? null : new Promise((r) => { s.once('close', r); s.close(); })));
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: (() => void)[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter(Boolean));
    for (const w of waiting.splice(0)) w();
  });
  const line = (i: number) =>
    new Promise<string>((resolve) => {
      const check = () => (lines.length > i ? resolve(lines[i]!) : waiting.push(check));
      check();
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    started: line(0).then((l) => expect(l).toBe('started')),
    result: line(1).then((l) => JSON.parse(l) as unknown),
    async release() {
      child.stdin.write('close\n');
      await exited;
    },
  };
}

/** `n` graphql-ws connections from 127.0.0.1 at once; the result: how many were acknowledged, how the others were closed */
const connectionBurst = (n: number) =>
  hostileProcess(`const sockets = [];
    const outcomes = await Promise.all(Array.from({ length: ${n} }, (_, i) => new Promise((resolve) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress: '127.0.0.1' });
      sockets.push(socket);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', () => resolve('open'));
      socket.on('close', (code, reason) => resolve(code + ' ' + reason));
      socket.on('error', (e) => resolve('error ' + e.message));
      if (i === ${n - 1}) console.log('started');
    })));
    console.log(JSON.stringify(tally(outcomes)));`);

/**
 * One connection sending `n` subscriptions to the run's trainingProgress at once; the result: the ids that
 * got events, and each refusal's code and message with how many got it.
 */
const subscriptionFlood = (n: number, runId: string) =>
  hostileProcess(`const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress: '127.0.0.1' });
    const sockets = [socket];
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => socket.once('message', resolve));
    const first = new Map();
    const all = new Promise((resolve) => socket.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (first.has(m.id)) return;
      first.set(m.id, m.type === 'error' ? m.payload.map((e) => e.extensions.code + ': ' + e.message).join() : m.type);
      if (first.size === ${n}) resolve();
    }));
    const query = 'subscription($runId: ID!) { trainingProgress(runId: $runId) { kind status } }';
    for (let i = 0; i < ${n}; i++) {
      socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query, variables: { runId: ${JSON.stringify(runId)} } } }));
    }
    console.log('started');
    await all;
    const followed = [...first].filter(([, o]) => o === 'next').map(([id]) => Number(id)).sort((a, b) => a - b);
    console.log(JSON.stringify({ followed, refused: tally([...first.values()].filter((o) => o !== 'next')) }));`);

describe('WebSocket connections per client address', () => {
  it('refuses the 101st connection from one address with 1013 while another address is answered within 1 s', async () => {
    const usual = await usualMs();
    // a burst of 300 from one address, and meanwhile another client
    const burst = connectionBurst(3 * PER_ADDRESS);
    try {
      await burst.started;
      const other = await anotherClient();
      console.error('DIAG', usual, other);
      expect(other.httpMs).toBeLessThan(1000 + usual);
      expect(other.wsMs).toBeLessThan(1000 + usual);
      expect(await burst.result).toEqual({
        open: PER_ADDRESS,
        '1013 too many connections from this address: at most 100 (GLIMPSE_WS_CONNECTIONS_PER_ADDRESS)': 2 * PER_ADDRESS,
      });
      expect(TOO_MANY_CONNECTIONS_CLOSE).toBe(1013);
      // its 100 are held: one more from the same address is refused too
      expect(await connect()).toMatchObject({ open: false, code: 1013 });
    } finally {
      await burst.release();
    }

    // its places are released with its sockets: 100 again, then the 101st refused; closing one frees its place
    const held = await holdAll(PER_ADDRESS);
    try {
      expect(await connect()).toMatchObject({ open: false, code: 1013 });
      const [first] = held;
      if (!first?.open) throw new Error('none held');
      // a connection held stays usable
      const answer = new Promise<unknown>((resolve) => first.socket.on('message', (data) => resolve(JSON.parse(String(data)))));
      first.socket.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ serverInfo { version } }' } }));
      expect(await answer).toMatchObject({ id: 'q', type: 'next' });
      await closeAll([first]);
      const again = await connect();
      expect(again.open).toBe(true);
      held.push(again);
      expect(await connect()).toMatchObject({ open: false, code: 1013 });
    } finally {
      await closeAll(held);
    }
  });
});

describe('a refused connection does not linger', () => {
  it('cuts a refused client that never answers the close frame after about 1 s (not ws’s 30 s)', async () => {
    const holders = await holdAll(PER_ADDRESS);
    try {
      const { port } = new URL(t.api.url);
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
      });
      const started = performance.now();
      const ended = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
      socket.write(
        'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
      const ms = await ended;
      expect(received).toMatch(/^HTTP\/1\.1 101 /);
      expect(received).toContain('too many connections from this address');
      expect(ms).toBeLessThan(REFUSED_CLOSE_MS + 3000);
    } finally {
      await closeAll(holders);
    }
  });
});

describe('operations per WebSocket connection', () => {
  it('refuses all but 20 of 500 subscriptions sent at once on one connection while another client is answered within 1 s', async () => {
    const usual = await usualMs();
    const flood = subscriptionFlood(500, runId);
    try {
      await flood.started;
      const other = await anotherClient();
      expect(other.httpMs).toBeLessThan(1000 + usual);
      expect(other.wsMs).toBeLessThan(1000 + usual);
      expect(await flood.result).toEqual({
        followed: Array.from({ length: PER_CONNECTION }, (_, i) => i),
        refused: {
          'TOO_MANY_SUBSCRIPTIONS: too many operations on this connection: at most 20 at once (GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION); complete one, or open another connection':
            500 - PER_CONNECTION,
        },
      });
    } finally {
      await flood.release();
    }
  });

  it('a completed subscription frees its place; the limit error is typed', async () => {
    const client = t.ws();
    const query = `subscription($runId: ID!) { trainingProgress(runId: $runId) { kind status } }`;
    const held = Array.from({ length: PER_CONNECTION }, () => collect(client, query, { runId }));
    // each opened: its first event is the run's status
    await Promise.all(held.map((s) => s.waitFor(1, 30_000)));
    const over = collect(client, query, { runId });
    // graphql-ws's client rejects an operation's `completed` with the errors of its `error` message
    await expect(over.completed).rejects.toEqual([
      expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: PER_CONNECTION } }),
    ]);
    // the 20 held ones are still open and saw no error
    for (const s of held) expect(s.results.filter((r) => r.errors)).toEqual([]);

    held[0]!.unsubscribe();
    const next = collect(client, query, { runId });
    await next.waitFor(1, 30_000);
    expect(codes(next.results[0]!)).toEqual([]);
    const overAgain = collect(client, query, { runId });
    await expect(overAgain.completed).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_SUBSCRIPTIONS' }) }),
    ]);
    for (const s of [...held, next]) s.unsubscribe();
  });
});

describe('graphql-ws clients', () => {
  it('a client over the connection cap sees the 1013 close with its reason', async () => {
    const holders = await holdAll(PER_ADDRESS);
    try {
      const closed = new Promise<{ code: number; reason: string }>((resolve) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          on: { closed: (event) => resolve(event as { code: number; reason: string }) },
        });
        client.subscribe({ query: '{ serverInfo { version } }' }, { next: () => {}, error: () => {}, complete: () => {} });
      });
      expect(await closed).toMatchObject({ code: 1013, reason: expect.stringContaining('GLIMPSE_WS_CONNECTIONS_PER_ADDRESS') });
    } finally {
      await closeAll(holders);
    }
  });
});
