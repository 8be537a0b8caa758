// The writes of ModelAlias and its append-only history ModelAliasEvent: one owner for both tables. Each change
// locks the name's ModelName row first, so changes of the aliases of one name (and registrations under it: the
// trigger model_version of migration 20261207200100_model_registry) happen one at a time and the history's
// "from" is exact.
import type { TransactionClient } from '../db/client.ts';
import { MAX_ALIASES_PER_NAME } from './model-ref.ts';

export type AliasChange =
  | { outcome: 'no-name' }
  | { outcome: 'no-version' }
  | { outcome: 'no-alias' }
  /** the name has MAX_ALIASES_PER_NAME aliases and this one would be new */
  | { outcome: 'too-many' }
  /**
   * `from`: the version it pointed at before (null: new); `to`: now (null: deleted); `modelId`: the model it points
   * at (deleted: pointed at); `updatedAt`, `updatedByKey`: the alias row as it is now (deleted: as it was)
   */
  | {
      outcome: 'changed' | 'unchanged';
      from: number | null;
      to: number | null;
      modelId: string;
      updatedAt: Date;
      updatedByKey: string | null;
    };

async function lockName(tx: TransactionClient, name: string): Promise<boolean> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "ModelName" WHERE "name" = ${name} FOR UPDATE`;
  return rows.length > 0;
}

async function current(tx: TransactionClient, name: string, alias: string) {
  const row = await tx.modelAlias.findUnique({
    where: { name_alias: { name, alias } },
    select: { modelId: true, updatedAt: true, updatedByKey: true, model: { select: { version: true } } },
  });
  return row && { modelId: row.modelId, version: row.model.version, updatedAt: row.updatedAt, updatedByKey: row.updatedByKey };
}

/** Points `name@alias` at `version` of `name` (in the caller's transaction) and records the change. */
export async function setAlias(
  tx: TransactionClient,
  change: { name: string; alias: string; version: number; byKey: string | null },
): Promise<AliasChange> {
  const { name, alias, version, byKey } = change;
  if (!(await lockName(tx, name))) return { outcome: 'no-name' };
  // FOR SHARE: a deleteModel or renameModel of this version waits for the commit, then sees the alias (CONFLICT)
  const [model] = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "Model" WHERE "name" = ${name} AND "version" = ${version} FOR SHARE`;
  if (model === undefined) return { outcome: 'no-version' };
  const before = await current(tx, name, alias);
  if (before === null && (await tx.modelAlias.count({ where: { name } })) >= MAX_ALIASES_PER_NAME) return { outcome: 'too-many' };
  if (before?.modelId === model.id) return { outcome: 'unchanged', from: version, to: version, ...before };
  const updatedAt = new Date();
  await tx.modelAlias.upsert({
    where: { name_alias: { name, alias } },
    create: { name, alias, modelId: model.id, updatedByKey: byKey, updatedAt },
    update: { modelId: model.id, updatedByKey: byKey, updatedAt },
  });
  await tx.modelAliasEvent.create({ data: { name, alias, fromVersion: before?.version ?? null, toVersion: version, byKey } });
  return { outcome: 'changed', from: before?.version ?? null, to: version, modelId: model.id, updatedAt, updatedByKey: byKey };
}

/** Removes `name@alias` (in the caller's transaction) and records it. */
export async function deleteAlias(
  tx: TransactionClient,
  change: { name: string; alias: string; byKey: string | null },
): Promise<AliasChange> {
  const { name, alias, byKey } = change;
  if (!(await lockName(tx, name))) return { outcome: 'no-name' };
  const before = await current(tx, name, alias);
  if (before === null) return { outcome: 'no-alias' };
  await tx.modelAlias.delete({ where: { name_alias: { name, alias } } });
  await tx.modelAliasEvent.create({ data: { name, alias, fromVersion: before.version, toVersion: null, byKey } });
  return { outcome: 'changed', from: before.version, to: null, ...before };
}

/** The aliases that point at model `modelId`, as "name@alias", for a CONFLICT that names them. */
export async function aliasesOf(tx: TransactionClient, modelId: string): Promise<string[]> {
  const rows = await tx.modelAlias.findMany({ where: { modelId }, select: { name: true, alias: true }, orderBy: { alias: 'asc' } });
  return rows.map((r) => `${r.name}@${r.alias}`);
}
