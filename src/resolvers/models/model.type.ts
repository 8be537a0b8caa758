import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly, RedactServerPaths } from '../shared/auth.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: 'A trained captioning model, usable by requestCaption' })
export class Model {
  @Field(() => ID)
  id!: string;

  @Field(() => String, {
    description:
      'the registered name its versions share (startTraining modelName; renameModel moves it to another name, as that name’s next version)',
  })
  name!: string;

  @Field(() => Int, {
    description: 'its version under `name`: 1, 2, … in order of registration, never reused; refer to it as "name:version"',
  })
  version!: number;

  @Field(() => ID, { nullable: true, description: 'the training run that produced it' })
  runId!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'artifact directory on the server (weights, vocab, config, metrics); null for callers without an API key when keys are set',
  })
  @UseMiddleware(KeyHoldersOnly)
  path!: string | null;

  @Field(() => Int, {
    description:
      "the model's vocabulary in tokens: the dataset's most frequent words up to the run's vocabSize, plus the special tokens <pad>, <start>, <end>, <unk>",
  })
  vocabSize!: number;

  @Field(() => GraphQLJSONObject, {
    description: 'model configuration (encoder, sizes); server paths in it read null for callers without an API key when keys are set',
  })
  @UseMiddleware(RedactServerPaths)
  config!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'evaluation metrics, e.g. {bleu4, valLoss}' })
  metrics!: Record<string, unknown> | null;

  @Field(() => String, {
    nullable: true,
    description:
      'name of the API key that created it (null: created before keys, on an open server or by the CLI); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  createdByKey!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  /** the model folder's blob in the artifact store (not a field: Model.webFiles derives its URL from it) */
  blobId?: string | null;
  /** its backbone's blob (not a field: Model.webFiles is null for a backbone model without one) */
  backboneBlobId?: string | null;
}

@ObjectType({ description: "A model's files for captioning in the browser, at URLs that never change (content-hashed)" })
export class ModelWebFiles {
  @Field(() => String, {
    description:
      'the URL path of model.json on this server (its weight shards and vocabulary beside it, and for a backbone model its backbone\'s files under the relative URL its encoder names); fetch with the header "Authorization: Bearer <key>" when reads need a key',
  })
  modelJson!: string;

  @Field(() => String, {
    description:
      'the URL path of a zip of a static web page that captions with this model in the browser, no server needed (the files of `glimpse model export <id> --web DIR`); same header',
  })
  exportZip!: string;
}

@ObjectType()
export class ModelEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Model)
  node!: Model;
}

@ObjectType()
export class ModelConnection {
  @Field(() => [ModelEdge])
  edges!: ModelEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'models matching the filter, all pages' })
  totalCount!: number;
}
