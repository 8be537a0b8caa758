// GraphiQL as bundled by @graphql-yoga/render-graphiql (React, GraphiQL, Monaco and graphql-ws in one
// script, plus Monaco's workers), split into hashed files so the browser caches them instead of
// receiving ~9 MB of inline script with every page load. The compiled server serves the files
// `npm run build` split (src/web/prebuilt.ts) and never loads the package; run from the sources they are
// split on first use: API processes that never serve the IDE never parse the bundle.
import { decodeDataUrl, hashedAsset, once, type Asset } from '../asset.ts';
import { COMPILED, prebuiltAsset } from '../prebuilt.ts';

const JS = 'text/javascript; charset=utf-8';

/** Monaco's worker scripts, by the label Monaco asks for */
const WORKER_LABELS = ['editorWorkerService', 'json', 'graphql'] as const;
type WorkerLabel = (typeof WORKER_LABELS)[number];

export interface IdeAssets {
  script: Asset;
  style: Asset;
  favicon: Asset;
  /** Monaco worker scripts by the label Monaco asks for */
  workers: Record<WorkerLabel, Asset>;
  /** every file above, by its hashed name */
  byName: Map<string, Asset>;
}

function assemble(files: Omit<IdeAssets, 'byName'>): IdeAssets {
  const all = [files.script, files.style, files.favicon, ...Object.values(files.workers)];
  return { ...files, byName: new Map(all.map((a) => [a.name, a])) };
}

/** The files split from the package's bundle: for `npm run build`, and per process when run from the sources. */
export async function buildIdeAssets(): Promise<IdeAssets> {
  const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
  const icon = decodeDataUrl(bundle.favicon);
  const [script, style, favicon, editorWorkerService, json, graphql] = await Promise.all([
    hashedAsset('graphiql', 'js', JS, Buffer.from(bundle.js)),
    hashedAsset('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(bundle.css)),
    hashedAsset('favicon', 'ico', icon.contentType, icon.body),
    hashedAsset('editor.worker', 'js', JS, Buffer.from(bundle.editorWorkerService)),
    hashedAsset('json.worker', 'js', JS, Buffer.from(bundle.jsonWorker)),
    hashedAsset('graphql.worker', 'js', JS, Buffer.from(bundle.graphqlWorker)),
  ]);
  return assemble({ script, style, favicon, workers: { editorWorkerService, json, graphql } });
}

/** The IDE's files by the role the build stores each under ("ide.script", "ide.worker.json", …). */
export function ideAssetsByRole(ide: IdeAssets): Record<string, Asset> {
  const workers = WORKER_LABELS.map((label) => [`ide.worker.${label}`, ide.workers[label]] as const);
  return { 'ide.script': ide.script, 'ide.style': ide.style, 'ide.favicon': ide.favicon, ...Object.fromEntries(workers) };
}

async function fromBuild(): Promise<IdeAssets> {
  const [script, style, favicon] = await Promise.all(['ide.script', 'ide.style', 'ide.favicon'].map((role) => prebuiltAsset(role)));
  const workers = await Promise.all(WORKER_LABELS.map(async (label) => [label, await prebuiltAsset(`ide.worker.${label}`)] as const));
  return assemble({
    script: script!,
    style: style!,
    favicon: favicon!,
    workers: Object.fromEntries(workers) as Record<WorkerLabel, Asset>,
  });
}

/** The IDE's files, read from the build or split once per process. */
export const ideAssets = once(() => (COMPILED ? fromBuild() : buildIdeAssets()));
