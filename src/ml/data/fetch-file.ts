// Resumable HTTP download into a `.part` file: each attempt asks for the missing tail with a Range
// request and appends to what is already on disk, so interrupted transfers (this run or an earlier
// one) continue where they stopped. Sizes are checked against the expected size as soon as the
// server announces one, and again at the end.
import { open, stat, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadError } from './data-errors.ts';

export interface TransferProgress {
  /** bytes of the file on disk so far (resumed bytes included) */
  received: number;
  total: number;
  /** transfer rate of this attempt */
  bytesPerSec: number;
}

export interface FetchResumableOptions {
  /** expected size in bytes */
  size: number;
  signal?: AbortSignal;
  /** further attempts after a network failure, each resuming from the .part file (default 5) */
  retries?: number;
  retryDelayMs?: number;
  onProgress?: (p: TransferProgress) => void;
}

export interface FetchResumableResult {
  /** bytes already on disk when this call started */
  resumedFrom: number;
  /** HTTP requests made */
  requests: number;
}

const PROGRESS_INTERVAL_MS = 200;

async function sizeOnDisk(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

function abortError(url: string, signal: AbortSignal | undefined, err: unknown): DownloadError | null {
  if (!signal?.aborted) return null;
  return new DownloadError('ABORTED', url, 'download cancelled', { cause: err });
}

/** Total size the server announces: Content-Range's total for 206, Content-Length for 200. */
function announcedTotal(res: Response): number | null {
  const range = res.headers.get('content-range');
  const text = res.status === 206 ? range?.split('/')[1] : res.headers.get('content-length');
  const total = text === undefined || text === null || text === '*' ? NaN : Number(text);
  return Number.isFinite(total) ? total : null;
}

/** One HTTP request continuing the .part file from `offset`. */
async function fetchTail(url: string, partPath: string, offset: number, opts: FetchResumableOptions): Promise<void> {
  const { size, signal, onProgress } = opts;
  let res: Response;
  try {
    res = await fetch(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal });
  } catch (err) {
    throw (
      abortError(url, signal, err) ?? new DownloadError('NETWORK_ERROR', url, `request failed: ${(err as Error).message}`, { cause: err })
    );
  }
  const discard = () => res.body?.cancel().catch(() => undefined);
  if (res.status === 416) {
    await discard();
    await unlink(partPath).catch(() => undefined);
    throw new DownloadError(
      'SIZE_MISMATCH',
      url,
      `server refused to resume at byte ${offset}: the remote file is smaller than the ${size} bytes expected`,
    );
  }
  if (res.status !== 200 && res.status !== 206) {
    await discard();
    throw new DownloadError('HTTP_ERROR', url, `HTTP ${res.status} ${res.statusText}`);
  }
  // a 200 answer to a Range request means the server does not resume: start over
  const start = res.status === 206 ? offset : 0;
  if (res.status === 206 && !res.headers.get('content-range')?.startsWith(`bytes ${offset}-`)) {
    await discard();
    throw new DownloadError('HTTP_ERROR', url, `unexpected Content-Range "${res.headers.get('content-range')}" for a resume at ${offset}`);
  }
  const total = announcedTotal(res);
  if (total !== null && total !== size) {
    await discard();
    throw new DownloadError('SIZE_MISMATCH', url, `server reports ${total} bytes, expected ${size}`);
  }
  if (!res.body) throw new DownloadError('NETWORK_ERROR', url, 'response has no body');

  const began = performance.now();
  let received = start;
  let lastReport = 0;
  const report = (force: boolean) => {
    const now = performance.now();
    if (!onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    onProgress({ received, total: size, bytesPerSec: (received - start) / Math.max((now - began) / 1000, 1e-3) });
  };
  // each chunk is on disk before the next is read: after a cut, the .part holds every byte received
  const file = await open(partPath, start > 0 ? 'a' : 'w');
  try {
    for await (const chunk of Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>)) {
      const bytes = chunk as Uint8Array;
      if (received + bytes.length > size) {
        throw new DownloadError('SIZE_MISMATCH', url, `server sent more than the ${size} bytes expected`);
      }
      await file.write(bytes);
      received += bytes.length;
      report(false);
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw (
      abortError(url, signal, err) ??
      new DownloadError('NETWORK_ERROR', url, `transfer interrupted at byte ${received}: ${(err as Error).message}`, { cause: err })
    );
  } finally {
    await file.close();
    report(true);
  }
}

/**
 * Downloads `url` into `partPath` until it holds exactly `size` bytes, resuming from whatever the
 * file already contains. Throws DownloadError (HTTP_ERROR, SIZE_MISMATCH, NETWORK_ERROR after the
 * last retry, ABORTED); the .part file is kept on network errors and aborts so a later call resumes.
 */
export async function fetchResumable(url: string, partPath: string, opts: FetchResumableOptions): Promise<FetchResumableResult> {
  const { size, retries = 5, retryDelayMs = 2000, signal } = opts;
  let onDisk = await sizeOnDisk(partPath);
  if (onDisk > size) {
    await unlink(partPath);
    onDisk = 0;
  }
  const resumedFrom = onDisk;
  let requests = 0;
  for (let attempt = 0; onDisk < size; attempt++) {
    try {
      requests++;
      await fetchTail(url, partPath, onDisk, opts);
      onDisk = await sizeOnDisk(partPath);
      if (onDisk < size) throw new DownloadError('NETWORK_ERROR', url, `connection closed after ${onDisk} of ${size} bytes`);
    } catch (err) {
      if (!(err instanceof DownloadError) || err.code !== 'NETWORK_ERROR' || attempt >= retries) throw err;
      onDisk = await sizeOnDisk(partPath);
      await sleep(retryDelayMs * (attempt + 1), undefined, { signal }).catch((e: unknown) => {
        throw abortError(url, signal, e) ?? e;
      });
    }
  }
  return { resumedFrom, requests };
}
