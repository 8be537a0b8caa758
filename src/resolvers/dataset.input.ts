import { Field, InputType, Int } from 'type-graphql';

export const SYNTHETIC_MAX_IMAGES = 100_000;
export const DATASET_NAME_MAX = 100;

@InputType({ description: 'Generate a synthetic set of shapes with captions (no files needed)' })
export class SyntheticDatasetInput {
  @Field(() => Int, { description: `number of images, 1..${SYNTHETIC_MAX_IMAGES}` })
  images!: number;

  @Field(() => Int, { nullable: true, description: 'generation seed (default 1)' })
  seed?: number | null;
}

@InputType({ description: 'A COCO-format captions file and its image folder, as paths on the server' })
export class CocoDatasetInput {
  @Field(() => String)
  annotationsPath!: string;

  @Field(() => String)
  imagesDir!: string;

  @Field(() => Int, { nullable: true, description: 'use at most this many captions' })
  maxCaptions?: number | null;
}

@InputType({ description: 'Exactly one of `synthetic` and `coco` must be given' })
export class CreateDatasetInput {
  @Field(() => String)
  name!: string;

  @Field(() => SyntheticDatasetInput, { nullable: true })
  synthetic?: SyntheticDatasetInput | null;

  @Field(() => CocoDatasetInput, { nullable: true })
  coco?: CocoDatasetInput | null;
}
