// Zip extraction with yauzl (zip64, streaming, entry names validated): every entry is written under
// the destination folder, never outside it.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { DownloadError } from './data-errors.ts';

export interface ExtractProgress {
  /** compressed bytes of the entries extracted so far */
  received: number;
  /** size of the archive */
  total: number;
  bytesPerSec: number;
}

export interface ExtractResult {
  files: number;
  /** uncompressed bytes written */
  bytes: number;
}

const PROGRESS_EVERY_ENTRIES = 200;

function insideDir(dir: string, name: string): string | null {
  const target = resolve(dir, name);
  const rel = relative(dir, target);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? null : target;
}

/** Extracts `zipPath` into `destDir`. Failures (corrupt archive, unsafe names, I/O) are EXTRACT_FAILED. */
export async function extractZip(
  zipPath: string,
  destDir: string,
  opts: { signal?: AbortSignal; onProgress?: (p: ExtractProgress) => void } = {},
): Promise<ExtractResult> {
  const { signal, onProgress } = opts;
  const dir = resolve(destDir);
  const began = performance.now();
  let files = 0;
  let bytes = 0;
  let compressed = 0;
  let zip: yauzl.ZipFile | undefined;
  const report = () => {
    const seconds = Math.max((performance.now() - began) / 1000, 1e-3);
    onProgress?.({ received: compressed, total: zip?.fileSize ?? 0, bytesPerSec: compressed / seconds });
  };
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
    for await (const entry of zip.eachEntry()) {
      if (signal?.aborted) throw new DownloadError('ABORTED', zipPath, 'extraction cancelled');
      const target = insideDir(dir, entry.fileName);
      if (!target) throw new DownloadError('EXTRACT_FAILED', zipPath, `entry "${entry.fileName}" would be written outside ${dir}`);
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true });
      } else {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
        files++;
        bytes += entry.uncompressedSize;
      }
      compressed += entry.compressedSize;
      if (files % PROGRESS_EVERY_ENTRIES === 0) report();
    }
  } catch (err) {
    zip?.close();
    if (err instanceof DownloadError) throw err;
    throw new DownloadError('EXTRACT_FAILED', zipPath, `cannot extract: ${(err as Error).message}`, { cause: err });
  }
  report();
  return { files, bytes };
}
