import { Arg, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { ApiContext } from '../shared/api-context.ts';
import { trainingProgressStream } from './training-progress.stream.ts';
import { TrainingProgressEvent } from './training-progress.type.ts';

interface TrainingProgressArgs {
  runId: string;
  sinceStep?: number | null;
}

@Resolver()
export class TrainingProgressResolver {
  @Subscription(() => TrainingProgressEvent, {
    description:
      'Stored history after sinceStep, then live events: BATCH per batch, EPOCH per epoch, STATUS on changes. ' +
      'Completes after the terminal STATUS (SUCCEEDED, FAILED, CANCELLED). NOT_FOUND for an unknown run.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, TrainingProgressArgs, ApiContext>) =>
      trainingProgressStream(context, args.runId, args.sinceStep ?? 0),
  })
  trainingProgress(
    @Root() event: TrainingProgressEvent | Error,
    @Arg('runId', () => ID) _runId: string,
    @Arg('sinceStep', () => Int, { nullable: true, description: 'replay only steps after this one (default 0: all)' })
    _sinceStep?: number | null,
  ): TrainingProgressEvent {
    if (event instanceof Error) throw event;
    return event;
  }
}
