// A standalone worker's own HTTP port (GLIMPSE_METRICS_PORT, on HOST): GET /metrics (its registry; with
// GLIMPSE_API_KEYS set, for key holders only, as the API's), /livez and /readyz (src/process/probes.ts).
// `npm start`'s children serve none: their metrics reach the API's scrape over IPC.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { PrismaClient } from '../db/client.ts';
import { isAcceptedKey } from '../process/api-keys.ts';
import type { EventLoopWatch } from '../process/event-loop.ts';
import { liveness, readiness, type ProbeAnswer } from '../process/probes.ts';

export interface MetricsServerOptions {
  registry: Registry;
  prisma: PrismaClient;
  loop: EventLoopWatch;
  maxDelaySeconds: number;
  draining: () => boolean;
  /** true once the worker takes jobs */
  started: () => boolean;
  apiKeys: readonly string[];
  host: string;
  port: number;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

const bearer = (header: string | undefined) => /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? null;

export async function serveWorkerMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const json = (status: number, body: unknown) => ({ status, type: 'application/json; charset=utf-8', text: JSON.stringify(body) });
  const probe = ({ status, body }: ProbeAnswer) => json(status, body);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async () => {
      if (req.method !== 'GET') return json(405, { error: 'GET only' });
      if (path === '/livez') return probe(liveness(options.loop, options.maxDelaySeconds));
      if (path === '/readyz')
        return probe(await readiness({ prisma: options.prisma, draining: options.draining, started: options.started }));
      if (path !== '/metrics') return json(404, { error: 'not found: /metrics, /livez, /readyz' });
      if (options.apiKeys.length > 0 && !isAcceptedKey(bearer(req.headers.authorization), options.apiKeys)) {
        return { status: 401, type: 'text/plain', text: '/metrics needs "Authorization: Bearer <key>" (GLIMPSE_API_KEYS)\n' };
      }
      return { status: 200, type: options.registry.contentType, text: await options.registry.metrics() };
    };
    answer().then(
      ({ status, type, text }) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
