// The `caption` job: pending requests arrive in batches; those for one model with the same decoding
// settings are decoded together by one captionBatch call. Each token is stored (CaptionToken, index
// from 0) and announced as it is decoded; then SUCCEEDED with the caption, or FAILED with the error.
// An unreadable image fails only its own request (ImageError message), never the batch. The writes are
// per batch, not per request (./caption-writes.ts): RUNNING, each step's tokens, the results.
import { CaptionStatus, DecodeMethod, type CaptionRequest, type Model, TRANSACTION_OPTIONS } from '../db/client.ts';
import { markRunning, storeResults, TokenWriter } from './caption-writes.ts';
import { notify } from '../events/index.ts';
import { ImageError, type CaptionResult, type Captioner, type DecodeOptions } from '../ml/index.ts';
import { openModel } from './artifacts.ts';
import type { CaptionerCache } from './captioner-cache.ts';
import { errorMessage, type JobHelpers } from './helpers.ts';
import type { JobData } from '../queue/queue.ts';

export interface CaptionHelpers extends JobHelpers {
  captioners: CaptionerCache;
}

type Pending = CaptionRequest & { model: Model };

export const METHODS = { [DecodeMethod.GREEDY]: 'greedy', [DecodeMethod.BEAM]: 'beam', [DecodeMethod.SAMPLE]: 'sample' } as const;

function decodeOptions(r: CaptionRequest): DecodeOptions {
  return {
    method: METHODS[r.method],
    beamWidth: r.beamWidth,
    temperature: r.temperature,
    ...(r.maxLength !== null ? { maxLength: r.maxLength } : {}),
  };
}

/** requests that decode together: same model and decoding settings */
function groupKey(r: Pending): string {
  return JSON.stringify([r.modelId, decodeOptions(r)]);
}

/**
 * Decodes a batch: resolves once every request's caption is decoded and its tokens are stored, with `stored`, the
 * batch's results being written (SUCCEEDED, or FAILED for the requests that failed). The next batch may decode
 * while `stored` is pending (src/jobs/caption-loop.ts); `stored` rejects only when even recording a failure failed.
 */
export async function decodeCaptions(payloads: JobData['caption'][], helpers: CaptionHelpers): Promise<{ stored: Promise<void> }> {
  const { prisma, workerId } = helpers;
  const ids = [...new Set(payloads.map((p) => p.requestId))];
  // QUEUED, or RUNNING left behind by a worker that died (its stored tokens are kept)
  const pending = await prisma.captionRequest.findMany({
    where: { id: { in: ids }, status: { in: [CaptionStatus.QUEUED, CaptionStatus.RUNNING] } },
    include: { model: true },
    orderBy: { createdAt: 'asc' },
  });
  const groups = new Map<string, Pending[]>();
  for (const r of pending) groups.set(groupKey(r), [...(groups.get(groupKey(r)) ?? []), r]);
  const stores: Promise<void>[] = [];
  for (const group of groups.values()) {
    const model = group[0]!.model;
    let captioner: Captioner;
    try {
      // the model folder from the artifact store (this worker's cache), or its path for a model from before it
      captioner = await helpers.captioners.get(model.id, () => openModel(helpers, model));
    } catch (error) {
      await Promise.all(group.map((r) => fail(r, `model ${model.id} could not be loaded: ${errorMessage(error)}`, helpers)));
      continue;
    }
    // RUNNING is written while the decoder starts (one round trip less between two batches); every later write of
    // these rows (tokens, results, a failure) waits for it, so nothing is overwritten with RUNNING
    const marked = settledLater(
      markRunning(
        prisma,
        group.map((r) => r.id),
        captioner.gridSize,
        workerId,
      ),
    );
    stores.push((await decodeGroup(group, captioner, helpers, marked)).stored);
  }
  return { stored: settledLater(Promise.all(stores).then(() => undefined)) };
}

/** The `caption` job for one batch: decoded, then its results written. */
export async function captionJob(payloads: JobData['caption'][], helpers: CaptionHelpers): Promise<void> {
  await (await decodeCaptions(payloads, helpers)).stored;
}

/** a promise awaited later (after the next batch's decode): its rejection is handled then, not reported as unhandled */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Decodes the group in one batch; if an image is unreadable, each request on its own. Resolves when decoded, with
 * the promise of the results written; a request whose decode or write failed is recorded FAILED with the error.
 */
