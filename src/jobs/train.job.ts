// The `training` job: claims the run, trains it with src/ml while writing one LossPoint per batch
// (and its wake-up) in one transaction, EpochSummary and Checkpoint rows, and ends it:
// SUCCEEDED with a Model, FAILED with the error, CANCELLED on request, or QUEUED again (handed
// back) when the worker shuts down. A resumed run continues from its latest Checkpoint row; the
// steps it recomputes are already stored and are kept (ON CONFLICT DO NOTHING). Every write on the
// run goes through src/runs (the lease, progress rows, its end).
// Its lease is adaptive: each beat states 3 times the longest step so far (at least 3 beats, and
// 60 s until the first step, which warms the kernels up, has completed), so a step that holds the
// event loop longer than 3 heartbeat periods does not get a live run taken back by the reaper.
import { join } from 'node:path';
import type { TransactionClient } from '../db/client.ts';
import { notify } from '../events/index.ts';
import {
  DivergenceWatch,
  loadCocoCaptions,
  portableConfig,
  saveModel,
  trainingDataRecord,
  writeTrainingData,
  stepsPerEpoch,
  train,
  type CheckpointEvent,
} from '../ml/index.ts';
import { BackboneFiles, uploadBackbone } from '../storage/backbone-blob.ts';
import { defaultModelName, modelStored, openDataset, recordModel, uploadModel } from './artifacts.ts';
import {
  bestEpochStep,
  openCheckpoint,
  openLatestCheckpoint,
  recordCheckpoint,
  storeCheckpoint,
  uploadCheckpoint,
  type UploadedCheckpoint,
} from './checkpoints.ts';
import { JobError, type JobHelpers } from './helpers.ts';
import { progressLog } from './progress-log.ts';
import type { JobData } from '../queue/queue.ts';
import { backboneAccess } from '../sources/backbone-access.ts';
import { claimRun, heartbeat, recordEpochSummary, recordStep, setTotalSteps, succeedRun, writeLeased } from '../runs/index.ts';
import { collectGarbageSoon } from './release-memory.ts';
import { trainingLeaseSeconds } from './run-lease.ts';
import { mlSettings, parseRunConfig } from './train-config.ts';
import { openParentModel } from './warm-start.ts';
import { checkMemoryBudget, finishAborted, StepClock, type StopReason } from './train-run.ts';

