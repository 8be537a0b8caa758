import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A job queue and its operator state (pauseQueue / resumeQueue)' })
export class JobQueueState {
  @Field(() => String, { description: 'training, caption, dataset, bulk-caption' })
  name!: string;

  @Field(() => Boolean, { description: 'workers take none of its jobs; they stay queued and run once it is resumed' })
  paused!: boolean;

  @Field(() => Int, { description: 'jobs waiting to be taken (live rows only)' })
  depth!: number;

  @Field(() => Date, { nullable: true, description: 'when it was last paused or resumed; null: never' })
  changedAt!: Date | null;
}
