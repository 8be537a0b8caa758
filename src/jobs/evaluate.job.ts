// The `evaluation` job: claims the Evaluation (QUEUED → RUNNING, progress from zero), captions the split
// of the dataset with the model (loaded through the worker's captioner cache from the artifact store; the
// dataset's files as training reads them), storing done/total after each batch with a wake-up, then the
// scores (src/ml/evaluation-report.ts: the same as `glimpse eval`). Ends SUCCEEDED, FAILED with the error,
// CANCELLED on request (checked after each batch), or QUEUED again when the worker drains; a worker that
// dies leaves it to the reaper, which queues it again: an evaluation restarts from zero, never resumes.
// Every status write is src/runs/evaluation-state.ts's, guarded by this worker's lease.
import { DecodeMethod, type Prisma } from '../db/client.ts';
import {
  EVAL_BATCH_SIZE,
  imagesDigest,
  loadCocoCaptions,
  scoreEvaluation,
  splitImages,
  vocabularyCoverage,
  type DecodeOptions,
} from '../ml/index.ts';
import { beatEvaluation, claimEvaluation, endEvaluation, type EvaluationLease } from '../runs/index.ts';
import { openDataset, openModel } from './artifacts.ts';
import type { CaptionerCache } from './captioner-cache.ts';
import { splitSettings, SPLITS } from './evaluate-split.ts';
import { errorMessage, type JobHelpers } from './helpers.ts';
import type { JobData, JobQueue } from '../queue/queue.ts';

export interface EvaluateHelpers extends JobHelpers {
  queue: Pick<JobQueue, 'enqueueTraining' | 'enqueueEvaluation'>;
  captioners: CaptionerCache;
}

/** below this share of the references' words known to the model, its captions cannot be scored meaningfully */
export const MIN_VOCABULARY_COVERAGE = 0.5;

/** the worst captions kept as examples */
const WORST_EXAMPLES = 5;

class EvaluationError extends Error {
  constructor(
    readonly code: 'VOCABULARY_INCOMPATIBLE' | 'EMPTY_SPLIT' | 'GONE',
    message: string,
  ) {
    super(`${message} (${code})`);
    this.name = 'EvaluationError';
  }
}

type StopReason = 'cancel' | 'shutdown' | 'lease-lost';

