// startTraining's input: every hyper-parameter field, its default, bounds and description come from the
// settings schema (src/ml/settings/training.ts); this file only adds the GraphQL shape and the encoder's
// cross-field rules (backbone vs CNN geometry).
import { Field, ID, InputType } from 'type-graphql';
import { JobPriority } from '../shared/enums.ts';
import {
  cnnGeometryProblem,
  ENCODER_SETTINGS as E,
  resolveRun,
  TRAINING_SETTINGS as T,
  type RunSettings,
  type SettingValues,
} from '../../ml/settings/index.ts';
import { BadUserInputError } from '../shared/api-errors.ts';
import { SettingField, settingsFrom } from '../shared/setting-field.ts';
import { checkModelLocation, checkName } from '../shared/validate.ts';

@InputType({ description: 'The image encoder: a pretrained TF.js backbone, or (without backbone) the default CNN trained end to end' })
export class EncoderInput {
  @Field(() => String, {
    nullable: true,
    description:
      'TF.js model.json (LayersModel or GraphModel) as an http(s):// URL or an absolute path on the server; ' +
      'the worker downloads it when the run starts and again when the model captions. Omitted: the default CNN',
  })
  backbone?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "backbone layer (GraphModel: node) whose output is the feature map, ≤ 200 characters; default: the model's output. Needs backbone",
  })
  backboneLayer?: string | null;

  @SettingField(E.imageSize)
  imageSize?: number | null;

  @SettingField(E.gridSize)
  gridSize?: number | null;

  @SettingField(E.channels)
  channels?: number[] | null;

  @SettingField(E.encoderDim)
  encoderDim?: number | null;
}

@InputType({ description: 'Omitted hyper-parameters take the defaults shown' })
export class StartTrainingInput {
  @Field(() => ID)
  datasetId!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'warm start: the model whose weights the run starts from, as a reference ("captioner@production", "captioner:3" or a model id; read when the run is queued, which records the exact version). ' +
      "The architecture settings left out (units, embeddingDim, deepOutput, encoder) are the model's; " +
      "one given that differs is BAD_USER_INPUT naming it (a value equal to the field's default, as GraphQL fills it in, counts as left out). The vocabulary keeps the model's words and ids and appends the dataset's words it lacks " +
      '(their embedding rows and output columns freshly initialised). NOT_FOUND: no such model',
  })
  initFrom?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'the name the model is registered under, as its next version (1 to 100 printable characters); default: "<dataset name>, run <first 8 characters of the run id>"',
  })
  modelName?: string | null;

  @SettingField(T.epochs)
  epochs?: number | null;

  @SettingField(T.patience)
  patience?: number | null;

  @SettingField(T.batchSize)
  batchSize?: number | null;

  @SettingField(T.learningRate)
  learningRate?: number | null;

  @SettingField(T.learningRateEnd)
  learningRateEnd?: number | null;

  @SettingField(T.clipNorm)
  clipNorm?: number | null;

  @SettingField(T.embeddingDim)
  embeddingDim?: number | null;

  @SettingField(T.units)
  units?: number | null;

  @SettingField(T.vocabSize)
  vocabSize?: number | null;

  @SettingField(T.maxLength)
  maxLength?: number | null;

  @SettingField(T.attentionLambda)
  attentionLambda?: number | null;

  @SettingField(T.deepOutput)
  deepOutput?: boolean | null;

  @SettingField(T.contextDropout)
  contextDropout?: number | null;

  @SettingField(T.seed)
  seed?: number | null;

  @SettingField(T.valFraction)
  valFraction?: number | null;

  @SettingField(T.checkpointEvery)
  checkpointEvery?: number | null;

  @SettingField(T.checkpointMinutes)
  checkpointMinutes?: number | null;

  @Field(() => JobPriority, { nullable: true, defaultValue: JobPriority.NORMAL, description: 'its place in the training queue' })
  priority?: JobPriority | null;

  @Field(() => EncoderInput, { nullable: true, description: "default: the CNN encoder, its input size following the dataset's images" })
  encoder?: EncoderInput | null;
}

/** The encoder's values with the cross-field rules checked (backbone vs the CNN's settings). */
function encoderValues(input: EncoderInput | null | undefined): Omit<SettingValues, keyof typeof T> {
  const field = (name: keyof EncoderInput) => `input.encoder.${name}`;
  const encoder = settingsFrom(E, input, 'input.encoder');
  if (input?.backbone == null) {
    if (input?.backboneLayer != null) throw new BadUserInputError(field('backboneLayer'), 'needs input.encoder.backbone');
    return encoder;
  }
  if (input.channels != null)
    throw new BadUserInputError(field('channels'), 'configures the CNN encoder; it does not apply with a backbone');
  const backbone = checkModelLocation(field('backbone'), input.backbone);
  const layer = input.backboneLayer == null ? {} : { backboneLayer: checkName(field('backboneLayer'), input.backboneLayer, 200) };
  return { ...encoder, backbone, ...layer };
}

/** What startTraining knows of the dataset; null: not looked up yet (the input alone is checked). */
export type DatasetFacts = { captionCount: number; imageSide: number | null } | null;

/** The hyper-parameters validated against the settings schema (automatic ones still null); errors name the field. */
export function settingValuesOf(input: StartTrainingInput): SettingValues {
  return { ...settingsFrom(T, input, 'input'), ...encoderValues(input.encoder) };
}

/**
 * Validates the hyper-parameters against the settings schema and decides every default for the
 * dataset (model sizes by its captions, the CNN's input by its images), before the worker's memory
 * budget is applied (admitTraining); errors name the field.
 */
export function resolveTrainingConfig(input: StartTrainingInput, dataset: DatasetFacts, values = settingValuesOf(input)): RunSettings {
  const run = resolveRun(values, { captions: dataset?.captionCount ?? null, imageSide: dataset?.imageSide ?? null });
  // without the dataset the automatic size is not known yet: the geometry is checked once it is
  if (run.channels && (dataset || values.imageSize !== null)) {
    const problem = cnnGeometryProblem(run.imageSize, run.gridSize, run.channels);
    if (problem) throw new BadUserInputError(`input.encoder.${problem[0]}`, problem[1]);
  }
  return run;
}
