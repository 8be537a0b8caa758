// The registry's GraphQL types: a registered name with its versions and aliases, an alias, and the alias history.
import { Field, ID, Int, ObjectType, UseMiddleware } from 'type-graphql';
import { KeyHoldersOnly } from '../shared/auth.ts';
import { PageInfo } from '../shared/pagination.ts';

@ObjectType({ description: '`name@alias`: a movable pointer at one version of a name (setModelAlias)' })
export class ModelAlias {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  alias!: string;

  @Field(() => Int, { description: 'the version it points at' })
  version!: number;

  @Field(() => ID)
  modelId!: string;

  @Field(() => Date, { description: 'when it was last set' })
  updatedAt!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'the API key that set it last (null: an open server); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  updatedByKey!: string | null;
}

@ObjectType({ description: 'One change of an alias, as recorded (append-only)' })
export class ModelAliasEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  alias!: string;

  @Field(() => Int, { nullable: true, description: 'the version it pointed at before (null: the alias was new)' })
  fromVersion!: number | null;

  @Field(() => Int, { nullable: true, description: 'the version it points at after (null: the alias was deleted)' })
  toVersion!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'the API key that made the change (null: an open server); null for callers without a key',
  })
  @UseMiddleware(KeyHoldersOnly)
  byKey!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: 'A model name with its versions (Model rows of that name) and aliases' })
export class RegisteredModel {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date, { description: 'when a model first took this name' })
  createdAt!: Date;
}

@ObjectType()
export class RegisteredModelEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => RegisteredModel)
  node!: RegisteredModel;
}

@ObjectType()
export class RegisteredModelConnection {
  @Field(() => [RegisteredModelEdge])
  edges!: RegisteredModelEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'names matching the filter, all pages' })
  totalCount!: number;
}

@ObjectType()
export class ModelAliasEventEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ModelAliasEvent)
  node!: ModelAliasEvent;
}

@ObjectType()
export class ModelAliasEventConnection {
  @Field(() => [ModelAliasEventEdge])
  edges!: ModelAliasEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'changes of the name’s aliases, all pages' })
  totalCount!: number;
}
