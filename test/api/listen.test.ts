// The listen address: 127.0.0.1 unless HOST says otherwise, reported as bound; a warning when listening
// beyond loopback without API keys; a port in use is reported as such.
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startApi } from '../../src/server/app.ts';
import { startTestApi, type TestApi } from './harness.ts';

/** an address of this machine that is not loopback, if it has one */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const reachable = (host: string, port: number) =>
  fetch(`http://${host}:${port}/graphql?query=%7B__typename%7D`, { headers: { 'apollo-require-preflight': 'true' } }).then(
    (r) => r.status,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
  );

let byDefault: TestApi;
beforeAll(async () => {
  byDefault = await startTestApi({}, { host: undefined }); // HOST unset: config.host
});
afterAll(() => byDefault?.close());

describe('listen address', () => {
  it('is 127.0.0.1 without HOST, and says so', async () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(byDefault.api.httpServer.address()).toMatchObject({ address: '127.0.0.1' });
    expect(byDefault.api.listening).toMatchObject({ host: '127.0.0.1', loopback: true, everyInterface: false });
    expect(byDefault.api.listening.text).toBe(`127.0.0.1:${byDefault.api.port} (loopback only)`);
    expect(byDefault.api.warnings).toEqual([]);
    expect(await reachable('127.0.0.1', byDefault.api.port)).toBe(200);
    if (external) expect(await reachable(external, byDefault.api.port)).toBe('ECONNREFUSED');
  });

  it('is every interface with HOST=0.0.0.0, with a warning while no API keys are set', async () => {
    const open = await startTestApi({ HOST: '0.0.0.0' }, { host: undefined });
    try {
      expect(open.api.listening).toMatchObject({ host: '0.0.0.0', everyInterface: true, loopback: false });
      expect(open.api.listening.text).toBe(`0.0.0.0:${open.api.port} (every interface)`);
      expect(open.api.warnings).toEqual([
        expect.stringMatching(/listening on 0\.0\.0\.0:\d+ \(every interface\) without API keys.*GLIMPSE_API_KEYS/),
      ]);
      expect(open.api.url).toBe(`http://127.0.0.1:${open.api.port}/graphql`);
      if (external) expect(await reachable(external, open.api.port)).toBe(200);
    } finally {
      await open.close();
    }
    const keyed = await startTestApi({ HOST: '0.0.0.0', GLIMPSE_API_KEYS: 'k' }, { host: undefined });
    expect(keyed.api.warnings).toEqual([]);
    await keyed.close();
  });

  it('reports a port in use plainly (not as a WebSocket server error)', async () => {
    const config = loadConfig({ GLIMPSE_DATA_DIR: '/tmp/glimpse-api-test' });
    const attempt = startApi({
      config,
      prisma: byDefault.db.prisma,
      events: byDefault.events,
      queue: byDefault.queue,
      port: byDefault.api.port,
    });
    await expect(attempt).rejects.toThrow(
      `port ${byDefault.api.port} is already in use on 127.0.0.1: stop the other process or set PORT to a free port`,
    );
    // the running server is unaffected
    expect(await reachable('127.0.0.1', byDefault.api.port)).toBe(200);
  });

  it('refuses a malformed HOST at start-up', () => {
    expect(() => loadConfig({ HOST: 'http://0.0.0.0' })).toThrow(/HOST: expected an address/);
  });
});
