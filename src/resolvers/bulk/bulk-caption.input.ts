import { Field, ID, InputType } from 'type-graphql';
import { CAPTION_SETTINGS as C, DECODE_METHOD_SETTING } from '../../ml/settings/index.ts';
import { BadUserInputError } from '../shared/api-errors.ts';
import { DecodeMethod, JobPriority } from '../shared/enums.ts';
import { SettingField, settingsFrom } from '../shared/setting-field.ts';

@InputType({ description: 'Caption every image of a READY dataset with one model' })
export class CaptionDatasetInput {
  @Field(() => ID, { description: 'the model: a reference, "captioner@production", "captioner:3" or a model id (read now)' })
  modelId!: string;

  @Field(() => ID)
  datasetId!: string;

  // the caption settings' default, as requestCaption and evaluateModel
  @Field(() => DecodeMethod, {
    nullable: true,
    defaultValue: DECODE_METHOD_SETTING.default.toUpperCase(),
    description: 'GREEDY or BEAM (SAMPLE is refused)',
  })
  method?: DecodeMethod | null;

  @SettingField(C.beamWidth)
  beamWidth?: number | null;

  @SettingField(C.maxLength)
  maxLength?: number | null;

  @Field(() => JobPriority, { nullable: true, defaultValue: JobPriority.NORMAL, description: 'its place in the bulk-caption queue' })
  priority?: JobPriority | null;
}

/** the decoding settings checked against the caption settings schema; BAD_USER_INPUT names the field */
export function bulkDecoding(input: CaptionDatasetInput) {
  const { beamWidth, maxLength } = settingsFrom(C, { beamWidth: input.beamWidth, maxLength: input.maxLength }, 'input');
  const method = input.method ?? (DECODE_METHOD_SETTING.default.toUpperCase() as DecodeMethod);
  if (method === DecodeMethod.SAMPLE) throw new BadUserInputError('input.method', 'bulk captions are GREEDY or BEAM (reproducible)');
  return { method, beamWidth, maxLength, priority: input.priority ?? JobPriority.NORMAL };
}
