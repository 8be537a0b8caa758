// The production build's browser files: saveAssets writes what the build bundled, assetFolder (what the
// compiled server reads through src/web/prebuilt.ts) gives back the same bytes, types and gzipped copies,
// reads an asset's files only when that asset is asked for, and names the folder and `npm run build`
// when the build did not write them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { assetFolder, hashedAsset, saveAssets } from '../../src/web/asset.ts';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-assets-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('prebuilt asset folders', () => {
  it('reads back each saved asset by its role, gzipped copy included', async () => {
    const dir = await tempDir();
    const script = await hashedAsset('dashboard', 'js', 'text/javascript; charset=utf-8', Buffer.from('console.log("hi");'.repeat(50)));
    const style = await hashedAsset('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from('body { margin: 0 }'));
    await saveAssets(dir, { dashboard: script, 'ide.style': style });

    const folder = assetFolder(dir);
    const read = await folder('dashboard');
    expect(read.name).toBe(script.name);
    expect(read.contentType).toBe(script.contentType);
    expect(read.body.equals(script.body)).toBe(true);
    expect(gunzipSync(read.gzipped).equals(script.body)).toBe(true);
    expect((await folder('ide.style')).body.toString()).toBe('body { margin: 0 }');
    expect(await folder('dashboard')).toBe(read); // read once per process
  });

  it('reads only the files of the asset asked for', async () => {
    const dir = await tempDir();
    const a = await hashedAsset('a', 'js', 'text/javascript', Buffer.from('a'));
    const b = await hashedAsset('b', 'js', 'text/javascript', Buffer.from('b'));
    await saveAssets(dir, { a, b });
    await rm(join(dir, b.name));
    const folder = assetFolder(dir);
    expect((await folder('a')).body.toString()).toBe('a');
    await expect(folder('b')).rejects.toThrow(/ENOENT/);
  });

  it('names the folder and the build when the files are missing', async () => {
    const dir = await tempDir();
    await expect(assetFolder(join(dir, 'nothing'))('dashboard')).rejects.toThrow(
      /no prebuilt browser files in .*nothing \(run `npm run build`\)/,
    );
    await saveAssets(dir, {});
    await expect(assetFolder(dir)('dashboard')).rejects.toThrow(/have no "dashboard" \(run `npm run build`\)/);
  });
});
