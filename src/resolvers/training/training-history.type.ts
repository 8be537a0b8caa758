// What a run leaves behind while it trains: per-batch losses, epoch summaries, checkpoints.
import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';

@ObjectType({
  description: 'Loss of one batch (a downsampled curve is made of real batches: the lowest and highest of each slice of steps)',
})
export class LossPoint {
  @Field(() => Int, { description: 'global step' })
  step!: number;

  @Field(() => Int)
  epoch!: number;

  @Field(() => Int)
  batch!: number;

  @Field(() => Float)
  loss!: number;

  @Field(() => Float)
  examplesPerSec!: number;
}

@ObjectType()
export class EpochSummary {
  @Field(() => Int)
  epoch!: number;

  @Field(() => Int)
  step!: number;

  @Field(() => Float, { nullable: true })
  trainLoss!: number | null;

  @Field(() => Float, { nullable: true })
  valLoss!: number | null;

  @Field(() => Float, { nullable: true })
  bleu4!: number | null;

  @Field(() => Float, { nullable: true, description: 'synthetic sets: F1 of the (colour, shape) pairs the validation captions name' })
  objectF1!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'synthetic sets: share of validation images whose caption names exactly their objects',
  })
  exactRate!: number | null;
}

@ObjectType()
export class Checkpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  step!: number;

  @Field(() => Int)
  epoch!: number;

  @Field(() => String, {
    nullable: true,
    description: 'checkpoint folder on the server; null for callers without an API key when keys are set',
  })
  @UseMiddleware(KeyHoldersOnly)
  path!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}
