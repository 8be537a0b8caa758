// GraphiQL as bundled by @graphql-yoga/render-graphiql (React, GraphiQL, Monaco and graphql-ws in one
// script, plus Monaco's workers), split into hashed files so the browser caches them instead of
// receiving ~9 MB of inline script with every page load. Loaded on first use: API processes that
// never serve the IDE never parse the bundle.
import { decodeDataUrl, hashedAsset, once, type Asset } from '../asset.ts';

const JS = 'text/javascript; charset=utf-8';

export interface IdeAssets {
  script: Asset;
  style: Asset;
  favicon: Asset;
  /** Monaco worker scripts by the label Monaco asks for */
  workers: Record<'editorWorkerService' | 'json' | 'graphql', Asset>;
  /** every file above, by its hashed name */
  byName: Map<string, Asset>;
}

async function build(): Promise<IdeAssets> {
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
  const workers = { editorWorkerService, json, graphql };
  const all = [script, style, favicon, editorWorkerService, json, graphql];
  return { script, style, favicon, workers, byName: new Map(all.map((a) => [a.name, a])) };
}

/** The IDE's files, built once per process. */
export const ideAssets = once(build);
