// GraphQL types of the managed API keys (src/keys). The secret appears in exactly one place, CreatedApiKey,
// the answer to createApiKey; nothing else can read it, and the stored hash is never exposed.
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SCOPE_DOCS, type Scope } from '../../keys/scopes.ts';
import { MAX_KEY_MUTATIONS_PER_MINUTE, MAX_KEY_NAME } from '../../keys/store.ts';
import { PageInfo } from '../shared/pagination.ts';

/** GraphQL's names for the scopes; the values are the stored ones */
export enum ApiKeyScope {
  READ = 'read',
  CAPTION = 'caption',
  TRAIN = 'train',
  ADMIN = 'admin',
}

registerEnumType(ApiKeyScope, {
  name: 'ApiKeyScope',
  description: 'what a key may do; ADMIN implies the others',
  valuesConfig: {
    READ: { description: SCOPE_DOCS.read },
    CAPTION: { description: SCOPE_DOCS.caption },
    TRAIN: { description: SCOPE_DOCS.train },
    ADMIN: { description: SCOPE_DOCS.admin },
  },
});

@ObjectType({ description: 'A managed API key: never its secret (shown once, by createApiKey) nor its hash' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'the first characters of the secret (`glk_` + 8), to tell keys apart' })
  prefix!: string;

  @Field(() => [ApiKeyScope])
  scopes!: Scope[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { description: 'the admin key that created it, or `cli:<user>`' })
  createdBy!: string;

  @Field(() => Date, { nullable: true, description: 'null while the key is valid' })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'last request with the key (recorded at most once a minute per API process)' })
  lastUsedAt!: Date | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'its own mutation budget per minute (0 = unlimited); null: the server default, GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY. Set by createApiKey or setApiKeyBudget',
  })
  mutationsPerMinute!: number | null;
}

@ObjectType({ description: 'A new key and its secret. The secret is shown this once: store it now' })
export class CreatedApiKey {
  @Field(() => ApiKey)
  key!: ApiKey;

  @Field(() => String, { description: 'send as "Authorization: Bearer <secret>"; only its sha256 is stored' })
  secret!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: `1 to ${MAX_KEY_NAME} letters, digits, ".", "_" or "-"; unique (revoked keys keep theirs)` })
  name!: string;

  @Field(() => [ApiKeyScope], { description: 'at least one' })
  scopes!: ApiKeyScope[];

  @Field(() => Int, {
    nullable: true,
    description: `its own mutation budget per minute, 0 (unlimited) to ${MAX_KEY_MUTATIONS_PER_MINUTE}; absent or null: the server default (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY)`,
  })
  mutationsPerMinute?: number | null;
}

@ObjectType()
export class ApiKeyEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ApiKey)
  node!: ApiKey;
}

@ObjectType()
export class ApiKeyConnection {
  @Field(() => [ApiKeyEdge])
  edges!: ApiKeyEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'keys matching the filter, all pages' })
  totalCount!: number;
}
