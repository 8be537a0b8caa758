// A worker process's metrics (names: src/process/metrics.ts): captions (requests by model and outcome,
// queue wait, decode time, end-to-end latency, batch size), training (steps, examples/s, epoch time)
// and its artifact cache (hits, misses). Served by the supervisor's /metrics under `npm start`
// (src/process/metrics-ipc.ts), on GLIMPSE_METRICS_PORT by a standalone worker (./metrics-server.ts).
//
// Models are labelled by name, not id (an id is unbounded by nature): the first GLIMPSE_METRICS_MAX_MODELS
// distinct names a worker serves keep their own series, later ones count as `other`. Names are not
// unique and may be renamed: the series is what the model was called when its caption ended.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ThreadState } from '../ml/kernels/native-addon.ts';
import { BoundedLabel, METRIC, processRegistry } from '../process/metrics.ts';

export type CaptionOutcome = 'succeeded' | 'failed';

export interface WorkerMetrics {
  readonly registry: Registry;
  /** a caption request ended; `timings` (ms) when it succeeded */
  caption(modelName: string, outcome: CaptionOutcome, timings?: { queueMs: number; decodeMs: number; latencyMs: number }): void;
  /** requests decoded together by one call */
  batch(size: number): void;
  /** a training step */
  step(examplesPerSec: number): void;
  epoch(seconds: number): void;
}

const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface WorkerMetricsOptions {
  maxModels: number;
  /** the artifact caches' running totals (src/jobs/artifacts.ts artifactCacheCounts) */
  cacheCounts: () => { hits: number; misses: number };
  /** the `process` label (default "worker") */
  role?: string;
  /** the native kernels' threads now (null or absent: not loaded) */
  nativeThreads?: () => ThreadState | null;
}

export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const registry = processRegistry(options.role ?? 'worker');
  const registers = [registry];
  const models = new BoundedLabel(options.maxModels);
  const requests = new Counter({
    name: METRIC.captionRequests,
    help: 'caption requests this worker ended, by model name (other past the cap) and status (succeeded, failed)',
    labelNames: ['model', 'status'],
    registers,
  });
  const seconds = (name: string, help: string) => new Histogram({ name, help, buckets: LATENCY_BUCKETS, registers });
  const queueWait = seconds(METRIC.captionQueueWait, "from a caption request's creation to the start of its decoding");
  const decode = seconds(METRIC.captionDecode, "a caption batch's decoding, as each of its requests saw it");
  const latency = seconds(METRIC.captionLatency, "from a caption request's creation to its final status (end to end)");
  const batchSize = new Histogram({
    name: METRIC.captionBatchSize,
    help: 'caption requests decoded together by one call (dynamic batching, GLIMPSE_CAPTION_BATCH_SIZE)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  const steps = new Counter({ name: METRIC.trainingSteps, help: 'training steps (batches) this worker computed', registers });
  const examples = new Gauge({
    name: METRIC.trainingExamplesPerSecond,
    help: "training speed of this worker's latest step, in (image, caption) examples per second",
    registers,
  });
  const epochs = new Histogram({
    name: METRIC.trainingEpochDuration,
    help: 'wall time of a training epoch on this worker, validation included (a resumed epoch: from the resume)',
    buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400],
    registers,
  });
  /** a counter that reports a running total kept elsewhere */
  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  total(METRIC.artifactCacheHits, 'artifact-store blobs found unpacked in this worker’s cache', () => options.cacheCounts().hits);
  total(
    METRIC.artifactCacheMisses,
    'artifact-store blobs this worker had to read from Postgres and unpack',
    () => options.cacheCounts().misses,
  );

  if (options.nativeThreads) {
    const read = options.nativeThreads;
    new Gauge({
      name: METRIC.nativeThreads,
      help: "threads the native kernels use now: the worker's OpenBLAS threads, 1 while another process holds a core, 0 without the addon",
      registers,
      collect() {
        this.set(read()?.now ?? 0);
      },
    });
    total(
      METRIC.nativeCoreTaken,
      'parallel native calls that found a core taken by another process (each sends the next calls to one thread)',
      () => read()?.coreTaken ?? 0,
    );
  }

  return {
    registry,
    caption(modelName, status, timings) {
      requests.inc({ model: models.value(modelName), status });
      if (!timings) return;
      queueWait.observe(timings.queueMs / 1000);
      decode.observe(timings.decodeMs / 1000);
      latency.observe(timings.latencyMs / 1000);
    },
    batch: (size) => batchSize.observe(size),
    step(examplesPerSec) {
      steps.inc();
      if (Number.isFinite(examplesPerSec)) examples.set(examplesPerSec);
    },
    epoch: (s) => epochs.observe(s),
  };
}
