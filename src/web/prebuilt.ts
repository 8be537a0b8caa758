// Where the browser files come from. The production build (`npm run build`, run with plain node) has
// bundled the dashboard and split GraphiQL into hashed files ahead of time (scripts/build.ts writes them
// to dist/web/assets/ with a manifest): the compiled server only reads them, and never loads esbuild (a
// dev dependency) nor the GraphiQL package. Run from the TypeScript sources (`npm start` under tsx, the
// tests) the same files are built in memory at the first request instead, so an edit under src/web
// shows on the next start with no build step.
import { fileURLToPath } from 'node:url';
import { assetFolder } from './asset.ts';

/** true when this module is the compiled JavaScript of dist/, false under tsx or vitest */
export const COMPILED = import.meta.url.endsWith('.js');

/** dist/web/assets/ when compiled: the folder beside this module that `npm run build` fills */
export const PREBUILT_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

/** one of the build's files by its role ("dashboard", "ide.script", …), read on first use */
export const prebuiltAsset = assetFolder(PREBUILT_DIR);
