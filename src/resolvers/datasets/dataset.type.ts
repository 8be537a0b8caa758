import { Field, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';
import { DatasetKind, DatasetStatus } from '../shared/enums.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: 'A captioned image collection: COCO-format files or a generated synthetic set' })
export class Dataset {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DatasetKind)
  kind!: DatasetKind;

  @Field(() => DatasetStatus, { description: 'PENDING until a worker has generated/indexed it; training needs READY' })
  status!: DatasetStatus;

  @Field(() => Int, { description: 'READY: the images of the set; PENDING synthetic: the images generated so far (of syntheticImages)' })
  imageCount!: number;

  @Field(() => Int)
  captionCount!: number;

  @Field(() => Int, { nullable: true, description: 'distinct words of the captions (READY sets): the largest vocabulary a run can have' })
  vocabularyWords!: number | null;

  @Field(() => Int, { nullable: true, description: 'longest caption in tokens, <start> and <end> included (READY sets)' })
  maxCaptionTokens!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "smallest side of the images in pixels (READY sets, sampled): the CNN's default input size follows it",
  })
  imageSide!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'COCO captions JSON (for synthetic sets: the generated one); null for callers without an API key when keys are set',
  })
  @UseMiddleware(KeyHoldersOnly)
  annotationsPath!: string | null;

  @Field(() => String, { nullable: true, description: 'image folder on the server; null for callers without an API key when keys are set' })
  @UseMiddleware(KeyHoldersOnly)
  imagesDir!: string | null;

  @Field(() => Int, { nullable: true })
  maxCaptions!: number | null;

  @Field(() => Int, { nullable: true })
  syntheticImages!: number | null;

  @Field(() => Int, { nullable: true })
  syntheticSeed!: number | null;

  @Field(() => String, { nullable: true, description: 'why the dataset FAILED' })
  error!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'name of the API key that created it (null: created before keys, on an open server or by the CLI); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class DatasetEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Dataset)
  node!: Dataset;
}

@ObjectType()
export class DatasetConnection {
  @Field(() => [DatasetEdge])
  edges!: DatasetEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'datasets matching the filter, all pages' })
  totalCount!: number;
}
