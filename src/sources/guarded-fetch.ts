// The worker's fetch for pretrained backbones (model.json and its weight shards), a drop-in for the
// `fetch` TF.js and src/ml call. Every request, and every redirect hop (followed here, at most
// MAX_REDIRECTS), is checked by checkBackboneUrl; host names are resolved by our own `lookup`, which
// refuses the connection when any resolved address is not public, and the socket connects to exactly
// the addresses checked (no second resolution: DNS rebinding finds nothing to swap). The remote
// address is checked again once connected. Each connection may stay silent at most `timeoutMs`
// (connecting, waiting for headers, between chunks); the abort signal stops a download at once; the
// bytes of one fetcher (one backbone load) are capped as a whole (Content-Length first, then counted).
// Bodies are read completely before the Response is returned, so every failure is thrown here, with a
// message that quotes nothing the remote server sent.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { checkBackboneUrl, refusedRange, SourceRefusedError, type AddressPolicy } from './backbone-url.ts';

export const MAX_REDIRECTS = 5;

export interface GuardedFetchOptions extends AddressPolicy {
  /** bytes all responses of this fetcher may hold together */
  maxBytes: number;
  /** longest silence on a connection (connect, headers, body), in ms */
  timeoutMs: number;
}

export type DownloadFailure = 'TOO_LARGE' | 'TIMEOUT' | 'NETWORK' | 'ABORTED';

/** A download that failed after it was allowed; the message names the URL and the reason only. */
export class BackboneDownloadError extends Error {
  constructor(
    readonly code: DownloadFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackboneDownloadError';
  }
}

export type GuardedFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer | null;
}

/** dns.lookup that fails unless every address of the name is allowed, and returns only those */
function guardedLookup(allowPrivate: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.map((a) => refusedRange(a.address, allowPrivate)).find((r) => r !== null);
      if (refused) return callback(new SourceRefusedError(`${hostname} resolves to a ${refused} address, which is not fetched`), '', 0);
      if (addresses.length === 0) return callback(new SourceRefusedError(`${hostname} has no address`), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function requestOnce(url: URL, opts: GuardedFetchOptions, remaining: () => number, signal: AbortSignal | undefined): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const where = `${url.origin}${url.pathname}`;
    if (signal?.aborted) return reject(new BackboneDownloadError('ABORTED', `${where}: download cancelled`));
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(error);
    };
    const req = client.request(url, {
      method: 'GET',
      headers: { accept: '*/*', 'user-agent': 'glimpse-backbone-fetch' },
      lookup: guardedLookup(opts.allowPrivate),
      timeout: opts.timeoutMs,
      agent: false,
    });
    req.on('timeout', () => fail(new BackboneDownloadError('TIMEOUT', `${where}: no answer for ${opts.timeoutMs / 1000} s`)));
    req.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        const range = socket.remoteAddress ? refusedRange(socket.remoteAddress, opts.allowPrivate) : 'unknown';
        if (range !== null) fail(new SourceRefusedError(`${url.host} connected to a ${range} address, which is not fetched`));
      });
    });
    req.on('error', (error: Error) => {
      if (error instanceof SourceRefusedError) return fail(error);
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      fail(new BackboneDownloadError('NETWORK', `${where}: request failed (${code})`, { cause: error }));
    });
    const onAbort = () => fail(new BackboneDownloadError('ABORTED', `${where}: download cancelled`));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 599) return fail(new BackboneDownloadError('NETWORK', `${where}: not an HTTP answer`));
      if (status >= 300 || status === 204) {
        res.resume(); // not read, never quoted
        settled = true;
        resolve({ status, headers: res.headers, body: null });
        res.destroy();
        return;
      }
      const announced = Number(res.headers['content-length']);
      const tooLarge = () =>
        new BackboneDownloadError(
          'TOO_LARGE',
          `${where}: larger than the ${opts.maxBytes} bytes a backbone may have (GLIMPSE_BACKBONE_MAX_BYTES)`,
        );
      if (Number.isFinite(announced) && announced > remaining()) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > remaining()) return fail(tooLarge());
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (error) => fail(new BackboneDownloadError('NETWORK', `${where}: transfer interrupted`, { cause: error })));
      res.on('aborted', () => fail(new BackboneDownloadError('NETWORK', `${where}: transfer interrupted`)));
    });
    req.end();
  });
}

/**
 * A fetch for one backbone load under `opts`. Throws SourceRefusedError (policy) or
 * BackboneDownloadError; answers other than 2xx come back as bodiless Responses with their status.
 */
export function createGuardedFetch(opts: GuardedFetchOptions): GuardedFetch {
  let used = 0;
  const remaining = () => opts.maxBytes - used;
  return async (input, init) => {
    const signal = init?.signal ?? undefined;
    if (init?.method && init.method.toUpperCase() !== 'GET') throw new SourceRefusedError('only GET requests are made');
    let url = checkBackboneUrl(String(input), opts);
    for (let hop = 0; ; hop++) {
      const answer = await requestOnce(url, opts, remaining, signal);
      const location = answer.headers.location;
      if ([301, 302, 303, 307, 308].includes(answer.status) && location) {
        if (hop >= MAX_REDIRECTS) throw new SourceRefusedError(`${url.origin}${url.pathname}: more than ${MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new SourceRefusedError(`${url.origin}${url.pathname}: redirect to an invalid URL`);
        }
        try {
          url = checkBackboneUrl(next.href, opts);
        } catch (error) {
          throw new SourceRefusedError(`${url.origin}${url.pathname}: redirect refused: ${(error as Error).message}`);
        }
        continue;
      }
      used += answer.body?.length ?? 0;
      const headers = new Headers();
      const type = answer.headers['content-type'];
      if (typeof type === 'string') headers.set('content-type', type);
      const response = new Response(answer.body ? new Uint8Array(answer.body) : null, { status: answer.status, headers });
      Object.defineProperty(response, 'url', { value: url.href });
      return response;
    }
  };
}
