// Browser pages on the API's HTTP server: the dashboard at GET /, the GraphQL IDE at GET /graphql
// (Accept: text/html) and their hashed static files. Passed to startApi as `mountWeb`, which runs
// before the GraphQL handler.
import type { Express, Request, Response } from 'express';
import type { Asset } from '../web/asset.ts';
import { dashboardPage, dashboardScript } from '../web/dashboard.ts';
import { ideAssets } from '../web/ide/assets.ts';
import { idePage } from '../web/ide/page.ts';
import { GRAPHQL_PATH } from './app.ts';

export const IDE_ASSET_PATH = '/ide/';
export const DASHBOARD_ASSET_PATH = '/assets/';

/** A browser navigating to the endpoint, not a GraphQL GET request (which has ?query= and wants JSON). */
function wantsIde(req: Request): boolean {
  return (
    req.query.query === undefined && req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html'
  );
}

function sendAsset(req: Request, res: Response, asset: Asset | undefined): void {
  if (!asset) {
    res.status(404).type('text').send('not found');
    return;
  }
  res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  res.setHeader('Content-Type', asset.contentType);
  res.vary('Accept-Encoding');
  if (req.acceptsEncodings('gzip') === 'gzip') {
    res.setHeader('Content-Encoding', 'gzip');
    res.send(asset.gzipped);
  } else {
    res.send(asset.body);
  }
}

function sendPage(res: Response, html: string): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.type('html').send(html);
}

export function mountWeb(app: Express): void {
  app.get('/', async (_req, res) => {
    const script = await dashboardScript();
    sendPage(res, dashboardPage(DASHBOARD_ASSET_PATH + script.name, GRAPHQL_PATH));
  });
  app.get(`${DASHBOARD_ASSET_PATH}:name`, async (req, res) => {
    const script = await dashboardScript();
    sendAsset(req, res, req.params.name === script.name ? script : undefined);
  });
  app.get(GRAPHQL_PATH, async (req, res, next) => {
    if (!wantsIde(req)) return next();
    res.vary('Accept');
    sendPage(res, idePage(await ideAssets(), { endpoint: GRAPHQL_PATH, assetBase: IDE_ASSET_PATH, title: 'Glimpse GraphQL IDE' }));
  });
  app.get(`${IDE_ASSET_PATH}:name`, async (req, res) => {
    sendAsset(req, res, (await ideAssets()).byName.get(req.params.name));
  });
}
