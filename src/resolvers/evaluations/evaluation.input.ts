import { Field, ID, InputType, Int } from 'type-graphql';
import { CAPTION_SETTINGS as C, DECODE_METHOD_SETTING } from '../../ml/settings/index.ts';
import { DecodeMethod, EvaluationSplit, JobPriority } from '../shared/enums.ts';
import { SettingField } from '../shared/setting-field.ts';

/** the most images one evaluation may be limited to (a bound, not a default: absent means the whole split) */
export const MAX_EVALUATION_IMAGES = 1_000_000;

@InputType()
export class EvaluateModelInput {
  @Field(() => ID, {
    description:
      'the model: a reference, "captioner@production", "captioner:3" or a model id (read now: the evaluation records the exact version)',
  })
  modelId!: string;

  @Field(() => ID, { description: 'a READY dataset' })
  datasetId!: string;

  @Field(() => EvaluationSplit, { defaultValue: EvaluationSplit.VALIDATION })
  split!: EvaluationSplit;

  // the caption settings' default, as requestCaption and `glimpse eval` (one source of truth)
  @Field(() => DecodeMethod, {
    defaultValue: DECODE_METHOD_SETTING.default.toUpperCase(),
    description: 'GREEDY or BEAM (SAMPLE is random: BAD_USER_INPUT)',
  })
  method!: DecodeMethod;

  @SettingField(C.beamWidth)
  beamWidth?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: `only the first maxImages images of the split, 1..${MAX_EVALUATION_IMAGES} (absent: all)`,
  })
  maxImages?: number | null;

  @Field(() => JobPriority, { nullable: true, defaultValue: JobPriority.NORMAL, description: 'its place in the evaluation queue' })
  priority?: JobPriority | null;
}
