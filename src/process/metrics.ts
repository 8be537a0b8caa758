// Prometheus metrics (prom-client), the part every role shares: every metric's name in one place, a
// registry per process (prom-client's process defaults, labelled with the process's role), labels
// bounded by a cap (values past it count as `other`), and the merge of other processes' metrics
// into one scrape. The API's metrics are defined in src/server/metrics.ts, the worker's in
// src/jobs/metrics.ts; docs/operations.md "Metrics" lists them with their meanings.
//
// Under `npm start` the API's /metrics covers its worker children: on each scrape the API asks each
// child over the IPC channel for its registry's getMetricsAsJSON() (./metrics-ipc.ts) and merges
// the answers with prom-client's AggregatorRegistry.aggregate. Asked on request rather than pushed:
// the numbers are as fresh as the scrape, nothing travels while nobody scrapes, and a dead child's
// series go with it instead of lingering at their last pushed value.
import { AggregatorRegistry, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** every metric of every role; units in the names, `_total` on counters */
export const METRIC = {
  graphqlOperations: 'glimpse_graphql_operations_total',
  graphqlDuration: 'glimpse_graphql_operation_duration_seconds',
  graphqlErrors: 'glimpse_graphql_errors_total',
  captionRequests: 'glimpse_caption_requests_total',
  captionQueueWait: 'glimpse_caption_queue_wait_seconds',
  captionDecode: 'glimpse_caption_decode_seconds',
  captionLatency: 'glimpse_caption_latency_seconds',
  captionBatchSize: 'glimpse_caption_batch_size',
  trainingSteps: 'glimpse_training_steps_total',
  trainingExamplesPerSecond: 'glimpse_training_examples_per_second',
  trainingEpochDuration: 'glimpse_training_epoch_duration_seconds',
  nativeThreads: 'glimpse_native_threads',
  nativeCoreTaken: 'glimpse_native_core_taken_total',
  trainingRuns: 'glimpse_training_runs',
  queueDepth: 'glimpse_queue_depth',
  queueOldestJobAge: 'glimpse_queue_oldest_job_age_seconds',
  workersLive: 'glimpse_workers_live',
  artifactStoreBytes: 'glimpse_artifact_store_bytes',
  artifactCacheHits: 'glimpse_artifact_cache_hits_total',
  artifactCacheMisses: 'glimpse_artifact_cache_misses_total',
  databaseUp: 'glimpse_database_up',
  metricsChildrenMissing: 'glimpse_metrics_children_missing',
} as const;

/** the label value every value past a label's cap is counted under */
export const OTHER = 'other';

/** label values of a process's metrics as prom-client serialises them */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * A label whose values come from outside (operation names, model names): the first `max` distinct
 * values keep their own series, every later one, and any value longer than `maxLength`, is `other`.
 * The set of series stays bounded whatever clients send.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(
    readonly max: number,
    private readonly maxLength = 100,
  ) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (raw === OTHER || raw.length > this.maxLength || this.seen.size >= this.max) return OTHER;
    this.seen.add(raw);
    return raw;
  }
}

/** a registry for one process, with prom-client's process defaults; every series carries `process: role` */
export function processRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: role });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** the same metrics with `label` set on every value (a child's role, as its parent names it) */
export function withLabel(metrics: MetricsJson, label: string, value: string): MetricsJson {
  return metrics.map((m) => ({ ...m, values: m.values.map((v) => ({ ...v, labels: { ...v.labels, [label]: value } })) }));
}

/**
 * Other processes' metrics, for one scrape: resolves undefined when that process did not answer (it
 * is busy or restarting); the scrape goes on without it.
 */
export type MetricsSource = () => Promise<MetricsJson | undefined>;

/** `own`'s metrics and `others`', merged into one exposition (series of equal names and labels are summed) */
export async function scrape(own: Registry, others: readonly MetricsSource[] = []): Promise<{ contentType: string; text: string }> {
  if (others.length === 0) return { contentType: own.contentType, text: await own.metrics() };
  const answers = await Promise.all(others.map((source) => source().catch(() => undefined)));
  const present = answers.filter((a): a is MetricsJson => a !== undefined);
  const extra = new Registry();
  new Gauge({
    name: METRIC.metricsChildrenMissing,
    help: 'worker processes of this supervisor whose metrics this scrape lacks (busy or restarting)',
    labelNames: ['process'],
    registers: [extra],
  }).set({ process: 'api' }, answers.length - present.length);
  // prom-client drops `omit` metrics (process_start_time_seconds) when aggregating: each process's series
  // carries its own `process` label, so they are kept as they are
  const keep = (metrics: MetricsJson) => metrics.map((m) => (m.aggregator === 'omit' ? { ...m, aggregator: 'first' as const } : m));
  const merged = AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...present, await extra.getMetricsAsJSON()].map(keep));
  return { contentType: own.contentType, text: await merged.metrics() };
}
