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

export async function captionJob(payloads: JobData['caption'][], helpers: CaptionHelpers): Promise<void> {
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
    await markRunning(
      prisma,
      group.map((r) => r.id),
      captioner.gridSize,
      workerId,
    );
    await decodeGroup(group, captioner, helpers);
  }
}

/** Decodes the group in one batch; if an image is unreadable, each request on its own. */
async function decodeGroup(group: Pending[], captioner: Captioner, helpers: CaptionHelpers): Promise<void> {
  try {
    await decodeTogether(group, captioner, helpers);
  } catch (error) {
    if (!(error instanceof ImageError) || group.length === 1) {
      await Promise.all(group.map((r) => fail(r, errorMessage(error), helpers)));
      helpers.runtime?.failed(error);
      return;
    }
    for (const r of group) {
      await decodeTogether([r], captioner, helpers).catch((e: unknown) => fail(r, errorMessage(e), helpers));
    }
  }
}

async function decodeTogether(group: Pending[], captioner: Captioner, helpers: CaptionHelpers): Promise<void> {
  const { prisma, config } = helpers;
  const started = performance.now();
  const startedAt = Date.now();
  const images = group.map((r) => (r.imageBytes ? Buffer.from(r.imageBytes) : r.imagePath!));
  // onToken is synchronous: the writer stores and announces tokens in order, a step's worth per statement
  const tokens = new TokenWriter(prisma);
  let results: CaptionResult[];
  try {
    results = await captioner.captionBatch(images, decodeOptions(group[0]!), (i, event) => tokens.add(group[i]!.id, [event]));
  } finally {
    await tokens.done();
  }
  const decodeMs = performance.now() - started;
  // tokens not streamed by the decoder (beam search picks its words at the end) are stored before the results
  group.forEach((r, i) => tokens.add(r.id, results[i]!.tokens));
  await tokens.done();
  helpers.metrics?.batch(group.length);
  const finishedAt = Date.now();
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
