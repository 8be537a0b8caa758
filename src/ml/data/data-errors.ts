// Typed errors of the data layer. Each carries a machine-readable `code` and the file it is about,
// so callers (CLI, worker) can report "which file, what is wrong" without parsing messages.

export type ImageErrorCode = 'FILE_NOT_FOUND' | 'EMPTY_IMAGE' | 'NOT_AN_IMAGE' | 'CORRUPT_IMAGE' | 'IMAGE_TOO_LARGE' | 'UNSUPPORTED_FORMAT';

/** An error about one file: `<file>: <detail> (<code>)`. */
class FileError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    /** path, name or URL of the file concerned */
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail} (${code})`, options);
  }
}

/** `file`: path or name of the offending image */
export class ImageError extends FileError<ImageErrorCode> {
  override readonly name = 'ImageError';
}

export type DatasetErrorCode =
  | 'FILE_NOT_FOUND'
  | 'INVALID_JSON'
  | 'INVALID_FORMAT'
  | 'MISSING_IMAGE'
  | 'EMPTY_DATASET'
  | 'INVALID_ARGUMENT';

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    readonly code: DatasetErrorCode,
    /** the annotations file or image the problem was found in */
    readonly file: string,
    /**
     * what is wrong, in words that name no path and quote nothing the file contains (a position such
     * as `images[3].id` at most): callers may show it where the file's reader should not be assumed
     */
    readonly detail: string,
    /** `more`: specifics for the message only (e.g. the missing files' names); `cause`: the underlying error */
    options?: { cause?: unknown; more?: string },
  ) {
    super(
      `${file}: ${detail}${options?.more ? `: ${options.more}` : ''} (${code})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

export type DownloadErrorCode = 'HTTP_ERROR' | 'NETWORK_ERROR' | 'SIZE_MISMATCH' | 'CHECKSUM_MISMATCH' | 'EXTRACT_FAILED' | 'ABORTED';

/** `file`: URL or local path the problem concerns */
export class DownloadError extends FileError<DownloadErrorCode> {
  override readonly name = 'DownloadError';
}
