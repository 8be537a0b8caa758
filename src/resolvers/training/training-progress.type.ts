import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RunStatus } from '../shared/enums.ts';

export enum ProgressKind {
  BATCH = 'BATCH',
  EPOCH = 'EPOCH',
  STATUS = 'STATUS',
}
registerEnumType(ProgressKind, {
  name: 'ProgressKind',
  description: 'BATCH: one batch loss; EPOCH: epoch summary (valLoss, bleu4); STATUS: the run status changed',
});

@ObjectType({ description: 'One event of trainingProgress; fields that do not apply to the kind are null' })
export class TrainingProgressEvent {
  @Field(() => ProgressKind)
  kind!: ProgressKind;

  @Field(() => Int, { description: 'global step (STATUS: last completed step)' })
  step!: number;

  @Field(() => Int)
  epoch!: number;

  @Field(() => Int, { nullable: true })
  batch!: number | null;

  @Field(() => Float, { nullable: true, description: 'BATCH: batch loss; EPOCH: mean training loss' })
  loss!: number | null;

  @Field(() => Float, { nullable: true })
  examplesPerSec!: number | null;

  @Field(() => Float, { nullable: true })
  valLoss!: number | null;

  @Field(() => Float, { nullable: true })
  bleu4!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'EPOCH, synthetic sets: F1 of the (colour, shape) pairs the validation captions name',
  })
  objectF1!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'EPOCH, synthetic sets: share of validation images whose caption names exactly their objects',
  })
  exactRate!: number | null;

  @Field(() => RunStatus, { description: 'run status when the event was read' })
  status!: RunStatus;

  @Field(() => String, { nullable: true, description: 'STATUS FAILED: why' })
  error!: string | null;
}
