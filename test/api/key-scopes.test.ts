// The scope table (src/resolvers/shared/field-scopes.ts) against the schema: a new Query, Mutation or
// Subscription field without a scope fails here. And the key ring's fallback: a revocation whose
// notification never came is honoured once the cache period ends (real Postgres, real event bus).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type EventBus } from '../../src/events/index.ts';
import type { Caller } from '../../src/keys/scopes.ts';
import { createKey } from '../../src/keys/store.ts';
import { createLogger } from '../../src/log.ts';
import { buildApiSchema } from '../../src/resolvers/schema.ts';
import { FIELD_SCOPES, requiredScope } from '../../src/resolvers/shared/field-scopes.ts';
import { scopeRefusal } from '../../src/server/guard.ts';
import { KeyRing } from '../../src/server/keyring.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('the scope table', () => {
  it('names every root field of the schema, and nothing else', async () => {
    const schema = await buildApiSchema();
    const roots = {
      query: schema.getQueryType(),
      mutation: schema.getMutationType(),
      subscription: schema.getSubscriptionType(),
    };
    for (const [type, root] of Object.entries(roots) as [keyof typeof FIELD_SCOPES, (typeof roots)['query']][]) {
      const fields = Object.keys(root!.getFields()).sort();
      expect(fields, `${type} fields without a scope, or stale entries`).toEqual(Object.keys(FIELD_SCOPES[type]).sort());
    }
  });

  it('closes a field it does not know: admin', () => {
    expect(requiredScope('mutation', 'dropEverything')).toBe('admin');
    expect(requiredScope('query', 'constructor')).toBe('admin');
  });

  it('refuses callers without a key as UNAUTHENTICATED, keys without the scope as FORBIDDEN; admin implies all', () => {
    const caller = (keyName: string | null, scopes: string[]): Caller =>
      ({ keyName, scopes: new Set(scopes), keysRequired: true }) as Caller;
    expect(scopeRefusal(caller(null, []), 'query', ['models'])?.extensions.code).toBe('UNAUTHENTICATED');
    expect(scopeRefusal(caller(null, ['read']), 'query', ['models'])).toBeUndefined(); // GLIMPSE_PUBLIC_READ
    expect(scopeRefusal(caller(null, ['read']), 'mutation', ['requestCaption'])?.extensions.code).toBe('UNAUTHENTICATED');
    const forbidden = scopeRefusal(caller('ci', ['read', 'caption']), 'mutation', ['requestCaption', 'deleteModel']);
    expect(forbidden?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'train', field: 'deleteModel' });
    expect(scopeRefusal(caller('ops', ['admin']), 'mutation', ['deleteModel', 'createApiKey'])).toBeUndefined();
    expect(scopeRefusal(caller('ci', ['read']), 'query', [])).toBeUndefined(); // introspection only
  });
});

describe('the key ring without notifications', () => {
  let db: TestDatabase;
  let events: EventBus;
  beforeAll(async () => {
    db = await createTestDatabase();
    events = await createEventBus(db.url);
  });
  afterAll(async () => {
    await events?.close();
    await db?.drop();
  });

  it('refuses a key revoked behind its back once the cache period is over', async () => {
    let clock = 0; // the ring's clock, so that a slow machine cannot outlast the period by accident
    const ring = new KeyRing({
      prisma: db.prisma,
      events,
      envKeys: [],
      publicRead: false,
      cacheMs: 5000,
      log: createLogger({ level: 'silent', pretty: false }),
      now: () => clock,
    });
    try {
      const { secret } = await createKey(db.prisma, { name: 'quiet', scopes: ['read'], createdBy: 'cli:test' });
      await sleep(200); // the creation's NOTIFY empties the cache
      expect((await ring.identify(secret)).keyName).toBe('quiet');
      // revoked with no NOTIFY: a lost notification
      await db.prisma.apiKey.update({ where: { name: 'quiet' }, data: { revokedAt: new Date() } });
      clock = 4999;
      expect((await ring.identify(secret)).keyName).toBe('quiet'); // still cached
      clock = 5000;
      // an anonymous caller: and the service stays closed although no valid key is left
      const after = await ring.identify(secret);
      expect(after).toMatchObject({ keyName: null, keysRequired: true });
      expect([...after.scopes]).toEqual([]);
    } finally {
      await ring.close();
    }
  });

  it('is open while no key is configured, and counts GLIMPSE_API_KEYS keys as admin keys named by a digest', async () => {
    const log = createLogger({ level: 'silent', pretty: false });
    await db.prisma.apiKey.deleteMany();
    const open = new KeyRing({ prisma: db.prisma, events, envKeys: [], publicRead: false, cacheMs: 1000, log });
    const env = new KeyRing({ prisma: db.prisma, events, envKeys: ['legacy-key'], publicRead: true, cacheMs: 1000, log });
    try {
      expect(await open.identify(null)).toMatchObject({ keyName: null, keysRequired: false });
      expect((await open.identify(null)).scopes.has('admin')).toBe(true);
      const legacy = await env.identify('legacy-key');
      expect(legacy.keyName).toMatch(/^env:[0-9a-f]{8}$/);
      expect([...legacy.scopes]).toEqual(['admin']);
      expect([...(await env.identify(null)).scopes]).toEqual(['read']);
      // a token longer than any key is nobody's, whatever it starts with
      expect((await env.identify(`legacy-key${'x'.repeat(2000)}`)).keyName).toBeNull();
    } finally {
      await open.close();
      await env.close();
    }
  });
});
