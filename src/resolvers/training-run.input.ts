// startTraining's input: every hyper-parameter field, its default, bounds and description come from the
// settings schema (src/ml/settings/training.ts); this file only adds the GraphQL shape and the encoder's
// cross-field rules (backbone vs CNN geometry).
import { Field, ID, InputType } from 'type-graphql';
import {
  cnnGeometryProblem,
  DEFAULT_BACKBONE_IMAGE_SIZE,
  DEFAULT_CNN_IMAGE_SIZE,
  ENCODER_SETTINGS as E,
  TRAINING_SETTINGS as T,
  type RunSettings,
} from '../ml/settings/index.ts';
import { BadUserInputError } from './errors.ts';
import { SettingField, settingsFrom } from './setting-field.ts';
import { checkModelLocation, checkName } from './validate.ts';

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
    description: "backbone layer (GraphModel: node) whose output is the feature map, ≤ 200 characters; default: the model's output. Needs backbone",
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

  @SettingField(T.epochs)
  epochs?: number | null;

  @SettingField(T.batchSize)
  batchSize?: number | null;

  @SettingField(T.learningRate)
  learningRate?: number | null;

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

  @SettingField(T.seed)
  seed?: number | null;

  @SettingField(T.valFraction)
  valFraction?: number | null;

  @SettingField(T.checkpointEvery)
  checkpointEvery?: number | null;

  @Field(() => EncoderInput, { nullable: true, description: `default: the CNN encoder at ${DEFAULT_CNN_IMAGE_SIZE} px` })
  encoder?: EncoderInput | null;
}

/** The encoder settings stored in TrainingRun.config, after defaults and the cross-field rules. */
function resolveEncoder(input: EncoderInput | null | undefined): Omit<RunSettings, keyof typeof T> {
  const field = (name: keyof EncoderInput) => `input.encoder.${name}`;
  const encoder = settingsFrom(E, input, 'input.encoder');
  if (input?.backbone == null) {
    if (input?.backboneLayer != null) throw new BadUserInputError(field('backboneLayer'), 'needs input.encoder.backbone');
    const imageSize = encoder.imageSize ?? DEFAULT_CNN_IMAGE_SIZE;
    const problem = cnnGeometryProblem(imageSize, encoder.gridSize, encoder.channels);
    if (problem) throw new BadUserInputError(field(problem[0]), problem[1]);
    return { ...encoder, imageSize };
  }
  if (input.channels != null) throw new BadUserInputError(field('channels'), 'configures the CNN encoder; it does not apply with a backbone');
  const backbone = checkModelLocation(field('backbone'), input.backbone);
  const imageSize = encoder.imageSize ?? DEFAULT_BACKBONE_IMAGE_SIZE;
  const layer = input.backboneLayer == null ? {} : { backboneLayer: checkName(field('backboneLayer'), input.backboneLayer, 200) };
  return { ...encoder, imageSize, backbone, ...layer };
}

/** Validates the hyper-parameters against the settings schema and fills in the defaults; errors name the field. */
export function resolveTrainingConfig(input: StartTrainingInput): RunSettings {
  return { ...settingsFrom(T, input, 'input'), ...resolveEncoder(input.encoder) };
}
