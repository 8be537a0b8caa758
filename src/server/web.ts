// Browser pages on the API's HTTP server: the dashboard at GET /, the GraphQL IDE at GET /graphql
// (Accept: text/html) and their hashed static files. Passed to startApi as `mountWeb`, which runs
// before the GraphQL handler. The files are the production build's (dist/web/assets) in the
// compiled server, built in memory from the sources otherwise (src/web/prebuilt.ts).
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { errFields, log } from '../log.ts';
import type { Asset } from '../web/asset.ts';
import { dashboardPage, dashboardScript } from '../web/dashboard.ts';
import { deviceAssets, deviceManifest } from '../web/device.ts';
import { ideAssets } from '../web/ide/assets.ts';
import { idePage } from '../web/ide/page.ts';
import { COMPILED, prebuiltAsset } from '../web/prebuilt.ts';
import { GRAPHQL_PATH } from './app.ts';
import { requestIdFrom } from './request-context.ts';

export const IDE_ASSET_PATH = '/ide/';
export const DASHBOARD_ASSET_PATH = '/assets/';
/** the URLs of the on-device captioning bundle and its wasm files (src/web/device.ts), as JSON; built on first use */
export const DEVICE_MANIFEST_PATH = `${DASHBOARD_ASSET_PATH}device-manifest.json`;

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

/**
 * An async handler whose failure (a bundle that does not build, a build without its browser files) is
 * logged with a request id and answered 500 with that id only, as internal GraphQL errors are: no
 * stack trace for the client, no line outside the one logger.
 */
function route<P = Record<string, string>>(
  handler: (req: Request<P>, res: Response, next: NextFunction) => Promise<void>,
): RequestHandler<P> {
  return (req, res, next) => {
    handler(req, res, next).catch((error: unknown) => {
      const requestId = requestIdFrom(req.headers['x-request-id']);
      log.child({ role: 'api', requestId }).error(errFields(error), 'internal error');
      if (!res.headersSent) res.status(500).type('text').send(`Internal server error (request id ${requestId})`);
    });
  };
}

function sendPage(res: Response, html: string): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.type('html').send(html);
}

export function mountWeb(app: Express): void {
  // a build without its browser files: said in the start-up log rather than at the first visit
  if (COMPILED) {
    prebuiltAsset('dashboard').catch((e: unknown) =>
      log.error({ role: 'api', ...errFields(e) }, 'the dashboard and the IDE cannot be served'),
    );
  }
  app.get(
    '/',
    route(async (_req, res) => {
      const script = await dashboardScript();
      sendPage(res, dashboardPage(DASHBOARD_ASSET_PATH + script.name, GRAPHQL_PATH));
    }),
  );
  app.get(
    DEVICE_MANIFEST_PATH,
    route(async (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.json(deviceManifest(await deviceAssets(), DASHBOARD_ASSET_PATH));
    }),
  );
  app.get(
    `${DASHBOARD_ASSET_PATH}:name`,
    route<{ name: string }>(async (req, res) => {
      const script = await dashboardScript();
      if (req.params.name === script.name) return sendAsset(req, res, script);
      // the device bundle only once a page asked for it (the manifest): a dashboard visit never builds it
      if (!/^(device|tfjs-backend-wasm)/.test(req.params.name)) return sendAsset(req, res, undefined);
      sendAsset(
        req,
        res,
        Object.values(await deviceAssets()).find((a) => a.name === req.params.name),
      );
    }),
  );
  app.get(
    GRAPHQL_PATH,
    route(async (req, res, next) => {
      if (!wantsIde(req)) return next();
      res.vary('Accept');
      sendPage(res, idePage(await ideAssets(), { endpoint: GRAPHQL_PATH, assetBase: IDE_ASSET_PATH, title: 'Glimpse GraphQL IDE' }));
    }),
  );
  app.get(
    `${IDE_ASSET_PATH}:name`,
    route<{ name: string }>(async (req, res) => {
      sendAsset(req, res, (await ideAssets()).byName.get(req.params.name));
    }),
  );
}
