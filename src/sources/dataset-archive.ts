// An uploaded dataset zip (createDataset(input: { archive })), checked before anything is stored and
// unpacked into the layout stored sets have (captions.json + images/<file_name>, as a generated set:
// src/jobs/artifacts.ts openDataset). Every problem is an ArchiveRejected whose message is the reason
// the client gets (no server paths in it). Zip bombs: the entry count and the uncompressed sizes the
// headers announce are bounded before anything is inflated, and the bytes actually inflated are
// counted against the same bound (and against each entry's announced size: yauzl's
// validateEntrySizes). Only the captions JSON and the images it captions are inflated at all. Images:
// every header is checked against the decode budget before any image is decoded, the decoding runs on
// the image check pool's threads (./archive-images.ts), and the whole unpack has a deadline. Names from
// the zip or the JSON appear in messages cut to a short prefix (./client-text.ts).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { decodeAll, HeaderTally, type CountedImage, type ImageBudget } from './archive-images.ts';
import { clip, quote } from './client-text.ts';
import type { ImageCheckPool } from './image-check-pool.ts';

export class ArchiveRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveRejected';
  }
}

export interface ArchiveLimits extends ImageBudget {
  /** entries in the zip (folders included) */
  maxEntries: number;
  /** uncompressed bytes, announced and actually inflated */
  maxUncompressedBytes: number;
  /** the whole unpack, image checks and waiting for the pool included (GLIMPSE_DATASET_CHECK_SECONDS) */
  checkSeconds: number;
}

export interface UnpackedArchive {
  /** images with at least one caption */
  imageCount: number;
  captionCount: number;
}

/** file names inside the stored set */
export const ARCHIVE_ANNOTATIONS_FILE = 'captions.json';
export const ARCHIVE_IMAGES_DIR = 'images';
/** the captions JSON is parsed in memory: at most this many bytes */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
const LISTED = 5;
/** characters of a library message that ends with a name from the zip (yauzl's, a stream's) */
const NAMED_MESSAGE = 160;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v !== '');
const list = (names: string[]) =>
  `${names
    .slice(0, LISTED)
    .map((n) => quote(n))
    .join(', ')}${names.length > LISTED ? ` and ${names.length - LISTED} more` : ''}`;

/** a file_name from the JSON as a safe relative posix path, or null */
function safeRelative(name: string): string | null {
  if (name.includes('\\') || name.includes('\0') || name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return null;
  const normal = posix.normalize(name);
  return normal === '.' || normal.split('/').includes('..') ? null : normal;
}

interface CaptionsDoc {
  /** file_name by image id, for the images that have captions */
  captioned: Map<string, string>;
  captionCount: number;
}

/** The COCO captions shape: images[{id, file_name}], annotations[{image_id, caption}], at least one caption. */
function checkCaptions(doc: unknown): CaptionsDoc {
  const bad = (why: string) => new ArchiveRejected(`the captions JSON is not in COCO captions format: ${why}`);
  if (!isRecord(doc)) throw bad('its top level must be an object');
  if (!Array.isArray(doc.images)) throw bad('missing "images" array');
  if (!Array.isArray(doc.annotations)) throw bad('missing "annotations" array');
  const files = new Map<string, string>();
  doc.images.forEach((entry: unknown, i) => {
    if (!isRecord(entry) || !isId(entry.id)) throw bad(`images[${i}] needs an id`);
    if (typeof entry.file_name !== 'string' || entry.file_name === '') throw bad(`images[${i}].file_name is missing`);
    const file = safeRelative(entry.file_name);
    if (file === null) throw new ArchiveRejected(`images[${i}].file_name ${quote(entry.file_name)} points outside the archive`);
    if (files.has(String(entry.id))) throw bad(`images[${i}].id appears twice`);
    files.set(String(entry.id), file);
  });
  const captioned = new Map<string, string>();
  doc.annotations.forEach((a: unknown, i) => {
    if (!isRecord(a) || !isId(a.image_id)) throw bad(`annotations[${i}].image_id is missing`);
    if (typeof a.caption !== 'string' || a.caption.trim() === '') throw bad(`annotations[${i}].caption must be a non-empty string`);
    const file = files.get(String(a.image_id));
    if (file === undefined) throw bad(`annotations[${i}].image_id is not the id of any entry of "images"`);
    captioned.set(String(a.image_id), file);
  });
  if (doc.annotations.length === 0) throw bad('no captions');
  return { captioned, captionCount: doc.annotations.length };
}

/** Counts inflated bytes across entries and stops past the bound. */
function counter(state: { inflated: number }, limit: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      state.inflated += chunk.length;
      if (state.inflated > limit) callback(new ArchiveRejected(`the archive unpacks to more than ${limit} bytes`));
      else callback(null, chunk);
    },
  });
}

/**
 * Checks the zip at `zipPath` and writes the set into `outDir` (created): captions.json (the JSON's
 * bytes as uploaded) and images/<file_name> for every image that has a caption. The zip holds exactly
 * one .json file (anywhere; `__MACOSX/` ignored); an image's file_name is looked up beside it, then in
 * an `images/` folder beside it. Other files are ignored (never inflated). Images are read and decoded
 * on `pool`; past `limits.checkSeconds` the archive is refused.
 */
