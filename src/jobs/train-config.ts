// TrainingRun.config (the JSON the API wrote after validating it against the settings schema) → the
// ML library's model and train configs. Rows written before a setting existed take its default; a
// value outside today's bounds fails the run with RUN_CONFIG_INVALID instead of reaching the model.
import {
  ENCODER_SETTINGS,
  mlConfigs,
  resolveRun,
  resolveSettings,
  SettingError,
  TRAINING_SETTINGS,
  type MlConfigs,
  type RunSettings,
  type SettingValues,
  withValuesOfTheTime,
} from '../ml/index.ts';
import { JobError } from './helpers.ts';

const STRING_KEYS = ['backbone', 'backboneLayer'] as const;

export function parseRunConfig(json: unknown): RunSettings {
  if (typeof json !== 'object' || json === null) throw new JobError('RUN_CONFIG_INVALID', 'training config is not an object');
  const stored = json as Record<string, unknown>;
  const pick = (keys: readonly string[]) => Object.fromEntries(keys.filter((k) => k in stored).map((k) => [k, stored[k]]));
  try {
    const values: SettingValues = {
      ...resolveSettings(TRAINING_SETTINGS, withValuesOfTheTime(pick(Object.keys(TRAINING_SETTINGS)))),
      ...resolveSettings(ENCODER_SETTINGS, pick(Object.keys(ENCODER_SETTINGS))),
    };
    for (const key of STRING_KEYS) {
      const value = stored[key];
      if (value == null) continue;
      if (typeof value !== 'string') throw new JobError('RUN_CONFIG_INVALID', `training config: ${key} must be a string`);
      values[key] = value;
    }
    // rows the API wrote hold every setting; a row from before a setting existed gets what was the
    // default then: the seed's sizes, the CNN at 128 px
    return resolveRun(values, { captions: null, imageSide: null });
  } catch (error) {
    if (error instanceof SettingError) throw new JobError('RUN_CONFIG_INVALID', `training config: ${error.message}`);
    throw error;
  }
}

/** The run's ML configs; `featureCacheDir` caches a backbone's features (e.g. <datasets>/<dataset id>/features). */
export function mlSettings(run: RunSettings, paths: { featureCacheDir: string }): MlConfigs {
  try {
    return mlConfigs(run, paths.featureCacheDir);
  } catch (error) {
    throw new JobError('RUN_CONFIG_INVALID', `training config: ${(error as Error).message}`);
  }
}
