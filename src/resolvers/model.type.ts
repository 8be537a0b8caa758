import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A trained captioning model, usable by requestCaption' })
export class Model {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ID, { nullable: true, description: 'the training run that produced it' })
  runId!: string | null;

  @Field(() => String, { description: 'artifact directory on the server (weights, vocab, config, metrics)' })
  path!: string;

  @Field(() => Int)
  vocabSize!: number;

  @Field(() => GraphQLJSONObject, { description: 'model configuration (encoder, sizes)' })
  config!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'evaluation metrics, e.g. {bleu4, valLoss}' })
  metrics!: Record<string, unknown> | null;

  @Field(() => Date)
  createdAt!: Date;
}
