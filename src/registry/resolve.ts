// A model reference (src/registry/model-ref.ts) looked up at the moment it is used: no cache, so moving an
// alias is seen by the very next lookup on every API process and worker. One indexed statement per form.
import type { PrismaClient, TransactionClient } from '../db/client.ts';
import { parseModelRef, type ModelRef } from './model-ref.ts';

/** the exact model version a reference named */
export interface ResolvedModel {
  id: string;
  name: string;
  version: number;
}

type Db = PrismaClient | TransactionClient;

const SELECTED = { id: true, name: true, version: true } as const;

/** The model `ref` names now, or null when there is none; ModelRefSyntaxError when `ref` is not a reference. */
export async function resolveModelRef(db: Db, ref: string | ModelRef): Promise<ResolvedModel | null> {
  const parsed = typeof ref === 'string' ? parseModelRef(ref) : ref;
  switch (parsed.kind) {
    case 'id':
      return db.model.findUnique({ where: { id: parsed.id }, select: SELECTED });
    case 'version':
      return db.model.findUnique({ where: { name_version: { name: parsed.name, version: parsed.version } }, select: SELECTED });
    case 'alias': {
      const alias = await db.modelAlias.findUnique({
        where: { name_alias: { name: parsed.name, alias: parsed.alias } },
        select: { model: { select: SELECTED } },
      });
      return alias?.model ?? null;
    }
  }
}
