// Managed API keys in Postgres: create (the secret is returned once and never stored), list, revoke, set a
// key's own mutation budget. The CLI and the API's admin mutations both come here. Creating, revoking or
// re-budgeting a key NOTIFYs `api_key` in the same transaction, so every API process drops its cached keys at
// the commit (src/server/keyring.ts).
import { Prisma, type PrismaClient } from '../db/client.ts';
import { notify } from '../events/index.ts';
import { type Scope, SCOPES } from './scopes.ts';
import { displayPrefix, hashSecret, newSecret } from './secret.ts';

export const MAX_KEY_NAME = 64;
/** the largest budget a key may be given, mutations per minute (0 = unlimited, null = the server default) */
export const MAX_KEY_MUTATIONS_PER_MINUTE = 1_000_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type KeyErrorCode = 'INVALID_NAME' | 'INVALID_BUDGET' | 'NAME_TAKEN' | 'KEY_NOT_FOUND';

export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An ApiKey row as lists show it: never the hash, never the secret. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** mutations per minute; 0 = unlimited; null = GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY */
  mutationsPerMinute: number | null;
}

export const KEY_INFO = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdAt: true,
  createdBy: true,
  revokedAt: true,
  lastUsedAt: true,
  mutationsPerMinute: true,
} as const;

export function toKeyInfo(row: Omit<ApiKeyInfo, 'scopes'> & { scopes: string[] }): ApiKeyInfo {
  // rows are written through checkScopes only; an unknown word (a hand-edited row) grants nothing
  return { ...row, scopes: SCOPES.filter((s) => row.scopes.includes(s)) };
}

/** The trimmed name, or KeyError INVALID_NAME: 1..64 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function checkKeyName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_KEY_NAME || !NAME.test(trimmed)) {
    throw new KeyError(
      'INVALID_NAME',
      `a key name is 1 to ${MAX_KEY_NAME} letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return trimmed;
}

/** The budget itself (null: the server default), or KeyError INVALID_BUDGET: an integer 0..1,000,000. */
export function checkKeyBudget(mutationsPerMinute: number | null | undefined): number | null {
  if (mutationsPerMinute == null) return null;
  if (!Number.isInteger(mutationsPerMinute) || mutationsPerMinute < 0 || mutationsPerMinute > MAX_KEY_MUTATIONS_PER_MINUTE) {
    throw new KeyError(
      'INVALID_BUDGET',
      `a key's mutations per minute is a whole number from 0 (unlimited) to ${MAX_KEY_MUTATIONS_PER_MINUTE.toLocaleString('en')}, or the default`,
    );
  }
  return mutationsPerMinute;
}

export interface CreatedKey {
  key: ApiKeyInfo;
  /** shown once: only its sha256 is stored */
  secret: string;
}

export async function createKey(
  prisma: PrismaClient,
  input: { name: string; scopes: readonly Scope[]; createdBy: string; mutationsPerMinute?: number | null },
): Promise<CreatedKey> {
  const name = checkKeyName(input.name);
  const mutationsPerMinute = checkKeyBudget(input.mutationsPerMinute);
  const secret = newSecret();
  try {
    const row = await prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          name,
          hash: hashSecret(secret),
          prefix: displayPrefix(secret),
          scopes: [...input.scopes],
          createdBy: input.createdBy,
          mutationsPerMinute,
        },
        select: KEY_INFO,
      });
      // the first key closes an open server: every API process learns it at the commit
      await notify(tx, 'api_key');
      return created;
    });
    return { key: toKeyInfo(row), secret };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new KeyError('NAME_TAKEN', `a key named "${name}" exists already (revoked keys keep their names)`);
    }
    throw error;
  }
}

/** Revokes the key (a revoked key stays revoked: its first revocation time is kept); KEY_NOT_FOUND for an unknown name. */
export async function revokeKey(prisma: PrismaClient, name: string): Promise<ApiKeyInfo> {
  const row = await prisma.$transaction(async (tx) => {
    await tx.apiKey.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: new Date() } });
    const found = await tx.apiKey.findUnique({ where: { name }, select: KEY_INFO });
    if (found !== null) await notify(tx, 'api_key');
    return found;
  });
  if (row === null) throw new KeyError('KEY_NOT_FOUND', `no key named "${name.slice(0, 64)}"`);
  return toKeyInfo(row);
}

/**
 * Sets a key's own mutation budget (null: back to the server default); every API process charges the key
 * against it once its cache drops the key (NOTIFY, or the cache period). KEY_NOT_FOUND for an unknown name.
 */
export async function setKeyBudget(prisma: PrismaClient, name: string, mutationsPerMinute: number | null): Promise<ApiKeyInfo> {
  const budget = checkKeyBudget(mutationsPerMinute);
  const row = await prisma.$transaction(async (tx) => {
    const { count } = await tx.apiKey.updateMany({ where: { name }, data: { mutationsPerMinute: budget } });
    if (count === 0) return null;
    await notify(tx, 'api_key');
    return tx.apiKey.findUnique({ where: { name }, select: KEY_INFO });
  });
  if (row === null) throw new KeyError('KEY_NOT_FOUND', `no key named "${name.slice(0, 64)}"`);
  return toKeyInfo(row);
}

export async function listKeys(prisma: PrismaClient): Promise<ApiKeyInfo[]> {
  const rows = await prisma.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: KEY_INFO });
  return rows.map(toKeyInfo);
}
