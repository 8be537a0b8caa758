// What an API key may do. Four scopes; `admin` implies the others. Each GraphQL root field needs exactly
// one (the table is src/resolvers/shared/field-scopes.ts); a caller is who presented which key.

export const SCOPES = ['read', 'caption', 'train', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** what each scope allows, for the CLI's help and the docs */
export const SCOPE_DOCS: Readonly<Record<Scope, string>> = {
  read: 'every query and subscription (runs, models, datasets, caption streams, server info)',
  caption: 'requestCaption',
  train: 'datasets, training runs and models: create, start, cancel, resume, rename, delete (others’ objects: admin)',
  admin: 'everything, API keys included, and deleting or cancelling any key’s objects',
};

export class ScopeError extends Error {
  override readonly name = 'ScopeError';
  readonly code = 'INVALID_SCOPE';
}

/** `read,caption` (commas and/or spaces, any case) → sorted distinct scopes; ScopeError for an unknown or empty list */
export function parseScopes(text: string): Scope[] {
  const words = text
    .split(/[\s,]+/)
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (words.length === 0) throw new ScopeError(`give at least one scope: ${SCOPES.join(', ')}`);
  return checkScopes(words);
}

/** the known scopes in `words`, in SCOPES order; ScopeError naming an unknown one (its first 32 characters) */
export function checkScopes(words: readonly string[]): Scope[] {
  const unknown = words.find((w) => !(SCOPES as readonly string[]).includes(w));
  if (unknown !== undefined) throw new ScopeError(`unknown scope "${unknown.slice(0, 32)}": use ${SCOPES.join(', ')}`);
  return SCOPES.filter((s) => words.includes(s));
}

/** Who sent a request, as far as authorization goes. */
export interface Caller {
  /** the key's name (`env:…` for a GLIMPSE_API_KEYS key); null: no valid key presented */
  keyName: string | null;
  /** what this caller may do (before `admin` implies the rest) */
  scopes: ReadonlySet<Scope>;
  /** false: no key configured at all, the service is open and every caller may do everything */
  keysRequired: boolean;
  /**
   * a managed key's own mutation budget per minute (0 = unlimited); null or absent: the server's default
   * (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY for a key, GLIMPSE_MUTATIONS_PER_MINUTE for no key)
   */
  mutationsPerMinute?: number | null;
}

/** True when the caller's scopes include `scope`, or `admin`. */
export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.has('admin') || caller.scopes.has(scope);
}
