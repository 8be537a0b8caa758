import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';
import { GraphQLJSONObject } from 'graphql-scalars';
import { CaptionStatus, DecodeMethod } from '../shared/enums.ts';

@ObjectType({ description: 'One decoded token with where the model looked' })
export class CaptionToken {
  @Field(() => Int)
  index!: number;

  @Field(() => String)
  token!: string;

  @Field(() => [Float], { description: 'one weight per grid cell, row-major (gridSize² values summing to 1)' })
  attention!: number[];

  @Field(() => Float)
  logProb!: number;
}

@ObjectType()
export class CaptionRequest {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => CaptionStatus)
  status!: CaptionStatus;

  @Field(() => DecodeMethod)
  method!: DecodeMethod;

  @Field(() => Int)
  beamWidth!: number;

  @Field(() => Int, { nullable: true })
  maxLength!: number | null;

  @Field(() => Float)
  temperature!: number;

  @Field(() => String, { description: 'sha256 (hex) of the image bytes' })
  imageHash!: string;

  @Field(() => String, { nullable: true, description: 'sniffed from the bytes' })
  mimeType!: string | null;

  @Field(() => String, { nullable: true })
  caption!: string | null;

  @Field(() => Int, { nullable: true, description: 'cells per side of the attention grid' })
  gridSize!: number | null;

  @Field(() => String, { nullable: true, description: 'why the request FAILED' })
  error!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'e.g. {queueMs, decodeMs, batchSize}' })
  timings!: Record<string, unknown> | null;

  @Field(() => String, {
    nullable: true,
    description:
      'name of the API key that created it (null: created before keys, on an open server or by the CLI); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType({ description: 'A token of captionStream, or (done = true) the final caption' })
export class CaptionStreamEvent {
  @Field(() => Int, { description: 'token index; on the done event: the number of tokens' })
  index!: number;

  @Field(() => String, { nullable: true })
  token!: string | null;

  @Field(() => [Float], { nullable: true, description: 'gridSize² weights summing to 1' })
  attention!: number[] | null;

  @Field(() => Int, { nullable: true })
  gridSize!: number | null;

  @Field(() => Float, { nullable: true })
  logProb!: number | null;

  @Field(() => Boolean)
  done!: boolean;

  @Field(() => String, { nullable: true, description: 'the final caption (done event only)' })
  caption!: string | null;
}
