// Who a bearer token belongs to, for every request of this API process: a GLIMPSE_API_KEYS key (an admin
// key named `env:<first 8 hex digits of its sha256>`), a managed key (src/keys: looked up by the sha256 of
// the token; it carries its scopes and its own mutation budget), or nobody. Lookups are cached for GLIMPSE_API_KEY_CACHE_SECONDS, unknown tokens included (so
// a flood of made-up keys costs one query per token and period, in a bounded map); a key created, revoked or
// re-budgeted on any process NOTIFYs `api_key` and every process drops its cache at once, the period being the fallback
// when a notification is lost (the event bus also wakes its subscribers after a reconnect). A key's
// lastUsedAt is written at most once per LAST_USED_EVERY_MS per process, never awaited by the request.
// Tokens are never logged or kept: only their digests.
import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_BEARER_TOKEN } from '../config/index.ts';
import type { PrismaClient } from '../db/client.ts';
import type { EventBus } from '../events/index.ts';
import { type Caller, type Scope, SCOPES } from '../keys/scopes.ts';
import { hashSecret } from '../keys/secret.ts';
import type { Logger } from '../log.ts';

export interface KeyRingOptions {
  prisma: PrismaClient;
  events: EventBus;
  /** GLIMPSE_API_KEYS: admin keys from the environment */
  envKeys: readonly string[];
  /** GLIMPSE_PUBLIC_READ: callers without a key may read (when keys are required) */
  publicRead: boolean;
  /** GLIMPSE_API_KEY_CACHE_SECONDS, in milliseconds */
  cacheMs: number;
  log: Logger;
  now?: () => number;
}

/** lastUsedAt is written at most this often per key and API process */
export const LAST_USED_EVERY_MS = 60_000;
/** cached lookups, valid and unknown tokens together; the map starts afresh past this */
const MAX_CACHED = 10_000;

interface KnownKey {
  id: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  mutationsPerMinute: number | null;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export class KeyRing {
  private readonly cache = new Map<string, { key: KnownKey | null; at: number }>();
  private required: { value: boolean; at: number } | undefined;
  /** bumped by forget(): a lookup that started before it is not cached */
  private generation = 0;
  private readonly lastUsed = new Map<string, number>();
  private readonly writes = new Set<Promise<void>>();
  private readonly wakeUps: AsyncIterableIterator<void>;
  private readonly envDigests: Buffer[];
  private readonly envNames: string[];
  private readonly now: () => number;
  private readonly open: Caller = { keyName: null, scopes: new Set(SCOPES), keysRequired: false };
  private readonly anonymous: Caller;
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly options: KeyRingOptions) {
    this.now = options.now ?? Date.now;
    this.envDigests = options.envKeys.map(digest);
    this.envNames = this.envDigests.map((d) => `env:${d.toString('hex').slice(0, 8)}`);
    this.anonymous = { keyName: null, scopes: new Set(options.publicRead ? ['read'] : []), keysRequired: true };
    const wakeUps = options.events.subscribe('api_key');
    this.wakeUps = wakeUps;
    void (async () => {
      for await (const _ of wakeUps) {
        this.forget();
        for (const listener of this.changeListeners) listener();
      }
    })();
  }

  /** calls `listener` after each change of keys announced by any process (created, revoked, re-budgeted); returns an unsubscribe */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** drops every cached lookup (a key was created, revoked or re-budgeted somewhere) */
  forget(): void {
    this.generation++;
    this.cache.clear();
    this.required = undefined;
  }

  /** The caller a bearer token (or none) stands for. Throws when the database cannot be asked. */
  async identify(token: string | null): Promise<Caller> {
    if (!(await this.keysRequired())) return this.open;
    // no key is longer: a 16 MB token from graphql-ws connectionParams is not hashed, it is nobody's
    if (token === null || token.length > MAX_BEARER_TOKEN) return this.anonymous;
    const env = this.envKey(token);
    if (env !== undefined) return { keyName: env, scopes: new Set(['admin']), keysRequired: true };
    const key = await this.managedKey(hashSecret(token));
    if (key === null) return this.anonymous;
    this.touch(key);
    return { keyName: key.name, scopes: key.scopes, keysRequired: true, mutationsPerMinute: key.mutationsPerMinute };
  }

  /**
   * True for a GLIMPSE_API_KEYS key or a managed key found valid within the cache period; never asks the
   * database (it answers while the database is down, for the outage's detail: src/server/health.ts).
   */
  async holdsKey(token: string | null): Promise<boolean> {
    if (token === null || token.length > MAX_BEARER_TOKEN) return false;
    if (this.envKey(token) !== undefined) return true;
    const cached = this.cache.get(hashSecret(token));
    return cached !== undefined && cached.key !== null && this.fresh(cached.at);
  }

  /** True for a valid key, and for every caller when no key is configured (who may scrape /metrics). */
  async admits(token: string | null): Promise<boolean> {
    const caller = await this.identify(token);
    return !caller.keysRequired || caller.keyName !== null;
  }

  async close(): Promise<void> {
    await this.wakeUps.return?.();
    await Promise.all([...this.writes]);
  }

  /** Constant time over the configured keys (digests have equal length). */
  private envKey(token: string): string | undefined {
    const candidate = digest(token);
    let found: string | undefined;
    for (const [i, d] of this.envDigests.entries()) if (timingSafeEqual(d, candidate)) found = this.envNames[i];
    return found;
  }

  private fresh(at: number): boolean {
    return this.now() - at < this.options.cacheMs;
  }

  /**
   * keys are required when GLIMPSE_API_KEYS is set or a managed key exists, revoked ones included: revoking
   * the last key must not open the service to everyone
   */
  private async keysRequired(): Promise<boolean> {
    if (this.envDigests.length > 0) return true;
    if (this.required && this.fresh(this.required.at)) return this.required.value;
    const generation = this.generation;
    const at = this.now();
    const value = (await this.options.prisma.apiKey.findFirst({ select: { id: true } })) !== null;
    if (generation === this.generation) this.required = { value, at };
    return value;
  }

  private async managedKey(hash: string): Promise<KnownKey | null> {
    const cached = this.cache.get(hash);
    if (cached && this.fresh(cached.at)) return cached.key;
    const generation = this.generation;
    const at = this.now();
    const row = await this.options.prisma.apiKey.findUnique({
      where: { hash },
      select: { id: true, name: true, scopes: true, revokedAt: true, mutationsPerMinute: true },
    });
    const key =
      row === null || row.revokedAt !== null
        ? null
        : {
            id: row.id,
            name: row.name,
            scopes: new Set(SCOPES.filter((s) => row.scopes.includes(s))),
            mutationsPerMinute: row.mutationsPerMinute,
          };
    if (generation === this.generation) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(hash, { key, at });
    }
    return key;
  }

  private touch(key: KnownKey): void {
    const now = this.now();
    if (now - (this.lastUsed.get(key.id) ?? Number.NEGATIVE_INFINITY) < LAST_USED_EVERY_MS) return;
    this.lastUsed.set(key.id, now);
    const write = this.options.prisma.apiKey
      .updateMany({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } })
      .then(
        () => undefined,
        (error: unknown) => this.options.log.warn({ key: key.name, error: String(error) }, 'could not record a key’s last use'),
      )
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }
}
