// `glimpse keys` through the real CLI against a real database: the secret printed once (alone on stdout)
// and stored as its sha256, typed errors for bad scopes and unknown names, list without secrets, revoke; a
// key's own mutation budget (--mutations-per-minute, `keys budget NAME N|default`, the list's column).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli } from './run-cli.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('glimpse keys', () => {
  it('creates, lists and revokes keys; the secret is printed once and only its hash is stored', async () => {
    const env = { DATABASE_URL: db.url };
    const created = await runCli(['keys', 'create', '--name', 'ci', '--scopes', 'read,caption', '--mutations-per-minute', '30'], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^glk_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('created API key "ci" (read, caption; mutations: 30/min)');
    const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'ci' } });
    expect(row).toMatchObject({
      hash: createHash('sha256').update(secret).digest('hex'),
      prefix: secret.slice(0, 12),
      scopes: ['read', 'caption'],
      mutationsPerMinute: 30,
    });
    expect(row.createdBy).toMatch(/^cli/);

    const bad = await runCli(['keys', 'create', '--name', 'x', '--scopes', 'read,root'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error [INVALID_SCOPE]: unknown scope "root"');

    const budget = await runCli(['keys', 'budget', 'ci', 'default'], env);
    expect(budget.code, budget.stderr).toBe(0);
    expect(budget.stdout).toContain('API key "ci": mutations default');
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'ci' } })).mutationsPerMinute).toBeNull();
    const tooMany = await runCli(['keys', 'budget', 'ci', '1000001'], env);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain('error [INVALID_BUDGET]');
    const table = await runCli(['keys', 'list'], env);
    expect(table.stdout).toMatch(/mutations[\s\S]*\bci\b.*\bdefault\b/);

    const revoked = await runCli(['keys', 'revoke', 'ci'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('revoked API key "ci"');
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'ci' } })).revokedAt).toBeInstanceOf(Date);

    const listed = await runCli(['keys', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        name: 'ci',
        prefix: secret.slice(0, 12),
        scopes: ['read', 'caption'],
        mutationsPerMinute: null,
        revokedAt: expect.any(String),
      }),
    ]);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(row.hash);

    const unknown = await runCli(['keys', 'revoke', 'nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error [KEY_NOT_FOUND]: no key named "nobody"');
  });
});
