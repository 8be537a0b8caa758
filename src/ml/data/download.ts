// The seed's COCO 2014 files, fetched from their official URLs: resumable download, size and
// checksum checks, then extraction. A `.NAME.done` marker makes finished archives a no-op on rerun.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadError } from './data-errors.ts';
import { fetchResumable } from './fetch-file.ts';
import { extractZip } from './unzip.ts';

export interface RemoteArchive {
  /** local file name */
  name: string;
  /** path below the base URL */
  path: string;
  /** exact size in bytes */
  size: number;
  md5?: string;
  sha256?: string;
}

export const DEFAULT_COCO_BASE_URL = 'http://images.cocodataset.org';

/** Captions (and instances, person keypoints) for train and val 2014. md5 = the S3 ETag. */
export const COCO_ANNOTATIONS_2014: RemoteArchive = {
  name: 'annotations_trainval2014.zip',
  path: 'annotations/annotations_trainval2014.zip',
  size: 252_872_794,
  md5: '0a379cfc70b0e71301e0f377548639bd',
};

/** 82,783 training images. */
export const COCO_TRAIN_2014: RemoteArchive = {
  name: 'train2014.zip',
  path: 'zips/train2014.zip',
  size: 13_510_573_713,
  md5: '0da8c0bd3d6becc4dcb32757491aca88',
};

export const COCO_FILES: readonly RemoteArchive[] = [COCO_ANNOTATIONS_2014, COCO_TRAIN_2014];

/** Where the default archives extract to, relative to the download folder. */
export function cocoPaths(dir: string): { annotationsPath: string; imagesDir: string } {
  return { annotationsPath: join(dir, 'annotations', 'captions_train2014.json'), imagesDir: join(dir, 'train2014') };
}

export interface DownloadProgress {
  phase: 'download' | 'verify' | 'extract';
  /** archive name */
  file: string;
  received: number;
  total: number;
  bytesPerSec: number;
}

export interface DownloadCocoOptions {
  /** folder that receives the archives and their contents */
  dir: string;
  /** default: the official http://images.cocodataset.org */
  baseUrl?: string;
  files?: readonly RemoteArchive[];
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** check md5/sha256 where known (default true) */
  verifyChecksums?: boolean;
  /** keep the .zip after extraction (default false) */
  keepArchives?: boolean;
  retries?: number;
  retryDelayMs?: number;
}

export interface DownloadedArchive {
  name: string;
  url: string;
  /** true when an earlier run had already finished this archive */
  skipped: boolean;
  /** bytes found in the .part file at the start (0 = fresh download) */
  resumedFrom: number;
  /** files extracted */
  files: number;
}

async function hashFile(path: string, algorithm: 'md5' | 'sha256', onBytes: (n: number) => void): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    onBytes((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

async function verifyChecksums(path: string, archive: RemoteArchive, url: string, progress: (n: number) => void): Promise<void> {
  const expected = (['md5', 'sha256'] as const).flatMap((algorithm) => {
    const value = archive[algorithm];
    return value ? [[algorithm, value.toLowerCase()] as const] : [];
  });
  for (const [algorithm, value] of expected) {
    const actual = await hashFile(path, algorithm, progress);
    if (actual !== value) {
      await unlink(path); // corrupt bytes must not be resumed
      throw new DownloadError('CHECKSUM_MISMATCH', url, `${algorithm} ${actual}, expected ${value}`);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fetchArchive(archive: RemoteArchive, url: string, opts: DownloadCocoOptions): Promise<DownloadedArchive> {
  const { dir, onProgress, signal } = opts;
  const zipPath = join(dir, archive.name);
  const marker = join(dir, `.${archive.name}.done`);
  if (await exists(marker)) {
    const done = JSON.parse(await readFile(marker, 'utf8')) as { files: number };
    return { name: archive.name, url, skipped: true, resumedFrom: 0, files: done.files };
  }

  let resumedFrom = 0;
  const complete = await stat(zipPath).then(
    (s) => s.size === archive.size,
    () => false,
  );
  if (!complete) {
    const partPath = `${zipPath}.part`;
    ({ resumedFrom } = await fetchResumable(url, partPath, {
      size: archive.size,
      signal,
      retries: opts.retries,
      retryDelayMs: opts.retryDelayMs,
      onProgress: (p) => onProgress?.({ phase: 'download', file: archive.name, ...p }),
    }));
    if (opts.verifyChecksums ?? true) {
      const began = performance.now();
      let hashed = 0;
      await verifyChecksums(partPath, archive, url, (n) => {
        hashed += n;
        const seconds = Math.max((performance.now() - began) / 1000, 1e-3);
        onProgress?.({ phase: 'verify', file: archive.name, received: hashed, total: archive.size, bytesPerSec: hashed / seconds });
      });
    }
    await rename(partPath, zipPath);
  }

  const { files } = await extractZip(zipPath, dir, {
    signal,
    onProgress: (p) => onProgress?.({ phase: 'extract', file: archive.name, ...p }),
  });
  await writeFile(marker, JSON.stringify({ url, size: archive.size, files }));
  if (!opts.keepArchives) await unlink(zipPath);
  return { name: archive.name, url, skipped: false, resumedFrom, files };
}

/**
 * Downloads and extracts the archives (default: COCO 2014 annotations and train images) into `dir`.
 * Rerunning after an interruption resumes the partial download; finished archives are skipped.
 */
export async function downloadCoco(opts: DownloadCocoOptions): Promise<DownloadedArchive[]> {
  const base = (opts.baseUrl ?? DEFAULT_COCO_BASE_URL).replace(/\/+$/, '');
  await mkdir(opts.dir, { recursive: true });
  const results: DownloadedArchive[] = [];
  for (const archive of opts.files ?? COCO_FILES) {
    const url = `${base}/${archive.path.replace(/^\/+/, '')}`;
    if (opts.signal?.aborted) throw new DownloadError('ABORTED', url, 'download cancelled');
    results.push(await fetchArchive(archive, url, opts));
  }
  return results;
}
