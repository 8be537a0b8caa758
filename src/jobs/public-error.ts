// What a job writes into an `error` column (Dataset.error, TrainingRun.error, CaptionRequest.error):
// rows are readable by anyone who may read the API, so the data layer's errors, whose messages name
// server paths and may quote what a file holds, are reduced to a generic reason and their code. Every
// other error keeps its message (the jobs' own, and src/ml's model and backbone errors, are written to
// be shown). The worker log keeps the whole error.
import { DatasetError, ImageError } from '../ml/index.ts';
import { OutsideRootsError } from '../sources/roots.ts';

const DATASET_REASONS: Record<DatasetError['code'], (e: DatasetError) => string> = {
  FILE_NOT_FOUND: () => 'the annotations file cannot be read',
  INVALID_JSON: (e) => `the annotations file is not valid JSON (${e.detail})`,
  INVALID_FORMAT: (e) => `the annotations are not in COCO captions format: ${e.detail}`,
  MISSING_IMAGE: (e) => e.detail,
  EMPTY_DATASET: () => 'the annotations contain no captions',
  INVALID_ARGUMENT: (e) => e.detail,
};

const IMAGE_REASONS: Record<ImageError['code'], string> = {
  FILE_NOT_FOUND: 'an image file is missing',
  EMPTY_IMAGE: 'an image is empty',
  NOT_AN_IMAGE: 'not a JPEG, PNG or WebP image',
  UNSUPPORTED_FORMAT: 'an image format that is not supported (use JPEG, PNG or WebP)',
  CORRUPT_IMAGE: 'an image is corrupt or truncated',
  IMAGE_TOO_LARGE: 'an image has more pixels than the limit',
};

/** The message for an `error` column: no server path, nothing a file contains. */
export function publicErrorMessage(error: unknown): string {
  if (error instanceof OutsideRootsError) return `a path of the dataset is ${error.message}`;
  if (error instanceof DatasetError) return `${DATASET_REASONS[error.code](error)} (${error.code})`;
  if (error instanceof ImageError) return `image: ${IMAGE_REASONS[error.code]} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
