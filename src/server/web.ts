// Browser pages on the API's HTTP server: the GraphQL IDE at GET /graphql (Accept: text/html) and its
// static files under /ide/. Passed to startApi as `mountWeb`, which runs before the GraphQL handler.
import type { Express, Request, Response } from 'express';
import type { Asset } from '../web/asset.ts';
import { ideAssets } from '../web/ide/assets.ts';
import { idePage } from '../web/ide/page.ts';
import { GRAPHQL_PATH } from './app.ts';

export const IDE_ASSET_PATH = '/ide/';

/** A browser navigating to the endpoint, not a GraphQL GET request (which has ?query= and wants JSON). */
function wantsIde(req: Request): boolean {
  return req.query.query === undefined && req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

function sendAsset(req: Request, res: Response, asset: Asset): void {
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

export function mountWeb(app: Express): void {
  app.get(GRAPHQL_PATH, async (req, res, next) => {
    if (!wantsIde(req)) return next();
    const assets = await ideAssets();
    res.setHeader('Cache-Control', 'no-cache');
    res.vary('Accept');
    res.type('html').send(idePage(assets, { endpoint: GRAPHQL_PATH, assetBase: IDE_ASSET_PATH, title: 'Glimpse GraphQL IDE' }));
  });
  app.get(`${IDE_ASSET_PATH}:name`, async (req, res) => {
    const asset = (await ideAssets()).byName.get(req.params.name);
    if (!asset) {
      res.status(404).type('text').send('not found');
      return;
    }
    sendAsset(req, res, asset);
  });
}
