import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';
import { DecodeMethod, EvaluationSplit, JobPriority, RunStatus } from '../shared/enums.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: 'One of the lowest-scoring captions of an evaluation' })
export class EvaluationExample {
  @Field(() => String, { description: "the image's file, relative to the dataset's image folder" })
  image!: string;

  @Field(() => [String])
  references!: string[];

  @Field(() => String, { description: "the model's caption" })
  hypothesis!: string;

  @Field(() => Float, { description: "the image's CIDEr-D" })
  score!: number;
}

@ObjectType({
  description:
    'A model scored on a split of a dataset by an evaluation job (evaluateModel): the same numbers as `glimpse eval` on the same split and decoding settings',
})
export class Evaluation {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field(() => EvaluationSplit)
  split!: EvaluationSplit;

  @Field(() => DecodeMethod)
  method!: DecodeMethod;

  @Field(() => Int, { description: 'BEAM only: hypotheses kept per step' })
  beamWidth!: number;

  @Field(() => Int, { nullable: true, description: 'only the first maxImages images of the split (null: all)' })
  maxImages!: number | null;

  @Field(() => JobPriority, { description: 'its place in the evaluation queue' })
  priority!: JobPriority;

  @Field(() => RunStatus, {
    description:
      'QUEUED, RUNNING, then SUCCEEDED, FAILED or CANCELLED; an evaluation whose worker died is QUEUED again and restarts from zero',
  })
  status!: RunStatus;

  @Field(() => Int, { description: 'images captioned so far' })
  done!: number;

  @Field(() => Int, { nullable: true, description: 'images in the split (known once a worker has read the dataset)' })
  total!: number | null;

  @Field(() => Int, { nullable: true, description: "seed of the split (the model's run's)" })
  splitSeed!: number | null;

  @Field(() => Float, { nullable: true, description: "validation fraction of the split (the model's run's)" })
  splitValFraction!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'sha256 (16 hex digits) of the evaluated image files: two evaluations with the same digest scored the same images',
  })
  splitDigest!: string | null;

  @Field(() => Float, { nullable: true })
  bleu1!: number | null;

  @Field(() => Float, { nullable: true })
  bleu2!: number | null;

  @Field(() => Float, { nullable: true })
  bleu3!: number | null;

  @Field(() => Float, { nullable: true })
  bleu4!: number | null;

  @Field(() => Float, { nullable: true })
  ciderD!: number | null;

  @Field(() => Float, { nullable: true, description: 'synthetic sets: F1 of the (colour, shape) pairs the captions name' })
  objectF1!: number | null;

  @Field(() => Float, { nullable: true, description: 'synthetic sets: share of images whose caption names exactly their objects' })
  exactRate!: number | null;

  @Field(() => [EvaluationExample], { description: 'the lowest-scoring captions, lowest first (empty until SUCCEEDED)' })
  examples!: EvaluationExample[];

  @Field(() => GraphQLJSONObject, { nullable: true, description: '{loadMs, decodeMs, imagesPerSecond}' })
  timings!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'name of the API key that asked for it; null for callers without a key' })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType()
export class EvaluationEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Evaluation)
  node!: Evaluation;
}

@ObjectType()
export class EvaluationConnection {
  @Field(() => [EvaluationEdge])
  edges!: EvaluationEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'evaluations matching the filters, all pages' })
  totalCount!: number;
}
