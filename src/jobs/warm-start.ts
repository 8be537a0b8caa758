// Warm start in the worker: a run whose config names a model to start from (`initFrom`, stored by
// startTraining with TrainingRun.parentModelId) gets that model's folder from the artifact store, as the
// caption worker does. A resumed run does not: its checkpoint has the weights. A parent deleted before
// the run's first start fails the run rather than training from random weights unasked.
import type { TrainingRun } from '../db/client.ts';
import type { CachedDir } from '../storage/index.ts';
import { openModel } from './artifacts.ts';
import { JobError, type JobHelpers } from './helpers.ts';

/** The model id the run's stored config starts from (null: random weights). */
export function initFromOf(config: unknown): string | null {
  const value = typeof config === 'object' && config !== null ? (config as Record<string, unknown>).initFrom : null;
  return typeof value === 'string' ? value : null;
}

/** The parent model's folder on this worker, or null for a run from random weights. */
export async function openParentModel(helpers: JobHelpers, run: Pick<TrainingRun, 'config' | 'parentModelId'>): Promise<CachedDir | null> {
  const wanted = initFromOf(run.config);
  if (wanted === null) return null;
  const parent = run.parentModelId ? await helpers.prisma.model.findUnique({ where: { id: run.parentModelId } }) : null;
  if (!parent)
    throw new JobError('MODEL_MISSING', `model ${wanted}, which the run starts from (initFrom), was deleted before the run started`);
  return openModel(helpers, parent);
}
