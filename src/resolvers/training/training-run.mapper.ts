// Prisma TrainingRun row → GraphQL TrainingRun. The config JSON is what startTraining stored; a row
// written before a setting existed reads that setting's value of the time (resolveRun with nothing
// known of the data: the seed's sizes), so every non-null field of TrainingConfig has a value.
import type { TrainingRun as TrainingRunRow } from '../../db/client.ts';
import {
  ENCODER_SETTINGS,
  resolveRun,
  resolveSettings,
  TRAINING_SETTINGS,
  type SettingValues,
  withValuesOfTheTime,
} from '../../ml/settings/index.ts';
import type { TrainingConfig, TrainingRun } from './training-run.type.ts';

function readConfig(json: unknown): TrainingConfig {
  const stored = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => stored[k] !== undefined).map((k) => [k, stored[k]]));
  try {
    const values: SettingValues = {
      ...resolveSettings(TRAINING_SETTINGS, withValuesOfTheTime(pick(Object.keys(TRAINING_SETTINGS)))),
      ...resolveSettings(ENCODER_SETTINGS, pick(Object.keys(ENCODER_SETTINGS))),
      ...(typeof stored.backbone === 'string' ? { backbone: stored.backbone } : {}),
      ...(typeof stored.backboneLayer === 'string' ? { backboneLayer: stored.backboneLayer } : {}),
    };
    const notes = Array.isArray(stored.notes) ? stored.notes.filter((n): n is string => typeof n === 'string') : null;
    const initFrom = typeof stored.initFrom === 'string' ? stored.initFrom : null;
    return { ...resolveRun(values, { captions: null, imageSide: null }), notes, initFrom } as unknown as TrainingConfig;
  } catch {
    return stored as unknown as TrainingConfig; // out of today's bounds: shown as stored (the worker refuses it)
  }
}

export function toTrainingRun(row: TrainingRunRow): TrainingRun {
  return { ...row, config: readConfig(row.config) };
}
