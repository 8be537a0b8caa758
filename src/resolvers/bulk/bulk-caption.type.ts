import { Field, Float, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';
import { BulkCaptionStatus, DecodeMethod, JobPriority } from '../shared/enums.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: 'Every image of a dataset captioned by one model as one job (captionDataset)' })
export class BulkCaptionJob {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  modelId!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field(() => BulkCaptionStatus, { description: 'QUEUED also between time slices of a long job (done > 0)' })
  status!: BulkCaptionStatus;

  @Field(() => DecodeMethod)
  method!: DecodeMethod;

  @Field(() => Int)
  beamWidth!: number;

  @Field(() => Int, { nullable: true, description: "most tokens per caption; null: the model's" })
  maxLength!: number | null;

  @Field(() => JobPriority)
  priority!: JobPriority;

  @Field(() => Int, { description: "images to caption: the dataset's image count, exact once a worker has read the set" })
  total!: number;

  @Field(() => Int, { description: 'images with a result (captioned or failed)' })
  done!: number;

  @Field(() => Int, { description: 'images that could not be read (their result has an error)' })
  failed!: number;

  @Field(() => Boolean)
  cancelRequested!: boolean;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'the worker working it now' })
  workerId!: string | null;

  @Field(() => String, { nullable: true, description: 'name of the API key that started it; null for callers without a key' })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  @Field(() => String, { description: 'the COCO-style results JSON ([{"image_id", "caption"}]), same auth as queries' })
  resultsUrl!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

@ObjectType({ description: "One image's caption (no attention weights: a caption request keeps those)" })
export class BulkCaptionResult {
  @Field(() => Int, { description: "the image's position in the dataset's image order" })
  index!: number;

  @Field(() => String, { description: "the dataset's image id (COCO image_id)" })
  imageId!: string;

  @Field(() => String, { description: "the image's file, relative to the dataset's images folder" })
  fileName!: string;

  @Field(() => String, { nullable: true, description: 'null when the image could not be read (see error)' })
  caption!: string | null;

  @Field(() => Float, { nullable: true, description: "sum of the chosen tokens' log-probabilities" })
  logProb!: number | null;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType()
export class BulkCaptionJobEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => BulkCaptionJob)
  node!: BulkCaptionJob;
}

@ObjectType()
export class BulkCaptionJobConnection {
  @Field(() => [BulkCaptionJobEdge])
  edges!: BulkCaptionJobEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'jobs, all pages' })
  totalCount!: number;
}

@ObjectType()
export class BulkCaptionResultEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => BulkCaptionResult)
  node!: BulkCaptionResult;
}

@ObjectType()
export class BulkCaptionResultConnection {
  @Field(() => [BulkCaptionResultEdge])
  edges!: BulkCaptionResultEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'results stored so far, all pages' })
  totalCount!: number;
}
