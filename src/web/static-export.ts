// A static export of a model: one folder that captions dropped images, with their attention, from any static file
// server, no Glimpse process — index.html (./static-page.ts), the device bundle and TF.js's wasm files
// (./device.ts) and the model's files under model/ (src/storage/model-web.ts reads them from the model's blob).
// Written to a folder by `glimpse model export <id> --web DIR`, or served as a zip (yazl) by the API.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { deviceAssets, deviceManifest } from './device.ts';
import { staticPage } from './static-page.ts';

/** the folder's files by relative path ("index.html", "model/model.json", …) */
export type ExportFiles = Map<string, Buffer>;

/** The export of a model whose files (model.json, shards, vocabulary) are `modelFiles`, named `title`. */
export async function webExportFiles(modelFiles: ReadonlyMap<string, Buffer>, title: string): Promise<ExportFiles> {
  const assets = await deviceAssets();
  const manifest = deviceManifest(assets, './');
  const files: ExportFiles = new Map([['index.html', Buffer.from(staticPage(manifest, title))]]);
  for (const asset of Object.values(assets)) files.set(asset.name, asset.body);
  for (const [name, body] of modelFiles) files.set(`model/${name}`, body);
  return files;
}

/** Writes the files under `dir` (created; it should not exist yet). */
export async function writeWebExport(dir: string, files: ExportFiles): Promise<void> {
  for (const [name, body] of files) {
    const target = join(dir, ...name.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body);
  }
}

/** The same files as a zip stream, under one folder named `folder`. */
export function webExportZip(files: ExportFiles, folder: string): Readable {
  const zip = new yazl.ZipFile();
  // fixed times: the same model gives the same zip
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const [name, body] of files) zip.addBuffer(body, `${folder}/${name}`, { mtime, compress: !name.endsWith('.bin') });
  zip.end();
  return zip.outputStream as Readable;
}
