// `glimpse model export` / `model import` through the real CLI against a real database: a model
// folder (written by src/ml) imported into the artifact store comes back out byte for byte; a folder
// that is not a model, an existing --out folder and an unknown id are refused with a clear error. A backbone
// model's backbone (a folder under GLIMPSE_DATASET_ROOTS) is stored with it, one blob for the models on it;
// one outside the roots is refused by the guarded access: the model is imported without it, with a warning.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';
import { exportDir, listFiles } from '../../src/storage/index.ts';
import { saveLayersModel } from '../helpers/tfjs-model.ts';
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

  it("stores a backbone model's backbone once, read through the guarded access, and none from outside the roots", async () => {
    await initBackend('cpu'); // for the backbone below
    const roots = join(tmp, 'roots');
    const network = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 3, kernelSize: 3, padding: 'same', name: 'conv' })],
    });
    const inside = await saveLayersModel(network, join(roots, 'backbone'));
    const outside = await saveLayersModel(network, join(tmp, 'elsewhere'));
    network.dispose();
    const env = { DATABASE_URL: db.url, GLIMPSE_DATASET_ROOTS: roots };
    const ids = [];
    for (const [name, url] of [
      ['bb1', inside],
      ['bb2', inside],
      ['bb3', outside],
    ] as const) {
      const src = join(tmp, name);
      await saveTinyModel(src, { config: { kind: 'pretrained', url, imageSize: 32 }, backboneChannels: 3 });
      const imported = await runCli(['model', 'import', src, '--name', name], env);
      expect(imported.code).toBe(0);
      if (name === 'bb3') expect(imported.stderr).toMatch(/backbone was not stored .*not caption in browsers/);
      else expect(imported.stderr).not.toMatch(/error|not stored/);
      ids.push((await db.prisma.model.findFirstOrThrow({ where: { name } })).backboneBlobId);
    }
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toBeNull();
    // the blob holds the backbone's files byte for byte
    const out = join(tmp, 'backbone-out');
    await exportDir(db.prisma, ids[0]!, out);
    expect(await listFiles(out)).toEqual(['model.json', 'weights.bin']);
    for (const name of ['model.json', 'weights.bin'])
      expect(await readFile(join(out, name))).toEqual(await readFile(join(roots, 'backbone', name)));
  });
});
