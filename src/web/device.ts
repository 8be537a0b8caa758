// The browser bundle that captions on the user's device: src/ml/browser/index.ts (the model, decoding and
// preprocessing of src/ml, with no Node import) bundled by esbuild as an ES module, and the .wasm files of
// TF.js's wasm backend, each under a content-hashed name. Like the dashboard's script, the compiled server
// reads them from the build (src/web/prebuilt.ts); run from the sources they are built on first use.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, hashedAsset, once, type Asset } from './asset.ts';
import { COMPILED, prebuiltAsset } from './prebuilt.ts';

/** the entry, by path: src/web bundles it but never imports it (the API process loads no ML stack) */
const ENTRY = fileURLToPath(new URL('../ml/browser/index.ts', import.meta.url));

/** the files @tensorflow/tfjs-backend-wasm asks for, by the names it asks with */
export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

const require = createRequire(import.meta.url);

/** The device bundle (role "device") and the wasm files (role "wasm:<name>"), built in memory. */
export async function bundleDevice(): Promise<Record<string, Asset>> {
  const bundled = await bundleForBrowser(ENTRY);
  const assets: Record<string, Asset> = {
    device: await hashedAsset('device', 'js', 'text/javascript; charset=utf-8', bundled),
  };
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of WASM_FILES) {
    const stem = file.replace(/\.wasm$/, '');
    assets[`wasm:${file}`] = await hashedAsset(stem, 'wasm', 'application/wasm', await readFile(join(dist, file)));
  }
  return assets;
}

/** The device bundle and the wasm files by role, read from the build or bundled once per process. */
export const deviceAssets = once(
  async (): Promise<Record<string, Asset>> =>
    COMPILED
      ? Object.fromEntries(
          await Promise.all(
            ['device', ...WASM_FILES.map((f) => `wasm:${f}`)].map(async (role) => [role, await prebuiltAsset(role)] as const),
          ),
        )
      : bundleDevice(),
);

/** What a page needs to load the bundle: its URL and the URL of each wasm file (under `base`, e.g. "/assets/"). */
export interface DeviceManifest {
  script: string;
  wasmFiles: Record<string, string>;
}

export function deviceManifest(assets: Record<string, Asset>, base: string): DeviceManifest {
  return {
    script: base + assets.device!.name,
    wasmFiles: Object.fromEntries(WASM_FILES.map((f) => [f, base + assets[`wasm:${f}`]!.name])),
  };
}
