// startTraining's warm start (`initFrom`): the model must exist (NOT_FOUND naming input.initFrom) and
// say its architecture; the settings that shape the weights and were left out are taken from it, one
// given that differs is BAD_USER_INPUT naming the field (the rule: src/ml/settings/warm-start.ts).
import {
  ARCHITECTURE_SETTINGS,
  ENCODER_ARCHITECTURE,
  ENCODER_SETTINGS,
  inheritArchitecture,
  parentArchitectureOf,
  SettingError,
  TRAINING_SETTINGS,
  type Setting,
  type SettingValues,
} from '../../ml/settings/index.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, NotFoundError } from '../shared/api-errors.ts';
import type { StartTrainingInput } from './training-run.input.ts';
import { findModelByIdOrRef } from '../models/model.mapper.ts';

const fieldOf = (key: string) => (ENCODER_ARCHITECTURE.has(key) ? `input.encoder.${key}` : `input.${key}`);

/**
 * The architecture settings the client gave. GraphQL fills in a fixed default (deepOutput true,
 * gridSize 8) before the resolver sees the input, so a value equal to the schema's default counts
 * as left out: the model's value applies.
 */
function givenNames(input: StartTrainingInput): Set<string> {
  const given = new Set<string>();
  for (const key of ARCHITECTURE_SETTINGS) {
    const encoder = ENCODER_ARCHITECTURE.has(key);
    const value = ((encoder ? input.encoder : input) as Record<string, unknown> | null | undefined)?.[key];
    const setting = (encoder ? ENCODER_SETTINGS : TRAINING_SETTINGS) as Record<string, Setting | undefined>;
    const fixedDefault = setting[key]?.default ?? null;
    if (value != null && (fixedDefault === null || value !== fixedDefault)) given.add(key);
  }
  return given;
}

/** The values with the parent's architecture, and the parent's id; the values as they are without initFrom. */
export async function withParentModel(
  ctx: ApiContext,
  input: StartTrainingInput,
  values: SettingValues,
): Promise<{ values: SettingValues; parentModelId: string | null }> {
  if (input.initFrom == null) return { values, parentModelId: null };
  // a model reference: "name@alias", "name:version" or an id (src/registry/model-ref.ts), read now: the run records
  // the exact version it starts from
  const { id } = await findModelByIdOrRef(ctx, 'input.initFrom', input.initFrom);
  const parent = await ctx.prisma.model.findUnique({ where: { id }, select: { id: true, config: true } });
  if (parent === null) throw new NotFoundError('Model', input.initFrom);
  const architecture = parentArchitectureOf(parent.config);
  if (architecture === null)
    throw new BadUserInputError('input.initFrom', `model ${parent.id} does not record its architecture: it cannot be started from`);
  try {
    return { values: inheritArchitecture(values, givenNames(input), architecture), parentModelId: parent.id };
  } catch (error) {
    if (error instanceof SettingError) throw new BadUserInputError(fieldOf(error.setting), error.message.slice(error.setting.length + 2));
    throw error;
  }
}
