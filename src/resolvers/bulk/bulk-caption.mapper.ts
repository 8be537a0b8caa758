// BulkCaptionJob rows → GraphQL, and the cursor of the results (their index in the dataset's image order).
import type { BulkCaptionJob as BulkCaptionJobRow } from '../../db/client.ts';
import { BadUserInputError } from '../shared/api-errors.ts';
import { BulkCaptionStatus } from '../shared/enums.ts';
import type { BulkCaptionJob } from './bulk-caption.type.ts';

/** where a job's COCO-style results JSON is served (src/server/bulk-results.ts) */
export const resultsPath = (id: string): string => `/bulk-captions/${encodeURIComponent(id)}/results.json`;

export function toBulkCaptionJob(row: BulkCaptionJobRow): BulkCaptionJob {
  return { ...row, resultsUrl: resultsPath(row.id) };
}

export function isTerminalBulk(status: BulkCaptionStatus): boolean {
  return status === BulkCaptionStatus.SUCCEEDED || status === BulkCaptionStatus.FAILED || status === BulkCaptionStatus.CANCELLED;
}

export const encodeIndexCursor = (index: number): string => Buffer.from(`i${index}`).toString('base64url');

export function decodeIndexCursor(field: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const index = /^i(\d{1,9})$/.exec(text)?.[1];
  if (index === undefined) throw new BadUserInputError(field, 'not a cursor returned by this API');
  return Number(index);
}
