// A trained model's files for browsers that caption on the device (src/ml/browser):
//   GET /models/<id>/web/<hash>/<file>   model.json, its weight shards and its vocabulary
//   GET /models/<id>/web/<hash>/backbone/<bhash>/<file>   a backbone model's backbone: model.json and its shards
//   GET /models/<id>/web/<hash>/glimpse-web-export.zip   the static export (src/web/static-export.ts) as a zip
// <hash> is the model blob's content hash, <bhash> the backbone blob's (src/storage/model-web.ts), so the answer
// never changes:
// `Cache-Control: private, max-age=31536000, immutable` (private: it may need a key). Readable by whoever may
// read models over GraphQL: with API keys set, a key with the `read` scope (or GLIMPSE_PUBLIC_READ=true), sent
// as "Authorization: Bearer <key>" (the page fetches with that header). What is served is the model's own files:
// no server path, no host name (a backbone model's model.json names its backbone by the relative URL above).
// A wrong id, hash or file name is 404; a model the browser cannot run (saved before its backbone was stored,
// a folder from before model.json) is 404 with the reason.
import type { Express, Request, Response } from 'express';
import type { PrismaClient } from '../db/client.ts';
import { type Caller, hasScope } from '../keys/scopes.ts';
import { errFields, log } from '../log.ts';
import { EXPORT_ZIP, MAX_WEB_MODEL_BYTES, notServedReason, readModelWebFiles, webHash } from '../storage/model-web.ts';
import { webExportFiles, webExportZip } from '../web/static-export.ts';
import { bearerToken, requestIdFrom } from './request-context.ts';

export const MODEL_FILES_PATH = '/models/:id/web/:hash/:file';
export const BACKBONE_FILES_PATH = '/models/:id/web/:hash/backbone/:bhash/:file';

/** models whose files this process keeps in memory, the most recently served first */
const CACHED_MODELS = 4;

const TYPES: Record<string, string> = { '.json': 'application/json', '.bin': 'application/octet-stream' };

export interface ModelFilesOptions {
  prisma: PrismaClient;
  identify: (token: string | null) => Promise<Caller>;
}

export function mountModelFiles(app: Express, { prisma, identify }: ModelFilesOptions): void {
  const cache = new Map<string, Promise<Map<string, Buffer> | null>>();
  const filesOf = (row: { blobId: string; backboneBlobId: string | null }) => {
    const key = `${row.blobId}:${row.backboneBlobId ?? ''}`;
    let files = cache.get(key);
    if (files) cache.delete(key);
    else files = readModelWebFiles(prisma, row, MAX_WEB_MODEL_BYTES);
    cache.set(key, files); // the most recent last
    files.catch(() => cache.delete(key));
    while (cache.size > CACHED_MODELS) cache.delete(cache.keys().next().value!);
    return files;
  };
  const notFound = (res: Response, why = 'not found') => res.status(404).type('text').send(`${why}\n`);

  app.get(
    [MODEL_FILES_PATH, BACKBONE_FILES_PATH],
    async (req: Request<{ id: string; hash: string; bhash?: string; file: string }>, res) => {
      try {
        const caller = await identify(bearerToken(req.headers.authorization));
        if (!hasScope(caller, 'read')) {
          res
            .status(401)
            .set('www-authenticate', 'Bearer')
            .type('text')
            .send('model files need "Authorization: Bearer <key>" (a key with the read scope)\n');
          return;
        }
        const { id, hash, bhash, file } = req.params;
        if (id.length > 64 || !/^[0-9a-f]{16}$/.test(hash) || (bhash !== undefined && !/^[0-9a-f]{16}$/.test(bhash))) return notFound(res);
        const row = await prisma.model.findUnique({ where: { id }, select: { blobId: true, backboneBlobId: true, config: true } });
        if (row === null || row.blobId === null || webHash(row.blobId) !== hash) return notFound(res);
        const reason = notServedReason(row);
        if (reason !== null) return notFound(res, reason);
        const files = await filesOf({ blobId: row.blobId, backboneBlobId: row.backboneBlobId });
        if (files === null)
          return notFound(
            res,
            'this model has no model.json (saved before that format) or no backbone files: not available in the browser',
          );
        if (bhash === undefined && file === EXPORT_ZIP) {
          // the static export (glimpse model export --web), zipped under a folder named after the model
          const folder = `glimpse-${id.slice(0, 8)}`;
          const zip = webExportZip(await webExportFiles(files, `model ${id}`), folder);
          res.set('cache-control', 'private, max-age=31536000, immutable');
          res.type('application/zip').attachment(`${folder}.zip`);
          zip.on('error', (error) => res.destroy(error));
          zip.pipe(res);
          return;
        }
        // a backbone file only under the model's own backbone hash (anything else is no key of `files`)
        const body = files.get(bhash === undefined ? file : `backbone/${bhash}/${file}`);
        if (body === undefined || (bhash === undefined && file.includes('/'))) return notFound(res);
        res.set('cache-control', 'private, max-age=31536000, immutable');
        res.type(TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream').send(body);
      } catch (error) {
        const requestId = requestIdFrom(req.headers['x-request-id']);
        log.child({ role: 'api', requestId }).error(errFields(error), 'internal error serving model files');
        if (!res.headersSent) res.status(500).type('text').send(`Internal server error (request id ${requestId})`);
      }
    },
  );
}