export async function unpackDatasetArchive(
  zipPath: string,
  outDir: string,
  limits: ArchiveLimits,
  pool: ImageCheckPool,
): Promise<UnpackedArchive> {
  const deadline = AbortSignal.timeout(limits.checkSeconds * 1000);
  try {
    return await unpack(zipPath, outDir, limits, pool, deadline);
  } catch (error) {
    // whatever was interrupted (an inflate, a queued or running image check) failed because time ran out
    if (deadline.aborted) {
      throw new ArchiveRejected(
        `checking the archive took longer than ${limits.checkSeconds} s (GLIMPSE_DATASET_CHECK_SECONDS): send fewer or smaller images`,
      );
    }
    throw error;
  }
}

async function unpack(
  zipPath: string,
  outDir: string,
  limits: ArchiveLimits,
  pool: ImageCheckPool,
  deadline: AbortSignal,
): Promise<UnpackedArchive> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true });
  } catch {
    throw new ArchiveRejected('not a zip archive');
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new ArchiveRejected(`the archive has ${zip.entryCount} entries: at most ${limits.maxEntries}`);
    }
    const files = new Map<string, yauzl.Entry>();
    let announced = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        deadline.throwIfAborted();
        const name = entry.fileName;
        if (name.endsWith('/') || name.startsWith('__MACOSX/')) continue;
        if (files.has(name)) throw new ArchiveRejected(`${quote(name)} appears twice in the archive`);
        if (entry.isEncrypted()) throw new ArchiveRejected(`${quote(name)} is encrypted`);
        announced += entry.uncompressedSize;
        if (announced > limits.maxUncompressedBytes) {
          throw new ArchiveRejected(`the archive unpacks to more than ${limits.maxUncompressedBytes} bytes`);
        }
        files.set(name, entry);
      }
    } catch (error) {
      if (error instanceof ArchiveRejected || deadline.aborted) throw error;
      // yauzl's checks of names (strictFileNames) and of the central directory; its messages end with the name
      const message = clip((error as Error).message, NAMED_MESSAGE);
      throw new ArchiveRejected(
        /^(invalid characters in fileName|absolute path|invalid relative path)/.test(message)
          ? `unsafe entry name (zip-slip): ${message}`
          : `not a valid zip archive: ${message}`,
      );
    }
    const json = [...files.keys()].filter((n) => n.toLowerCase().endsWith('.json'));
    if (json.length === 0) throw new ArchiveRejected('no captions JSON (a .json file in COCO captions format) in the archive');
    if (json.length > 1) throw new ArchiveRejected(`more than one .json file in the archive: ${list(json)}`);
    const jsonName = json[0]!;
    const jsonEntry = files.get(jsonName)!;
    if (jsonEntry.uncompressedSize > MAX_JSON_BYTES) throw new ArchiveRejected(`the captions JSON is larger than ${MAX_JSON_BYTES} bytes`);

    const state = { inflated: 0 };
    const inflate = async (entry: yauzl.Entry, target: string) => {
      await mkdir(dirname(target), { recursive: true });
      try {
        await pipeline(
          await zip.openReadStreamPromise(entry),
          counter(state, limits.maxUncompressedBytes),
          createWriteStream(target, { flags: 'wx' }),
          { signal: deadline },
        );
      } catch (error) {
        if (error instanceof ArchiveRejected || deadline.aborted) throw error;
        throw new ArchiveRejected(`${quote(entry.fileName)} cannot be unpacked: ${clip((error as Error).message, NAMED_MESSAGE)}`);
      }
    };
    await mkdir(outDir, { recursive: true });
    const annotations = join(outDir, ARCHIVE_ANNOTATIONS_FILE);
    await inflate(jsonEntry, annotations);
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(annotations, 'utf8'));
    } catch (error) {
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      throw new ArchiveRejected(`${quote(jsonName)} is not valid JSON${position ? ` (at position ${position})` : ''}`);
    }
    const { captioned, captionCount } = checkCaptions(doc);

    const base = posix.dirname(jsonName) === '.' ? '' : posix.dirname(jsonName);
    const wanted = [...new Set(captioned.values())];
    const found = new Map<string, yauzl.Entry>();
    const missing: string[] = [];
    for (const file of wanted) {
      const entry = files.get(posix.join(base, file)) ?? files.get(posix.join(base, ARCHIVE_IMAGES_DIR, file));
      if (entry) found.set(file, entry);
      else missing.push(file);
    }
    if (missing.length > 0) {
      throw new ArchiveRejected(`${missing.length} image(s) captioned in ${quote(jsonName)} are not in the archive: ${list(missing)}`);
    }
    // each image's header as soon as it is unpacked (the first one over budget stops the unpack); decoding
    // starts only once the whole set is known to be within budget
    const refuse = (reason: string) => new ArchiveRejected(reason);
    const tally = new HeaderTally(pool, limits, refuse);
    const counted: CountedImage[] = [];
    for (const [file, entry] of found) {
      const path = join(outDir, ARCHIVE_IMAGES_DIR, ...file.split('/'));
      await inflate(entry, path);
      counted.push(await tally.count({ path, name: entry.fileName }, deadline));
    }
    await decodeAll(pool, counted, limits.maxImagePixels, deadline, refuse);
    return { imageCount: captioned.size, captionCount };
  } finally {
    zip.close();
  }
}
