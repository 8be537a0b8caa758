// What the delete mutations of every domain share (training/, models/, datasets/). Each locks its row,
// checks the state in the same transaction, deletes the rows, and only after the commit removes the
// row's folder under the data dir (config.paths). A folder that cannot be removed is logged, not an
// API error: the rows are gone either way.
// Artifacts in the store (checkpoints, models, generated sets: src/storage) are deleted with the rows,
// in the same transaction, when no other row references the same blob; workers' caches drop their
// copies lazily (LRU). Only rows from before the store have folders here to remove.
import { rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ID, Mutation } from 'type-graphql';
import { Prisma, type TransactionClient } from '../../db/client.ts';
import type { Logger } from '../../log.ts';
import { ConflictError, NotFoundError } from './api-errors.ts';

/**
 * A delete mutation: takes the row's id and returns it. Its scope is in ./field-scopes.ts; deleting another
 * key's row needs `admin` (checkOwner in ./auth.ts).
 */
export function DeleteMutation(description: string): MethodDecorator {
  return Mutation(() => ID, { description });
}

/**
 * The row `id` of `table`, locked FOR UPDATE until the transaction ends, so that a concurrent insert
 * that references it (requestCaption, startTraining) waits for the delete; NOT_FOUND when there is none.
 */
export async function lockForDelete<Row extends object>(
  tx: TransactionClient,
  table: 'Model' | 'Dataset',
  id: string,
  columns: readonly (keyof Row & string)[],
): Promise<Row> {
  // identifiers from this file's callers only, never from the client
  const list = Prisma.join(columns.map((column) => Prisma.raw(`"${column}"`)));
  const [row] = await tx.$queryRaw<Row[]>`SELECT ${list} FROM ${Prisma.raw(`"${table}"`)} WHERE "id" = ${id} FOR UPDATE`;
  if (row === undefined) throw new NotFoundError(table, id);
  return row;
}

/** CONFLICT while `count` rows still need the one being deleted; the count goes in the message and in `extensions[key]`. */
export function refuseWhileUsed(count: number, key: string, message: (count: number) => string): void {
  if (count > 0) throw new ConflictError(message(count), { field: 'id', [key]: count });
}

/** True when `target` lies strictly inside `root` (both resolved; the root itself does not count). */
export function isInside(root: string, target: string): boolean {
  const rel = relative(resolve(root), resolve(target));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Removes a row's folder, but only one inside `root`; anything else is refused and logged (on the
 * request's logger). Never throws: called after the commit, when the rows are already gone.
 */
export async function removeDataFolder(root: string, folder: string, log: Logger, what: string): Promise<boolean> {
  if (!isInside(root, folder)) {
    log.warn({ what, folder: resolve(folder), root: resolve(root) }, 'refusing to delete a folder outside its data root');
    return false;
  }
  try {
    await rm(resolve(folder), { recursive: true, force: true });
    return true;
  } catch (error) {
    log.warn({ what, folder: resolve(folder), error: String(error) }, 'could not delete folder');
    return false;
  }
}
