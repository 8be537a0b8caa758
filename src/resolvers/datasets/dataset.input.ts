import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { Field, InputType, Int } from 'type-graphql';
import { GraphQLUpload } from '../shared/upload.scalar.ts';

export const DATASET_NAME_MAX = 100;

@InputType({ description: 'Generate a synthetic set of shapes with captions (no files needed)' })
export class SyntheticDatasetInput {
  @Field(() => Int, { description: 'number of images, 1..GLIMPSE_MAX_SYNTHETIC_IMAGES (default 20000)' })
  images!: number;

  @Field(() => Int, { nullable: true, description: 'generation seed (default 1)' })
  seed?: number | null;
}

@InputType({
  description:
    'A COCO-format captions file and its image folder, as absolute paths on the server under the dataset roots (GLIMPSE_DATASET_ROOTS)',
})
export class CocoDatasetInput {
  @Field(() => String)
  annotationsPath!: string;

  @Field(() => String)
  imagesDir!: string;

  @Field(() => Int, { nullable: true, description: 'use at most this many captions' })
  maxCaptions?: number | null;
}

@InputType({ description: 'Exactly one of `synthetic`, `coco` and `archive` must be given' })
export class CreateDatasetInput {
  @Field(() => String)
  name!: string;

  @Field(() => SyntheticDatasetInput, { nullable: true })
  synthetic?: SyntheticDatasetInput | null;

  @Field(() => CocoDatasetInput, { nullable: true })
  coco?: CocoDatasetInput | null;

  @Field(() => GraphQLUpload, {
    nullable: true,
    description:
      'A zip (GraphQL multipart upload, at most GLIMPSE_MAX_DATASET_UPLOAD_BYTES) holding one COCO captions .json and its JPEG/PNG images (file_name beside the JSON or under images/ beside it); checked, then stored in the database so every worker can use it',
  })
  archive?: Promise<FileUpload> | null;
}
