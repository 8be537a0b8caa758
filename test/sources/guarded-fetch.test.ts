// The worker's guarded fetch against real local HTTP servers, each counting the requests it gets: a
// redirect from an allowed server to an internal one (by name, resolved by DNS, or by address) and a
// hex IP are refused before any request reaches the internal server; downloads that never answer
// time out or are cancelled at once; oversized ones are cut off.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceRefusedError } from '../../src/sources/backbone-url.ts';
import { BackboneDownloadError, createGuardedFetch, MAX_REDIRECTS } from '../../src/sources/guarded-fetch.ts';

interface TestServer {
  server: Server;
  port: number;
  requests: string[];
  sockets: Set<Socket>;
}

async function serve(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port, requests, sockets };
}

const close = (s: TestServer) => {
  for (const socket of s.sockets) socket.destroy();
  return new Promise((resolve) => s.server.close(resolve));
};

/** the internal service an attacker wants to reach: must never see a request */
let internal: TestServer;
/** an "allowed" server on 127.0.0.2 that redirects wherever its path says */
let redirector: TestServer;
/** serves bytes, a never-ending stream, or nothing at all */
let files: TestServer;

beforeAll(async () => {
  internal = await serve('127.0.0.1', (_req, res) => res.end('root:*:19000:0:99999:7:::'));
  redirector = await serve('127.0.0.2', (req, res) => {
    const to = decodeURIComponent((req.url ?? '/').slice('/to/'.length));
    res.writeHead(302, { location: to }).end();
  });
  files = await serve('127.0.0.1', (req, res) => {
    if (req.url === '/model.json') res.writeHead(200, { 'content-type': 'application/json' }).end('{"format":"layers-model"}');
    else if (req.url === '/big.bin') res.writeHead(200, { 'content-length': String(10_000) }).end(Buffer.alloc(10_000));
    else if (req.url === '/endless.bin') {
      res.writeHead(200); // chunked, no length: counted as it arrives
      const timer = setInterval(() => res.write(Buffer.alloc(1024)), 5);
      res.on('close', () => clearInterval(timer));
    } else if (req.url === '/silent') {
      // accepts the connection, never answers
    } else if (req.url?.startsWith('/loop')) res.writeHead(302, { location: `/loop${(req.url.length % 50) + 1}` }).end();
    else res.writeHead(404).end('secret 404 body');
  });
});
afterAll(async () => {
  await Promise.all([internal, redirector, files].filter(Boolean).map(close));
});

const allowed = (extra: Partial<Parameters<typeof createGuardedFetch>[0]> = {}) =>
  createGuardedFetch({
    hosts: [`127.0.0.2:${redirector.port}`, `127.0.0.1:${files.port}`, `127.0.0.1:${internal.port}`, `localhost:${internal.port}`],
    allowPrivate: [],
    maxBytes: 4096,
    timeoutMs: 2000,
    ...extra,
  });

async function failure(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(result, 'expected a failure').not.toBeNull();
  return result!;
}

describe('guarded fetch', () => {
  it('downloads from an allowed host whose address range is explicitly allowed, without the body of a 404', async () => {
    const fetch = allowed({ allowPrivate: ['127.0.0.1/32'] });
    const response = await fetch(`http://127.0.0.1:${files.port}/model.json`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ format: 'layers-model' });
    const missing = await fetch(`http://127.0.0.1:${files.port}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('');
  });

  it('refuses a redirect from an allowed server to a name that resolves to loopback, before connecting to it', async () => {
    const fetch = allowed({ allowPrivate: ['127.0.0.2/32'] });
    const target = `http://localhost:${internal.port}/etc/shadow`;
    const error = await failure(fetch(`http://127.0.0.2:${redirector.port}/to/${encodeURIComponent(target)}`));
    expect(error).toBeInstanceOf(SourceRefusedError);
    expect(error.message).toMatch(/resolves to a loopback address/);
    expect(redirector.requests).toHaveLength(1); // the allowed hop was made
    expect(internal.requests).toEqual([]); // the internal one never was
  });

  it('refuses a redirect to an internal address (hex spelling) and to a host not on the list', async () => {
    const fetch = allowed({ allowPrivate: ['127.0.0.2/32'] });
    for (const target of [
      `http://0x7f000001:${internal.port}/x`,
      `http://127.0.0.1:${internal.port}/x`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const error = await failure(fetch(`http://127.0.0.2:${redirector.port}/to/${encodeURIComponent(target)}`));
      expect(error).toBeInstanceOf(SourceRefusedError);
      expect(error.message).toMatch(/redirect refused: .*(loopback address|not allowed)/);
    }
    expect(internal.requests).toEqual([]);
  });

  it('refuses a hex IP, a decimal IP and a loopback name outright, without a request', async () => {
    const fetch = allowed();
    for (const url of [
      `http://0x7f000001:${internal.port}/x`,
      `http://2130706433:${internal.port}/x`,
      `http://localhost:${internal.port}/x`,
    ]) {
      const error = await failure(fetch(url));
      expect(error, url).toBeInstanceOf(SourceRefusedError);
      expect(error.message).toMatch(/loopback address/);
    }
    expect(internal.requests).toEqual([]);
  });

  it(`follows at most ${MAX_REDIRECTS} redirects`, async () => {
    const error = await failure(allowed({ allowPrivate: ['127.0.0.1/32'] })(`http://127.0.0.1:${files.port}/loop`));
    expect(error.message).toMatch(/more than 5 redirects/);
  });

  it('refuses a file larger than the budget (announced, or counted as it streams), and the budget spans files', async () => {
    const fetch = allowed({ allowPrivate: ['127.0.0.1/32'] });
    const big = await failure(fetch(`http://127.0.0.1:${files.port}/big.bin`));
    expect(big).toBeInstanceOf(BackboneDownloadError);
    expect((big as BackboneDownloadError).code).toBe('TOO_LARGE');
    expect(big.message).toMatch(/larger than the 4096 bytes .*GLIMPSE_BACKBONE_MAX_BYTES/);
    const endless = await failure(fetch(`http://127.0.0.1:${files.port}/endless.bin`));
    expect((endless as BackboneDownloadError).code).toBe('TOO_LARGE');
    // 25 bytes per model.json: a 60-byte budget holds two, not three
    const small = allowed({ allowPrivate: ['127.0.0.1/32'], maxBytes: 60 });
    await small(`http://127.0.0.1:${files.port}/model.json`);
    await small(`http://127.0.0.1:${files.port}/model.json`);
    expect(((await failure(small(`http://127.0.0.1:${files.port}/model.json`))) as BackboneDownloadError).code).toBe('TOO_LARGE');
  });

  it('times out a server that never answers', async () => {
    const started = performance.now();
    const error = await failure(allowed({ allowPrivate: ['127.0.0.1/32'], timeoutMs: 300 })(`http://127.0.0.1:${files.port}/silent`));
    expect((error as BackboneDownloadError).code).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('stops at once when the signal aborts', async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);
    const fetch = allowed({ allowPrivate: ['127.0.0.1/32'], timeoutMs: 60_000 });
    const error = await failure(fetch(`http://127.0.0.1:${files.port}/silent`, { signal: controller.signal }));
    expect((error as BackboneDownloadError).code).toBe('ABORTED');
    expect(performance.now() - started).toBeLessThan(1500);
    // already aborted: no request at all
    const before = files.requests.length;
    await failure(fetch(`http://127.0.0.1:${files.port}/model.json`, { signal: controller.signal }));
    expect(files.requests.length).toBe(before);
  });
});
