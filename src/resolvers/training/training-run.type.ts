import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly, RedactServerPaths } from '../shared/auth.ts';
import { JobPriority, RunStatus } from '../shared/enums.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: 'Hyper-parameters of a run after defaults (stored as TrainingRun.config)' })
export class TrainingConfig {
  @Field(() => Int)
  epochs!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Float)
  learningRate!: number;

  @Field(() => Int)
  embeddingDim!: number;

  @Field(() => Int)
  units!: number;

  @Field(() => Int, { description: 'top-k words kept in the vocabulary' })
  vocabSize!: number;

  @Field(() => Int, { nullable: true, description: 'caption length cap in tokens; null: from the data' })
  maxLength!: number | null;

  @Field(() => Int)
  seed!: number;

  @Field(() => Float)
  valFraction!: number;

  @Field(() => Int, { description: 'checkpoint every N batches (0: only at epoch end)' })
  checkpointEvery!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'also checkpoint once this many minutes have passed since the last checkpoint (0: off; a run from before the setting: 0)',
  })
  checkpointMinutes?: number | null;

  @Field(() => [String], {
    nullable: true,
    description:
      "what the worker's memory budget made smaller than the defaults (batch, model sizes) and why, with the numbers; null: nothing",
  })
  notes?: string[] | null;

  @Field(() => Float, {
    nullable: true,
    description: 'cosine decay of the learning rate to this fraction by the last step (a run from before the setting: 1, constant)',
  })
  learningRateEnd?: number | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'the output layer reads the attention context (deep output; a run from before the setting: false, the state only)',
  })
  deepOutput?: boolean | null;

  @Field(() => Float, {
    nullable: true,
    description: "share of steps whose attention context skipped the GRU's input in training (a run from before the setting: 0)",
  })
  contextDropout?: number | null;

  @Field(() => Float, { nullable: true, description: 'global gradient-norm clip; null: a run from before the setting (5)' })
  clipNorm?: number | null;

  @Field(() => Float, { nullable: true, description: 'attention regularisation λ; null: a run from before the setting (0)' })
  attentionLambda?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'early stopping: epochs without a better validation loss before the run ends (0: off; a run from before the setting: 0)',
  })
  patience?: number | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'warm start: the id of the model whose weights the run started from (kept after that model is deleted); null: random weights',
  })
  initFrom?: string | null;

  // encoder: absent from the stored JSON (null here) for the default CNN

  @Field(() => String, {
    nullable: true,
    description:
      'TF.js model.json of the pretrained encoder; null: the CNN encoder (or, for callers without an API key when keys are set, a path on the server)',
  })
  @UseMiddleware(RedactServerPaths)
  backbone?: string | null;

  @Field(() => String, { nullable: true, description: "backbone layer giving the feature map; null: the backbone's output" })
  backboneLayer?: string | null;

  @Field(() => Int, { nullable: true, description: 'encoder input side in pixels; null: a run from before the setting (the CNN at 128)' })
  imageSize?: number | null;

  @Field(() => Int, { nullable: true, description: 'cells per side of the feature grid; null: a run from before the setting (8)' })
  gridSize?: number | null;

  @Field(() => [Int], { nullable: true, description: 'CNN conv channels; null: a backbone, or a run from before the setting' })
  channels?: number[] | null;

  @Field(() => Int, { nullable: true, description: 'projected feature size; null: a run from before the setting (256)' })
  encoderDim?: number | null;
}

@ObjectType()
export class TrainingRun {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field(() => String, {
    nullable: true,
    description: 'the name its model is registered under (startTraining modelName); null: "<dataset name>, run <id prefix>"',
  })
  modelName!: string | null;

  @Field(() => RunStatus)
  status!: RunStatus;

  @Field(() => TrainingConfig)
  config!: TrainingConfig;

  @Field(() => Int, { description: 'last completed global step (1-based)' })
  step!: number;

  @Field(() => Int, {
    nullable: true,
    description: "steps the run takes: estimated from the dataset's counts when queued, exact once a worker has read the captions",
  })
  totalSteps!: number | null;

  @Field(() => Int)
  epoch!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'worker holding the run' })
  workerId!: string | null;

  @Field(() => Boolean)
  cancelRequested!: boolean;

  @Field(() => JobPriority, { description: 'its place in the training queue (kept when it is resumed or handed back)' })
  priority!: JobPriority;

  @Field(() => String, {
    nullable: true,
    description:
      'name of the API key that created it (null: created before keys, on an open server or by the CLI); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  /** warm start: the model the run started from (TrainingRun.parentModel resolves it) */
  parentModelId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'why training ended, once SUCCEEDED: "all N epochs", or early stopping with the epochs\' numbers; null otherwise',
  })
  stopReason!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType()
export class TrainingRunEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => TrainingRun)
  node!: TrainingRun;
}

@ObjectType()
export class TrainingRunConnection {
  @Field(() => [TrainingRunEdge])
  edges!: TrainingRunEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'runs matching the filter, all pages' })
  totalCount!: number;
}
