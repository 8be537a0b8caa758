// `glimpse model export` / `model import` through the real CLI against a real database: a model
// folder (written by src/ml) imported into the artifact store comes back out byte for byte; a folder
// that is not a model, an existing --out folder and an unknown id are refused with a clear error.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../src/storage/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli } from './run-cli.ts';
import { saveTinyModel } from './tiny-model.ts';

let db: TestDatabase;
let tmp: string;
beforeAll(async () => {
  db = await createTestDatabase();
  tmp = await mkdtemp(join(tmpdir(), 'glimpse-model-cli-'));
});
afterAll(async () => {
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

describe('glimpse model import / export', () => {
  it('imports a model folder into the store and exports it back byte for byte', async () => {
    const src = join(tmp, 'trained');
    await saveTinyModel(src);
    const imported = await runCli(['model', 'import', src, '--name', 'tiny'], { DATABASE_URL: db.url });
    expect(imported.stderr).not.toMatch(/error/);
    expect(imported.code).toBe(0);
    const model = await db.prisma.model.findFirstOrThrow({ where: { name: 'tiny' } });
    expect(model).toMatchObject({ path: null, runId: null });
    expect(model.blobId).toMatch(/^[0-9a-f]{64}$/);
    expect(imported.stdout).toContain(model.id);

    const out = join(tmp, 'exported');
    const exported = await runCli(['model', 'export', model.id, '--out', out], { DATABASE_URL: db.url });
    expect(exported.code).toBe(0);
    expect(await listFiles(out)).toEqual(await listFiles(src));
    for (const name of await listFiles(src)) expect(await readFile(join(out, name))).toEqual(await readFile(join(src, name)));

    const again = await runCli(['model', 'export', model.id, '--out', out], { DATABASE_URL: db.url });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('refuses a folder that is not a model, and an unknown id, storing nothing', async () => {
    const junk = join(tmp, 'junk');
    await mkdir(junk);
    await writeFile(join(junk, 'notes.txt'), 'hello');
    const refused = await runCli(['model', 'import', junk], { DATABASE_URL: db.url });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is not a Glimpse model folder/);
    expect(await db.prisma.blob.count()).toBe(1);
    const unknown = await runCli(['model', 'export', '00000000-0000-0000-0000-000000000000', '--out', join(tmp, 'x')], {
      DATABASE_URL: db.url,
    });
    expect(unknown.stderr).toMatch(/no model 00000000/);
    expect(await readdir(tmp)).not.toContain('x');
  });
});
