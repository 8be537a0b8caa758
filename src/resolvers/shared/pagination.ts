// Relay-style cursor pagination over (createdAt DESC, id DESC); cursors are opaque base64url strings.
// Every list that can grow (training runs, models, datasets) pages this way: a page is one query for
// its rows and one for the count, whatever its size and however deep the list has been followed.
import { Field, ObjectType } from 'type-graphql';
import { BadUserInputError } from './api-errors.ts';
import { checkRange } from './validate.ts';

/** the largest page a connection serves (`first`) */
export const MAX_PAGE = 100;
/** `first` when the client does not say */
export const DEFAULT_PAGE = 20;
/** the longest `nameContains` a list filter accepts (names are at most 100 characters) */
export const MAX_NAME_FILTER = 100;

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

/** A connection's contents: what TrainingRunConnection, ModelConnection and DatasetConnection hold. */
export interface Connection<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Where a page starts: `after` as a Prisma `where` (nothing for the first page). */
export type PageStart = ReturnType<typeof afterCursor> | Record<string, never>;

/**
 * One page of a newest-first list: `rows(start, take)` reads up to `take` rows after `start` (in
 * NEWEST_FIRST order, with the list's filter), `count()` counts every row the filter matches. The two
 * run side by side; one row more than the page tells whether another page follows.
 * BAD_USER_INPUT for `first` outside 1..MAX_PAGE or an `after` this API did not hand out.
 */
export async function connection<Row extends CursorKey, Node>(
  first: number,
  after: string | null | undefined,
  rows: (start: PageStart, take: number) => Promise<Row[]>,
  count: () => Promise<number>,
  toNode: (row: Row) => Node,
): Promise<Connection<Node>> {
  checkRange('first', first, 1, MAX_PAGE);
  const start = after ? afterCursor(decodeCursor('after', after)) : {};
  const [found, totalCount] = await Promise.all([rows(start, first + 1), count()]);
  const edges = found.slice(0, first).map((row) => ({ cursor: encodeCursor(row), node: toNode(row) }));
  return { edges, pageInfo: { hasNextPage: found.length > first, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
}

/**
 * A case-insensitive name-substring filter (Prisma `where` part); blank or absent: no filter.
 * BAD_USER_INPUT over MAX_NAME_FILTER characters.
 */
export function nameContains(field: string, text: string | null | undefined) {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '') return {};
  if ([...trimmed].length > MAX_NAME_FILTER) throw new BadUserInputError(field, `must be at most ${MAX_NAME_FILTER} characters`);
  // Prisma passes `contains` into ILIKE as is: the text's own \, % and _ are escaped to match themselves
  return { name: { contains: trimmed.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' as const } };
}
