// A static file served under a content-hashed name, so browsers may cache it forever; and a folder of
// them with a manifest, as the production build writes them (scripts/build.ts) and the compiled server
// reads them (src/web/prebuilt.ts).
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);

export interface Asset {
  /** file name with the content hash, e.g. "graphiql.3f2a9c1b.js" */
  name: string;
  contentType: string;
  body: Buffer;
  /** the same bytes gzip-compressed */
  gzipped: Buffer;
}

/** `stem.<hash>.ext`: the first 12 hex digits of the body's sha256. */
export async function hashedAsset(stem: string, ext: string, contentType: string, body: Buffer): Promise<Asset> {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { name: `${stem}.${hash}.${ext}`, contentType, body, gzipped: await gzipAsync(body) };
}

/** The bytes of a base64 `data:` URL, with its media type. */
export function decodeDataUrl(url: string): { contentType: string; body: Buffer } {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!match) throw new Error(`not a base64 data: URL (${url.slice(0, 30)}…)`);
  return { contentType: match[1]!, body: Buffer.from(match[2]!, 'base64') };
}

/** `make` run once, on the first call; a failure is not cached, the next call tries again. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

/** manifest.json of an asset folder: each asset's role (e.g. "dashboard") → its file and type */
type Manifest = Record<string, { name: string; contentType: string }>;

const MANIFEST = 'manifest.json';

/** Writes each asset as `<name>` and `<name>.gz`, and the manifest naming them by role. */
export async function saveAssets(dir: string, assets: Record<string, Asset>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest: Manifest = {};
  for (const [role, asset] of Object.entries(assets)) {
    await writeFile(join(dir, asset.name), asset.body);
    await writeFile(join(dir, `${asset.name}.gz`), asset.gzipped);
    manifest[role] = { name: asset.name, contentType: asset.contentType };
  }
  await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * The assets `saveAssets` wrote to `dir`, by role: the manifest is read on the first call, each
 * asset's files on the first call for it (a process that serves only the dashboard never reads
 * GraphiQL's megabytes). An error names the folder and the role when the build did not write them.
 */
export function assetFolder(dir: string): (role: string) => Promise<Asset> {
  const manifest = once(async () => {
    try {
      return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    } catch (error) {
      throw new Error(`no prebuilt browser files in ${dir} (run \`npm run build\`)`, { cause: error });
    }
  });
  const reads = new Map<string, () => Promise<Asset>>();
  return async (role) => {
    const entry = (await manifest())[role];
    if (!entry) throw new Error(`the prebuilt browser files in ${dir} have no "${role}" (run \`npm run build\`)`);
    let read = reads.get(role);
    if (!read) {
      read = once(async () => {
        const [body, gzipped] = await Promise.all([readFile(join(dir, entry.name)), readFile(join(dir, `${entry.name}.gz`))]);
        return { ...entry, body, gzipped };
      });
      reads.set(role, read);
    }
    return read();
  };
}

/**
 * One browser entry bundled by esbuild in memory (ES module, minified): the dashboard's script and the device
 * bundle. esbuild is a dev dependency: imported here only, a path the compiled server never takes.
 */
export async function bundleForBrowser(entry: string): Promise<Buffer> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
  });
  return Buffer.from(result.outputFiles[0]!.contents);
}
