// A plain static file server for browser tests: node:http answering GET from a table of paths → files (or
// bytes), nothing else (no Glimpse code). Each response says its type; anything else is 404.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

export interface StaticServer {
  origin: string;
  /** the paths requested so far, in order */
  requested: string[];
  close(): Promise<void>;
}

/** Serves `files` (URL path → a file on disk, or its bytes) on 127.0.0.1. */
export async function serveStatic(files: (path: string) => string | Buffer | undefined): Promise<StaticServer> {
  const requested: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requested.push(path);
    const found = req.method === 'GET' ? files(path) : undefined;
    if (found === undefined) {
      res.writeHead(404).end();
      return;
    }
    (typeof found === 'string' ? readFile(found) : Promise.resolve(found)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requested,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
