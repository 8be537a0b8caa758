// API keys over GraphQL, for `admin` keys (src/resolvers/shared/field-scopes.ts): list, create (the answer
// carries the secret, once), revoke, set a key's own mutation budget. The CLI does the same with `glimpse keys` (src/cli/commands/keys.ts).
import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import {
  createKey,
  KEY_INFO,
  KeyError,
  type ApiKeyInfo,
  MAX_KEY_MUTATIONS_PER_MINUTE,
  revokeKey,
  setKeyBudget,
  toKeyInfo,
} from '../../keys/store.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { connection, DEFAULT_PAGE, MAX_PAGE, NEWEST_FIRST } from '../shared/pagination.ts';
import { ApiKey, ApiKeyConnection, CreateApiKeyInput, CreatedApiKey } from './api-key.type.ts';

/** the store's refusals as the API's typed errors */
function apiError(error: unknown, name: string, budgetField = 'input.mutationsPerMinute'): unknown {
  if (!(error instanceof KeyError)) return error;
  if (error.code === 'INVALID_NAME') return new BadUserInputError('input.name', error.message);
  if (error.code === 'INVALID_BUDGET') return new BadUserInputError(budgetField, error.message);
  if (error.code === 'NAME_TAKEN') return new ConflictError(error.message, { field: 'input.name' });
  return new NotFoundError('ApiKey', name);
}

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection, { description: 'API keys, newest first, cursor-paginated (admin)' })
  apiKeys(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('revoked', () => Boolean, { nullable: true, description: 'true: only revoked keys; false: only valid ones; absent: all' })
    revoked?: boolean | null,
  ): Promise<ApiKeyConnection> {
    const where = revoked == null ? {} : { revokedAt: revoked ? { not: null } : null };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.apiKey.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take, select: KEY_INFO }),
      () => ctx.prisma.apiKey.count({ where }),
      (row): ApiKeyInfo => toKeyInfo(row),
    );
  }

  @Mutation(() => CreatedApiKey, {
    description:
      'Create a key (admin). The answer holds its secret, shown this once. BAD_USER_INPUT: a bad name, no scope or a budget out of bounds; CONFLICT: the name is taken',
  })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: ApiContext): Promise<CreatedApiKey> {
    if (input.scopes.length === 0) throw new BadUserInputError('input.scopes', 'give at least one scope');
    try {
      const created = await createKey(ctx.prisma, {
        name: input.name,
        scopes: [...new Set(input.scopes)],
        createdBy: ctx.caller.keyName ?? 'anonymous (no key configured)',
        mutationsPerMinute: input.mutationsPerMinute,
      });
      const { name, scopes, mutationsPerMinute } = created.key;
      ctx.log.info({ apiKey: name, scopes, mutationsPerMinute }, 'API key created');
      return created;
    } catch (error) {
      throw apiError(error, input.name);
    }
  }

  @Mutation(() => ApiKey, {
    description:
      'Revoke a key by name (admin): every API process refuses it within seconds (GLIMPSE_API_KEY_CACHE_SECONDS at most). Revoking a revoked key changes nothing. NOT_FOUND: no such key',
  })
  async revokeApiKey(@Arg('name', () => String) name: string, @Ctx() ctx: ApiContext): Promise<ApiKeyInfo> {
    try {
      const key = await revokeKey(ctx.prisma, name);
      ctx.log.info({ apiKey: key.name }, 'API key revoked');
      return key;
    } catch (error) {
      throw apiError(error, name);
    }
  }

  @Mutation(() => ApiKey, {
    description:
      "Set a key's own mutation budget per minute (admin): 0 = unlimited, null = the server default (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY). Every API process applies it within seconds (GLIMPSE_API_KEY_CACHE_SECONDS at most). BAD_USER_INPUT: out of bounds; NOT_FOUND: no such key",
  })
  async setApiKeyBudget(
    @Arg('name', () => String) name: string,
    @Arg('mutationsPerMinute', () => Int, {
      nullable: true,
      description: `0 (unlimited) to ${MAX_KEY_MUTATIONS_PER_MINUTE}; null: the default`,
    })
    mutationsPerMinute: number | null,
    @Ctx() ctx: ApiContext,
  ): Promise<ApiKeyInfo> {
    try {
      const key = await setKeyBudget(ctx.prisma, name, mutationsPerMinute ?? null);
      ctx.log.info({ apiKey: key.name, mutationsPerMinute: key.mutationsPerMinute }, 'API key budget set');
      return key;
    } catch (error) {
      throw apiError(error, name, 'mutationsPerMinute');
    }
  }
}
