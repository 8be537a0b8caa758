// The run a dataset gets under a worker's memory budget. The estimate (memory.ts) and the choice come
// from this one function, so what the API accepts is what the worker will find fits:
//   - automatic settings are decided as resolveRun does (the seed's sizes for large sets), then, while
//     the estimate is over the budget, shrunk in this order: the batch (32, 28, …, 8), the model sizes
//     (the small ones, when the dataset had the seed's and they were left automatic), the batch again
//     (4, 2, 1); each shrink is said in `notes` with the numbers that forced it;
//   - settings the user gave are never changed: when they cannot fit, even with every automatic one at
//     its smallest, the plan is refused (OverBudgetError, with the estimate and the budget).
// The worker calls it again with the stored (all decided) settings and the exact caption statistics.
// Pure arithmetic, no imports outside this folder: the API may load this file.
import { estimateTrainingMemory, formatBytes, sizesOnDataset, type MemoryEstimate } from './memory.ts';
import {
  DEFAULT_BATCH_SIZE,
  MODEL_SIZES,
  resolveRun,
  sizeTierOf,
  type DataFacts,
  type RunSettings,
  type SettingValues,
} from './training.ts';

/** What is known of a dataset (null/absent: unknown, the schema's caps are assumed). */
export interface PlanFacts extends DataFacts {
  /** distinct words of its captions */
  words?: number | null;
  /** longest caption in tokens, <start> and <end> included */
  maxTokens?: number | null;
}

export interface RunPlan {
  /** every setting decided */
  run: RunSettings;
  /** the memory `run` needs on the dataset */
  estimate: MemoryEstimate;
  /** what the budget made smaller than the defaults, and why (empty: nothing) */
  notes: string[];
}

/** Settings the user gave that do not fit the budget, even with every automatic one at its smallest. */
export class OverBudgetError extends Error {
  readonly code = 'OVER_MEMORY_BUDGET';

  constructor(
    readonly estimate: MemoryEstimate,
    readonly budgetBytes: number,
    readonly run: RunSettings,
  ) {
    super(
      `this run needs about ${formatBytes(estimate.totalBytes)} of memory (${estimate.parameters.toLocaleString('en')} parameters; ` +
        `activations of ${run.batchSize} captions per step), over the worker budget of ${formatBytes(budgetBytes)} (GLIMPSE_WORKER_MAX_MEMORY)`,
    );
    this.name = 'OverBudgetError';
  }
}

/** Automatic batch sizes, largest first: down to 8 before the model sizes shrink, then below 8. */
export const AUTO_BATCHES = [DEFAULT_BATCH_SIZE, 28, 24, 20, 16, 12, 8] as const;
const LAST_RESORT_BATCHES = [4, 2, 1] as const;

/** The memory a decided run needs on a dataset (its vocabulary and longest caption, where known). */
export function estimateRun(run: RunSettings, facts: PlanFacts): MemoryEstimate {
  return estimateTrainingMemory(sizesOnDataset(run, { words: facts.words ?? null, maxTokens: facts.maxTokens ?? null }));
}

type Tier = keyof typeof MODEL_SIZES;

/** The (size tier, batch) pairs to try, in order; the first that fits is the plan. */
function candidates(values: SettingValues, facts: PlanFacts): [Tier, number | null][] {
  const tier = sizeTierOf(facts);
  const sizesAuto =
    values.units === null || values.embeddingDim === null || values.encoderDim === null || (!values.backbone && values.channels === null);
  const tiers: Tier[] = tier === 'seed' && sizesAuto ? ['seed', 'small'] : [tier];
  if (values.batchSize !== null) return tiers.map((t) => [t, values.batchSize]);
  const out: [Tier, number][] = tiers.flatMap((t) => AUTO_BATCHES.map((b): [Tier, number] => [t, b]));
  const last = tiers.at(-1)!;
  for (const b of LAST_RESORT_BATCHES) out.push([last, b]);
  return out;
}

/**
 * Decides every automatic setting of a run for a dataset under a memory budget (null: no budget, the
 * defaults as they are). Throws OverBudgetError when the settings the user gave do not fit.
 */
export function planRun(values: SettingValues, facts: PlanFacts, budgetBytes: number | null): RunPlan {
  const tried = candidates(values, facts).map(([tier, batchSize]) => {
    const run = resolveRun({ ...values, batchSize }, facts, tier);
    return { tier, run, estimate: estimateRun(run, facts) };
  });
  const first = tried[0]!;
  if (budgetBytes === null) return { run: first.run, estimate: first.estimate, notes: [] };
  const chosen = tried.find((c) => c.estimate.totalBytes <= budgetBytes);
  if (!chosen) {
    const smallest = tried.at(-1)!;
    throw new OverBudgetError(smallest.estimate, budgetBytes, smallest.run);
  }
  const notes: string[] = [];
  const over = (c: { estimate: MemoryEstimate }) =>
    `would need about ${formatBytes(c.estimate.totalBytes)}, over the worker budget of ${formatBytes(budgetBytes)} (GLIMPSE_WORKER_MAX_MEMORY)`;
  if (chosen.tier !== first.tier) {
    const seed = MODEL_SIZES[first.tier];
    const smallestSeed = tried.filter((c) => c.tier === first.tier).at(-1)!;
    notes.push(
      `model sizes GRU ${chosen.run.units}, embedding ${chosen.run.embeddingDim}, features ${chosen.run.encoderDim} instead of the ` +
        `seed's ${seed.units}, ${seed.embeddingDim}, ${seed.encoderDim}: those at batch ${smallestSeed.run.batchSize} ${over(smallestSeed)}`,
    );
  }
  if (chosen.run.batchSize !== first.run.batchSize) {
    const sameTier = tried.find((c) => c.tier === chosen.tier)!;
    notes.push(`batchSize ${chosen.run.batchSize} instead of ${first.run.batchSize}: ${first.run.batchSize} ${over(sameTier)}`);
  }
  return { run: chosen.run, estimate: chosen.estimate, notes };
}
