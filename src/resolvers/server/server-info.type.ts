import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';

@ObjectType({ description: 'A worker process that reported within the heartbeat timeout' })
export class WorkerInfo {
  @Field(() => String)
  id!: string;

  @Field(() => String, { nullable: true, description: 'null for callers without an API key when keys are set' })
  @UseMiddleware(KeyHoldersOnly)
  hostname!: string | null;

  @Field(() => Int, { nullable: true, description: 'null for callers without an API key when keys are set' })
  @UseMiddleware(KeyHoldersOnly)
  pid!: number | null;

  @Field(() => String)
  backend!: string;

  @Field(() => Int)
  threads!: number;

  @Field(() => [String], {
    description: 'the queues it takes jobs from (GLIMPSE_WORKER_JOBS): training, caption, dataset, evaluation, bulk-caption',
  })
  roles!: string[];

  @Field(() => [ID], { description: 'the training runs it is running now' })
  runningTrainingRuns!: string[];

  @Field(() => Int, { description: 'caption requests it is decoding now' })
  runningCaptionRequests!: number;

  @Field(() => Boolean, {
    description: "its data dir's free space is under GLIMPSE_MIN_FREE_DISK: it takes no training jobs until there is space",
  })
  diskFull!: boolean;

  @Field(() => Float, { nullable: true, description: "free bytes of its data dir's filesystem at its last beat" })
  freeDiskBytes!: number | null;

  @Field(() => Date)
  startedAt!: Date;

  @Field(() => Date)
  lastSeenAt!: Date;
}

@ObjectType()
export class QueueDepth {
  @Field(() => Int, { description: 'training jobs waiting to be picked up' })
  training!: number;

  @Field(() => Int, { description: 'caption jobs waiting to be picked up' })
  caption!: number;

  @Field(() => Int, { description: 'evaluation jobs waiting to be picked up (QUEUED evaluations)' })
  evaluation!: number;
}

@ObjectType()
export class ServerInfo {
  @Field(() => String, { description: 'Glimpse version (package.json)' })
  version!: string;

  @Field(() => String, { nullable: true, description: 'ML backend(s) of the live workers, e.g. "wasm"; null without workers' })
  backend!: string | null;

  @Field(() => Int, { description: 'number of live workers' })
  workers!: number;

  @Field(() => Int, { description: 'jobs waiting to be picked up, all kinds' })
  queueDepth!: number;

  @Field(() => QueueDepth)
  queue!: QueueDepth;

  @Field(() => [WorkerInfo], { description: 'the live workers' })
  liveWorkers!: WorkerInfo[];
}
