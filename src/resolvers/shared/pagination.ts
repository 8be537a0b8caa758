// Relay-style cursor pagination over (createdAt DESC, id DESC); cursors are opaque base64url strings.
import { Field, ObjectType } from 'type-graphql';
import { BadUserInputError } from './api-errors.ts';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'pass as `after` to get the next page' })
  endCursor!: string | null;
}

export interface CursorKey {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: CursorKey): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(field: string, cursor: string): CursorKey {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(createdAt));
    if (typeof id === 'string' && !Number.isNaN(date.getTime())) return { createdAt: date, id };
  } catch {
    // fall through to the typed error
  }
  throw new BadUserInputError(field, 'not a cursor returned by this API');
}

/** Prisma `where` for rows strictly after `cursor` in (createdAt DESC, id DESC) order. */
export function afterCursor(cursor: CursorKey) {
  return {
    OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
  };
}

export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
