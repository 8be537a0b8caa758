import { Field, Float, ID, InputType, Int } from 'type-graphql';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { DecodeMethod } from './enums.ts';
import { GraphQLUpload } from './upload.scalar.ts';

@InputType({ description: 'Exactly one of `image` (multipart upload) and `imageBase64` must be given' })
export class RequestCaptionInput {
  @Field(() => ID)
  modelId!: string;

  @Field(() => GraphQLUpload, { nullable: true, description: 'JPEG, PNG or WebP as a GraphQL multipart upload' })
  image?: Promise<FileUpload> | null;

  @Field(() => String, { nullable: true, description: 'JPEG, PNG or WebP bytes in base64 (a data: URL prefix is allowed)' })
  imageBase64?: string | null;

  @Field(() => DecodeMethod, { nullable: true, description: 'default GREEDY' })
  method?: DecodeMethod | null;

  @Field(() => Int, { nullable: true, description: 'BEAM only: beams kept, 1..20, default 3' })
  beamWidth?: number | null;

  @Field(() => Int, { nullable: true, description: 'cap on tokens, 2..100; default: the model’s' })
  maxLength?: number | null;

  @Field(() => Float, { nullable: true, description: 'SAMPLE only: softmax temperature, > 0 and ≤ 10, default 1' })
  temperature?: number | null;
}