export async function trainJob({ runId }: JobData['training'], helpers: JobHelpers): Promise<void> {
  const { prisma, workerId, config, log } = helpers;
  const steps = new StepClock();
  const lease = () => trainingLeaseSeconds(config.heartbeatSeconds, steps.longestSeconds);
  if (!(await claimRun(prisma, runId, workerId, lease()))) {
    log.info(`training ${runId}: not QUEUED, skipped`);
    return;
  }

  const stop = new AbortController();
  let reason: StopReason | null = null;
  const abort = (why: StopReason) => {
    reason ??= why;
    stop.abort();
  };
  const onShutdown = () => abort('shutdown');
  helpers.shutdown.addEventListener('abort', onShutdown);
  if (helpers.shutdown.aborted) abort('shutdown');
  const beat = setInterval(() => {
    heartbeat(prisma, runId, workerId, lease()).then(
      (state) => {
        if (!state.owned) abort('lease-lost');
        else if (state.cancelRequested) abort('cancel');
      },
      (error: unknown) => log.error(`training ${runId}: heartbeat`, error),
    );
  }, config.heartbeatSeconds * 1000);

  /** a write guarded by the lease: rolled back and training stopped when the run is no longer ours */
  const leased = async (write: (tx: TransactionClient) => Promise<unknown>) => {
    const { cancelRequested } = await writeLeased(prisma, { runId, workerId, seconds: lease() }, write);
    if (cancelRequested) abort('cancel');
  };

  /** why the loss diverged, once it has */
  let divergedWhy: string | null = null;
  /** the dataset's and the resumed checkpoint's folders on this worker (artifact cache), released at the end */
  const opened: { release(): void }[] = [];
  try {
    await notify(prisma, 'training_run', runId);
    const run = await prisma.trainingRun.findUniqueOrThrow({ where: { id: runId }, include: { dataset: true } });
    const { dataset } = run;
    if (dataset.status !== 'READY') {
      throw new JobError('DATASET_NOT_READY', `dataset ${dataset.id} is ${dataset.status}`);
    }
    const files = await openDataset(helpers, dataset);
    opened.push(files);
    const runSettings = parseRunConfig(run.config);
    const settings = mlSettings(runSettings, { featureCacheDir: join(config.paths.datasets, dataset.id, 'features') });
    const images = await loadCocoCaptions({
      annotationsPath: files.annotationsPath,
      imagesDir: files.imagesDir,
      ...(dataset.maxCaptions ? { maxCaptions: dataset.maxCaptions } : {}),
    });
    checkMemoryBudget(runSettings, images, config.workerMaxMemory);
    const resume = await openLatestCheckpoint(helpers, runId);
    if (resume) opened.push(resume.folder);
    const latest = resume?.checkpoint ?? null;
    // warm start (initFrom): the parent model's weights, unless a checkpoint already holds the run's own
    const parent = latest ? null : await openParentModel(helpers, run);
    if (parent) opened.push(parent);
    // the predecessor's best epoch, on this worker: the model may end with its weights
    const bestStep = latest ? await bestEpochStep(prisma, runId) : null;
    const bestRow = bestStep === null ? null : await prisma.checkpoint.findUnique({ where: { runId_step: { runId, step: bestStep } } });
    const bestFolder = bestRow ? await openCheckpoint(helpers, bestRow).catch(() => null) : null;
    if (bestFolder) opened.push(bestFolder);
    const first = latest ? await prisma.lossPoint.findUnique({ where: { runId_step: { runId, step: 1 } } }) : null;
    const divergence = new DivergenceWatch(first?.loss ?? null);
    const perEpoch = stepsPerEpoch(images, runSettings);
    const progress = progressLog(log, runId, runSettings.epochs, runSettings.epochs * perEpoch);
    await leased((tx) => setTotalSteps(tx, runId, runSettings.epochs * perEpoch));
    // An epoch-end checkpoint is recorded with its EpochSummary, in one transaction: a resume never
    // starts after an epoch whose summary was not stored (it would not be emitted again).
    const backboneFiles = new BackboneFiles();
    let epochEnd: UploadedCheckpoint | null = null;
    let firstStepLogged = false;
    log.info(`training ${runId}: ${images.length} images${latest ? `, resuming from step ${latest.step}` : ''}`);

    helpers.runtime?.beforeWork();
    steps.start();
    let epochStarted = performance.now();
    const result = await train({
      images,
      checkpointDir: join(config.paths.checkpoints, runId),
      model: settings.model,
      train: settings.train,
      ...(resume ? { resumeFrom: resume.folder.dir } : {}),
      ...(parent ? { initFrom: parent.dir } : {}),
      ...(bestFolder ? { bestCheckpointDir: bestFolder.dir } : {}),
      signal: stop.signal,
      // the backbone's files as read, stored with the model for browsers (src/storage/model-web.ts)
      backboneAccess: { ...backboneAccess(config), onFile: backboneFiles.onFile },
      onBatchEnd: steps.timed((e) => {
        progress.batch(e);
        helpers.metrics?.step(e.examplesPerSec);
        if (!firstStepLogged) log.info(`training ${runId}: first step computed on this worker: ${e.step}`);
        firstStepLogged = true;
        divergedWhy ??= divergence.observe(e.step, e.loss);
        if (divergedWhy) abort('diverged');
        return leased((tx) => recordStep(tx, runId, e));
      }),
      onEpochEnd: steps.timed((e) => {
        progress.epoch(e);
        helpers.metrics?.epoch((performance.now() - epochStarted) / 1000);
        epochStarted = performance.now();
        return leased(async (tx) => {
          await recordEpochSummary(tx, runId, { ...e, objectF1: e.objects?.f1 ?? null, exactRate: e.objects?.exactRate ?? null });
          if (epochEnd) await recordCheckpoint(tx, runId, epochEnd);
        }).then(() => {
          // an epoch-end folder stays where train() wrote it (not moved into the cache): a resume on
          // this host restores the best epoch's weights from it (src/ml/best.ts); removed at the run's end
          epochEnd = null;
        });
      }),
      // each checkpoint folder goes to the artifact store (src/jobs/artifacts.ts): any worker can resume from it;
      // one every checkpointMinutes, as one every checkpointEvery steps, is not an epoch end
      onCheckpoint: steps.timed(async (c: CheckpointEvent) => {
        const uploaded = await uploadCheckpoint(prisma, c);
        if (c.step === c.epoch * perEpoch) epochEnd = uploaded;
        // any other (every checkpointEvery steps or checkpointMinutes, on abort) through the lease check: a worker that lost the run records none
        else if ((await storeCheckpoint(helpers, { runId, workerId, seconds: lease() }, uploaded)).cancelRequested) abort('cancel');
      }),
    });

    const modelDir = join(config.paths.models, runId);
    // the model is the best epoch's (lowest validation loss), possibly from before a resume: its summary row
    const epoch = result.bestEpoch?.epoch ?? result.epochs.at(-1)?.epoch ?? null;
    const summary = epoch === null ? null : await prisma.epochSummary.findUnique({ where: { runId_epoch: { runId, epoch } } });
    const metrics = {
      epoch,
      epochs: runSettings.epochs,
      valLoss: summary?.valLoss ?? null,
      bleu4: summary?.bleu4 ?? null,
      trainLoss: summary?.trainLoss ?? null,
      objectF1: summary?.objectF1 ?? null,
      exactRate: summary?.exactRate ?? null,
      step: result.step,
    };
    try {
      await saveModel(modelDir, { model: result.model, vocab: result.vocab, metrics });
      // what it was trained on, so `glimpse eval --model DIR` rebuilds the run's split (src/ml/training-data.ts)
      // (a stored synthetic set has no server paths: the folder it was read from on this worker)
      const recorded = {
        id: dataset.id,
        name: dataset.name,
        annotationsPath: dataset.annotationsPath ?? files.annotationsPath,
        imagesDir: dataset.imagesDir ?? files.imagesDir,
      };
      await writeTrainingData(
        modelDir,
        trainingDataRecord(
          { ...recorded, ...(dataset.maxCaptions ? { maxCaptions: dataset.maxCaptions } : {}) },
          images,
          result.trainConfig,
        ),
      );
    } finally {
      result.model.dispose();
    }
    const modelConfig = { ...portableConfig(result.config) }; // as saved in config.json
    const modelBlob = await uploadModel(prisma, modelDir);
    const backboneBlob =
      modelConfig.encoder.kind === 'pretrained' ? await uploadBackbone(prisma, backboneFiles, config.paths.models) : null;
    if (modelConfig.encoder.kind === 'pretrained' && backboneBlob === null)
      log.warn?.(
        `training ${runId}: the backbone's files were not stored (a weight file outside its folder): the model will not caption in browsers`,
      );
    await leased(async (tx) => {
      await recordModel(
        tx,
        runId,
        modelBlob,
        {
          name: run.modelName ?? defaultModelName(dataset.name, runId),
          vocabSize: result.vocab.size,
          config: modelConfig,
          metrics,
        },
        backboneBlob,
      );
      await succeedRun(tx, { runId, workerId }, result.stopReason);
    });
    await modelStored(helpers, modelBlob, modelDir, join(config.paths.checkpoints, runId));
    log.info(`training ${runId}: SUCCEEDED at step ${result.step} (${result.stopReason})`);
  } catch (error) {
    await finishAborted(
      runId,
      reason === 'diverged' ? new JobError('DIVERGED', divergedWhy ?? 'the loss diverged') : error,
      reason,
      helpers,
    );
  } finally {
    for (const folder of opened) folder.release();
    clearInterval(beat);
    helpers.shutdown.removeEventListener('abort', onShutdown);
    void collectGarbageSoon(); // the run's decoded images and captions go back now, not at V8's next full collection
  }
}