export async function evaluateJob({ evaluationId }: JobData['evaluation'], helpers: EvaluateHelpers): Promise<void> {
  const { prisma, workerId, log, config } = helpers;
  const lease: EvaluationLease = { evaluationId, workerId };
  const evaluation = await claimEvaluation(prisma, lease);
  if (!evaluation) {
    log.info(`evaluation ${evaluationId}: not QUEUED, skipped`);
    return;
  }
  let reason: StopReason | null = null;
  const stop = (why: StopReason) => (reason ??= why);
  const onShutdown = () => stop('shutdown');
  helpers.shutdown.addEventListener('abort', onShutdown);
  if (helpers.shutdown.aborted) stop('shutdown');
  /** renews the lease (with progress fields, announced); notes a cancel or a lost lease */
  const beat = async (progress?: Prisma.EvaluationUpdateManyMutationInput) => {
    const state = await beatEvaluation(prisma, lease, progress);
    if (!state.owned) stop('lease-lost');
    else if (state.cancelRequested) stop('cancel');
  };
  const timer = setInterval(
    () => void beat().catch((e: unknown) => log.error(`evaluation ${evaluationId}: heartbeat`, e)),
    config.heartbeatSeconds * 1000,
  );
  const opened: { release(): void }[] = [];
  const started = performance.now();
  try {
    const [model, dataset] = await Promise.all([
      prisma.model.findUnique({ where: { id: evaluation.modelId } }),
      prisma.dataset.findUnique({ where: { id: evaluation.datasetId } }),
    ]);
    if (!model || !dataset) throw new EvaluationError('GONE', 'its model or dataset was deleted');
    const modelFolder = await openModel(helpers, model);
    const split = await splitSettings(prisma, evaluation, modelFolder.dir).finally(() => modelFolder.release());
    const files = await openDataset(helpers, dataset);
    opened.push(files);
    const all = await loadCocoCaptions({
      annotationsPath: files.annotationsPath,
      imagesDir: files.imagesDir,
      ...(dataset.maxCaptions ? { maxCaptions: dataset.maxCaptions } : {}),
    });
    const images = splitImages(all, SPLITS[evaluation.split], split, evaluation.maxImages);
    if (images.length === 0)
      throw new EvaluationError('EMPTY_SPLIT', `the ${evaluation.split} split of dataset ${dataset.id} has no images`);
    const captioner = await helpers.captioners.get(model.id, () => openModel(helpers, model));
    const coverage = vocabularyCoverage(captioner.vocab, images);
    if (coverage < MIN_VOCABULARY_COVERAGE) {
      throw new EvaluationError(
        'VOCABULARY_INCOMPATIBLE',
        `the model's vocabulary knows ${(coverage * 100).toFixed(0)} % of the words of the dataset's captions (at least ${MIN_VOCABULARY_COVERAGE * 100} % needed)`,
      );
    }
    await beat({
      total: images.length,
      splitSeed: split.seed,
      splitValFraction: split.valFraction,
      splitDigest: imagesDigest(images, files.imagesDir),
    });
    const decode: DecodeOptions =
      evaluation.method === DecodeMethod.BEAM ? { method: 'beam', beamWidth: evaluation.beamWidth } : { method: 'greedy' };
    const loadMs = performance.now() - started;
    helpers.runtime?.beforeWork();
    const captions: string[] = [];
    for (let start = 0; start < images.length && reason === null; start += EVAL_BATCH_SIZE) {
      const chunk = images.slice(start, start + EVAL_BATCH_SIZE);
      const results = await captioner.captionBatch(
        chunk.map((img) => img.file),
        decode,
      );
      captions.push(...results.map((r) => r.caption));
      await beat({ done: captions.length });
    }
    if (reason !== null) throw new Error(`stopped: ${reason}`);
    const decodeMs = performance.now() - started - loadMs;
    const scores = scoreEvaluation(captions, images, files.imagesDir, WORST_EXAMPLES);
    const ended = await endEvaluation(prisma, helpers.queue, lease, {
      kind: 'succeeded',
      fields: {
        bleu1: scores.bleu1,
        bleu2: scores.bleu2,
        bleu3: scores.bleu3,
        bleu4: scores.bleu4,
        ciderD: scores.ciderD,
        objectF1: scores.objects?.f1 ?? null,
        exactRate: scores.objects?.exactRate ?? null,
        examples: scores.worst as unknown as Prisma.InputJsonArray,
        timings: { loadMs, decodeMs, imagesPerSecond: images.length / (decodeMs / 1000) },
      },
    });
    log.info(
      `evaluation ${evaluationId}: ${ended ? 'SUCCEEDED' : 'no longer ours'}, ${images.length} images, BLEU-4 ${scores.bleu4.toFixed(4)}`,
    );
  } catch (error) {
    const stopped = reason as StopReason | null;
    if (stopped === 'lease-lost') log.info(`evaluation ${evaluationId}: taken back or gone, stopped`);
    else if (stopped === 'cancel') await endEvaluation(prisma, helpers.queue, lease, { kind: 'cancelled' });
    else if (stopped === 'shutdown') await endEvaluation(prisma, helpers.queue, lease, { kind: 'handBack' });
    else {
      log.error(`evaluation ${evaluationId}: FAILED`, error);
      helpers.runtime?.failed(error);
      await endEvaluation(prisma, helpers.queue, lease, { kind: 'failed', error: errorMessage(error) });
    }
  } finally {
    for (const folder of opened) folder.release();
    clearInterval(timer);
    helpers.shutdown.removeEventListener('abort', onShutdown);
  }
}
