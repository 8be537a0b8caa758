// GET /bulk-captions/:id/results.json: a bulk caption job's results as COCO-style results JSON
// ([{"image_id": 42, "caption": "…"}], the format COCO's caption evaluation reads), streamed page by page from
// the database with backpressure, so 100k results are never held in memory. Same auth as queries: the `read`
// scope (an open server, or GLIMPSE_PUBLIC_READ, lets anyone read). Images that could not be read are left out.
// A job still running serves what is stored so far.
import type { Express, Response } from 'express';
import type { PrismaClient } from '../db/client.ts';
import { hasScope, type Caller } from '../keys/scopes.ts';
import { bearerToken } from './request-context.ts';

/** a job id (BulkCaptionJob.id is a UUID) */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** results read per query */
const PAGE = 1000;

/** COCO's image ids are numbers: a numeric id is written as one, any other as a string */
function imageId(id: string): number | string {
  return /^\d{1,15}$/.test(id) ? Number(id) : id;
}

function write(res: Response, chunk: string): Promise<void> {
  return res.write(chunk) ? Promise.resolve() : new Promise((resolve) => res.once('drain', resolve));
}

export function mountBulkResults(app: Express, prisma: PrismaClient, identify: (token: string | null) => Promise<Caller>): void {
  app.get('/bulk-captions/:id/results.json', async (req, res) => {
    try {
      const caller = await identify(bearerToken(req.headers.authorization));
      if (!hasScope(caller, 'read')) {
        res.status(caller.keyName === null ? 401 : 403).json({ error: 'this download needs an API key with the "read" scope' });
        return;
      }
      const id = req.params.id;
      // job ids are UUIDs: anything else (a NUL byte, which Postgres refuses, included) names no job
      const job = JOB_ID.test(id) ? await prisma.bulkCaptionJob.findUnique({ where: { id }, select: { id: true } }) : null;
      if (job === null) {
        res.status(404).json({ error: 'no such bulk caption job' });
        return;
      }
      res.status(200).type('application/json');
      res.setHeader('content-disposition', `attachment; filename="bulk-captions-${job.id}.json"`);
      let first = true;
      await write(res, '[');
      for (let from = 0; !res.destroyed; ) {
        const rows = await prisma.bulkCaptionResult.findMany({
          where: { jobId: job.id, index: { gte: from }, caption: { not: null } },
          orderBy: { index: 'asc' },
          take: PAGE,
          select: { index: true, imageId: true, caption: true },
        });
        if (rows.length === 0) break;
        const text = rows.map((r) => JSON.stringify({ image_id: imageId(r.imageId), caption: r.caption })).join(',\n');
        await write(res, `${first ? '\n' : ',\n'}${text}`);
        first = false;
        from = rows.at(-1)!.index + 1;
      }
      res.end(first ? ']\n' : '\n]\n');
    } catch (error) {
      if (!res.headersSent) res.status(503).json({ error: 'the results could not be read; try again shortly' });
      else res.destroy(error instanceof Error ? error : undefined);
    }
  });
}