async function decodeGroup(
  group: Pending[],
  captioner: Captioner,
  helpers: CaptionHelpers,
  marked: Promise<void>,
): Promise<{ stored: Promise<void> }> {
  const failAll = async (error: unknown) => {
    await marked.catch(() => undefined); // after RUNNING, never overwritten by it
    await Promise.all(group.map((r) => fail(r, errorMessage(error), helpers)));
    helpers.runtime?.failed(error);
  };
  try {
    const { stored } = await decodeTogether(group, captioner, helpers, marked);
    return { stored: settledLater(stored.catch(failAll)) };
  } catch (error) {
    if (!(error instanceof ImageError) || group.length === 1) {
      await failAll(error);
      return { stored: Promise.resolve() };
    }
    const stores: Promise<void>[] = [];
    for (const r of group) {
      const failOne = async (e: unknown) => {
        await marked.catch(() => undefined);
        await fail(r, errorMessage(e), helpers);
      };
      try {
        stores.push(settledLater((await decodeTogether([r], captioner, helpers, marked)).stored.catch(failOne)));
      } catch (e) {
        await failOne(e);
      }
    }
    return { stored: settledLater(Promise.all(stores).then(() => undefined)) };
  }
}

/** Decodes the group together; resolves when its tokens are stored, with the promise of its results written. */
async function decodeTogether(
  group: Pending[],
  captioner: Captioner,
  helpers: CaptionHelpers,
  marked: Promise<void>,
): Promise<{ stored: Promise<void> }> {
  const { prisma, config } = helpers;
  const started = performance.now();
  const startedAt = Date.now();
  const images = group.map((r) => (r.imageBytes ? Buffer.from(r.imageBytes) : r.imagePath!));
  // onToken is synchronous: the writer stores and announces tokens in order, a step's worth per statement
  const tokens = new TokenWriter(prisma, marked);
  /** per request, how many of its tokens the decoder announced (in order, from index 0) and the writer stored */
  const streamed = group.map(() => 0);
  let results: CaptionResult[];
  try {
    results = await captioner.captionBatch(images, decodeOptions(group[0]!), (i, event) => {
      streamed[i]! += 1;
      tokens.add(group[i]!.id, [event]);
    });
  } finally {
    await tokens.done();
  }
  const decodeMs = performance.now() - started;
  // tokens the decoder did not announce are stored before the results; those it announced are not sent again
  // (re-sending them, ignored by ON CONFLICT, cost a batch of 64 ~0.1–0.2 s of text formatting and parsing)
  group.forEach((r, i) => tokens.add(r.id, results[i]!.tokens.slice(streamed[i])));
  await tokens.done();
  await marked; // (a batch with no token at all never waited for it)
  helpers.metrics?.batch(group.length);
  const finishedAt = Date.now();
  const stored = settledLater(
    (async () => {
      await storeResults(
        prisma,
        group.map((r, i) => ({
          id: r.id,
          caption: results[i]!.caption,
          timings: { queueMs: startedAt - r.createdAt.getTime(), decodeMs, batchSize: group.length },
        })),
        config.keepCaptionImages,
      );
      group.forEach((r, i) => {
        const caption = results[i]!.caption;
        const queueMs = startedAt - r.createdAt.getTime();
        helpers.metrics?.caption(r.model.name, 'succeeded', { queueMs, decodeMs, latencyMs: finishedAt - r.createdAt.getTime() });
        helpers.log.info(
          `caption ${r.id}: ${caption ? caption.split(' ').length : 0} words in ${(finishedAt - r.createdAt.getTime()).toFixed(0)} ms ` +
            `(queued ${queueMs.toFixed(0)} ms, decode ${decodeMs.toFixed(0)} ms, batch of ${group.length}, model ${r.modelId})`,
        );
      });
    })(),
  );
  return { stored };
}

/**
 * Retention for requests that ended before the worker deleted images (older versions, or with
 * GLIMPSE_KEEP_CAPTION_IMAGES set then): their images go now, unless the variable is set. Returns how many.
 */
export async function purgeEndedCaptionImages({ config, prisma }: Pick<JobHelpers, 'config' | 'prisma'>): Promise<number> {
  if (config.keepCaptionImages) return 0;
  const { count } = await prisma.captionRequest.updateMany({
    where: { status: { in: [CaptionStatus.SUCCEEDED, CaptionStatus.FAILED] }, imageBytes: { not: null } },
    data: { imageBytes: null },
  });
  return count;
}

/** Retention: an ended request's image is deleted with the status change, unless GLIMPSE_KEEP_CAPTION_IMAGES. */
function endedImage({ config }: JobHelpers): { imageBytes?: null } {
  return config.keepCaptionImages ? {} : { imageBytes: null };
}

async function fail(r: Pending, message: string, helpers: JobHelpers): Promise<void> {
  const { prisma, log } = helpers;
  await prisma.$transaction(async (tx) => {
    await tx.captionRequest.update({
      where: { id: r.id },
      data: { status: CaptionStatus.FAILED, ...endedImage(helpers), error: message, finishedAt: new Date() },
    });
    await notify(tx, 'caption_request', r.id);
  }, TRANSACTION_OPTIONS);
  helpers.metrics?.caption(r.model.name, 'failed');
  log.info(`caption ${r.id}: FAILED: ${message}`);
}
