// createDataset(input: { archive }): the uploaded zip is streamed to a temporary file on the API host (under the
// process's folder in <dataDir>/tmp: src/storage/temp.ts) with the size cap enforced while it arrives (never whole in memory), checked and unpacked
// (src/sources/dataset-archive.ts: images decoded on the process's image check threads, within the decode
// budget and the deadline of GLIMPSE_*_DECODED_*, GLIMPSE_DATASET_CHECK_SECONDS), and the unpacked set put in
// the artifact store as a pending blob.
// The caller commits that blob with the Dataset row; every refusal is BAD_USER_INPUT on
// input.archive and leaves nothing behind (no row, no blob, no temporary files).
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { ArchiveRejected, unpackDatasetArchive, type UnpackedArchive } from '../../sources/dataset-archive.ts';
import { putDir, type PendingBlob } from '../../storage/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError } from '../shared/api-errors.ts';

const FIELD = 'input.archive';
/** an uploaded set may unpack to at most this many times the upload limit */
export const UNPACK_FACTOR = 4;
/** entries a zip may hold */
export const MAX_ARCHIVE_ENTRIES = 100_000;

function tooLarge(maxBytes: number): BadUserInputError {
  return new BadUserInputError(FIELD, `the archive exceeds the limit of ${maxBytes} bytes (GLIMPSE_MAX_DATASET_UPLOAD_BYTES)`);
}

/** Writes the upload to `path`, failing as soon as it passes `maxBytes`. */
async function saveUpload(upload: Promise<FileUpload>, path: string, maxBytes: number): Promise<void> {
  const file = await upload;
  let size = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(size > maxBytes ? tooLarge(maxBytes) : null, chunk);
    },
  });
  try {
    // createReadStream throws at once when graphql-upload already cut the file at its own maxFileSize
    await pipeline(file.createReadStream(), cap, createWriteStream(path));
  } catch (error) {
    // graphql-upload's own maxFileSize guard raises an HTTP 413 error
    if ((error as { status?: number }).status === 413) throw tooLarge(maxBytes);
    throw error;
  }
}

/** The uploaded set, checked and stored as a pending blob (commit it with the Dataset row, or discard it). */
export async function storeUploadedDataset(
  ctx: ApiContext,
  upload: Promise<FileUpload>,
): Promise<UnpackedArchive & { pending: PendingBlob }> {
  const maxBytes = ctx.limits.maxDatasetUploadBytes;
  const temp = await mkdtemp(join(ctx.tempDir(), 'upload-'));
  try {
    const zip = join(temp, 'upload.zip');
    await saveUpload(upload, zip, maxBytes);
    const set = join(temp, 'set');
    let unpacked: UnpackedArchive;
    try {
      const checks = ctx.limits.datasetChecks;
      unpacked = await unpackDatasetArchive(
        zip,
        set,
        {
          maxEntries: MAX_ARCHIVE_ENTRIES,
          maxUncompressedBytes: UNPACK_FACTOR * maxBytes,
          maxImagePixels: ctx.limits.maxImagePixels,
          maxImageDecodedBytes: checks.maxImageDecodedBytes,
          maxDecodedBytes: checks.maxDecodedBytes,
          checkSeconds: checks.seconds,
        },
        ctx.imageChecks,
      );
    } catch (error) {
      if (error instanceof ArchiveRejected) throw new BadUserInputError(FIELD, error.message);
      throw error;
    }
    await rm(zip, { force: true });
    return { ...unpacked, pending: await putDir(ctx.prisma, set) };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
