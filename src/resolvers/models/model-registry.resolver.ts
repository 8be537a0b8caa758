// The model registry over GraphQL: names with their versions, aliases (`name@alias`) set, moved and deleted with
// a recorded history, and a model looked up by reference. The writes are src/registry/aliases.ts; versions are
// assigned by the database (trigger model_version), whoever registers a model.
import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { deleteAlias, setAlias, type AliasChange } from '../../registry/aliases.ts';
import { aliasProblem, MAX_ALIASES_PER_NAME, MAX_VERSION } from '../../registry/model-ref.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { BadUserInputError, ConflictError, NotFoundError } from '../shared/api-errors.ts';
import { connection, DEFAULT_PAGE, MAX_NAME_FILTER, MAX_PAGE, NEWEST_FIRST, nameContains } from '../shared/pagination.ts';
import { checkRange } from '../shared/validate.ts';
import { checkModelName, findModel, findModelByRef } from './model.mapper.ts';
import { Model } from './model.type.ts';
import { loadAliasesOfName, loadLatestVersion, loadVersionCount } from './model-registry.batch.ts';
import { ModelAlias, ModelAliasEventConnection, RegisteredModel, RegisteredModelConnection } from './model-registry.type.ts';

function checkAlias(alias: string): string {
  const problem = aliasProblem(alias);
  if (problem) throw new BadUserInputError('alias', problem);
  return alias;
}

/** the alias as a setAlias or deleteAlias that changed it (or found it unchanged) reports it; NOT_FOUND otherwise */
function changed(change: AliasChange, name: string, alias: string, version?: number): ModelAlias {
  if (change.outcome === 'no-name') throw new NotFoundError('ModelName', name);
  if (change.outcome === 'no-version') throw new NotFoundError('Model', `${name}:${version}`);
  if (change.outcome === 'no-alias') throw new NotFoundError('ModelAlias', `${name}@${alias}`);
  if (change.outcome === 'too-many')
    throw new ConflictError(`${name} has ${MAX_ALIASES_PER_NAME} aliases, the most a name may have: delete one first`, {
      field: 'alias',
      limit: MAX_ALIASES_PER_NAME,
    });
  const { modelId, updatedAt, updatedByKey } = change;
  return { name, alias, version: (change.to ?? change.from)!, modelId, updatedAt, updatedByKey };
}

@Resolver(() => RegisteredModel)
export class ModelRegistryResolver {
  @Query(() => RegisteredModelConnection, {
    description:
      'model names that have at least one version, newest name first, cursor-paginated; each with its latest version and aliases',
  })
  modelNamesConnection(
    @Ctx() ctx: ApiContext,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
    @Arg('nameContains', () => String, {
      nullable: true,
      description: `only names containing this text, ignoring case (at most ${MAX_NAME_FILTER} characters; blank: all)`,
    })
    name?: string | null,
  ): Promise<RegisteredModelConnection> {
    const where = { ...nameContains('nameContains', name), models: { some: {} } };
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.modelName.findMany({ where: { AND: [where, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.modelName.count({ where }),
      ({ id, name, createdAt }) => ({ id, name, createdAt }),
    );
  }

  @Query(() => Model, {
    description:
      'The model a reference names now: "name@alias", "name:version" or a model id (read at request time, no cache). BAD_USER_INPUT: not a reference; NOT_FOUND: it names nothing',
  })
  async modelByRef(@Arg('ref', () => String) ref: string, @Ctx() ctx: ApiContext): Promise<Model> {
    return findModel(ctx, (await findModelByRef(ctx, 'ref', ref)).id);
  }

  @Query(() => ModelAliasEventConnection, {
    description: 'every change of the aliases of a name (set, moved, deleted), newest first, cursor-paginated. NOT_FOUND: no such name',
  })
  async modelAliasHistory(
    @Ctx() ctx: ApiContext,
    @Arg('name', () => String) name: string,
    @Arg('first', () => Int, { defaultValue: DEFAULT_PAGE, description: `page size, 1..${MAX_PAGE}` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string | null,
  ): Promise<ModelAliasEventConnection> {
    const checked = checkModelName('name', name);
    if ((await ctx.prisma.modelName.count({ where: { name: checked } })) === 0) throw new NotFoundError('ModelName', checked);
    return connection(
      first,
      after,
      (start, take) => ctx.prisma.modelAliasEvent.findMany({ where: { AND: [{ name: checked }, start] }, orderBy: NEWEST_FIRST, take }),
      () => ctx.prisma.modelAliasEvent.count({ where: { name: checked } }),
      (row) => row,
    );
  }

  @Mutation(() => ModelAlias, {
    description:
      'Point `name@alias` at a version of the name, creating or moving the alias; the next caption request through the alias, on every API process, uses that version. Recorded in modelAliasHistory (unless it already pointed there). The alias: a lower-case letter, then up to 31 of a-z, 0-9, _ and -. BAD_USER_INPUT: a bad name, alias or version; NOT_FOUND: no such name, or no such version under it; CONFLICT: the name has 20 aliases already (MAX_ALIASES_PER_NAME)',
  })
  async setModelAlias(
    @Arg('name', () => String) name: string,
    @Arg('alias', () => String) alias: string,
    @Arg('version', () => Int) version: number,
    @Ctx() ctx: ApiContext,
  ): Promise<ModelAlias> {
    const checked = {
      name: checkModelName('name', name),
      alias: checkAlias(alias),
      version: checkRange('version', version, 1, MAX_VERSION),
    };
    const change = await ctx.prisma.$transaction((tx) => setAlias(tx, { ...checked, byKey: ctx.caller.keyName }));
    return changed(change, checked.name, checked.alias, checked.version);
  }

  @Mutation(() => ModelAlias, {
    description:
      'Delete `name@alias` (recorded in modelAliasHistory); returns it as it was. BAD_USER_INPUT: a bad name or alias; NOT_FOUND: no such alias',
  })
  async deleteModelAlias(
    @Arg('name', () => String) name: string,
    @Arg('alias', () => String) alias: string,
    @Ctx() ctx: ApiContext,
  ): Promise<ModelAlias> {
    const checked = { name: checkModelName('name', name), alias: checkAlias(alias) };
    const change = await ctx.prisma.$transaction((tx) => deleteAlias(tx, { ...checked, byKey: ctx.caller.keyName }));
    // an unknown name is an unknown alias here
    return changed(change.outcome === 'no-name' ? { outcome: 'no-alias' } : change, checked.name, checked.alias);
  }

  @FieldResolver(() => Model, { nullable: true, description: 'its highest version (null: every version was deleted)' })
  latestVersion(@Root() registered: RegisteredModel, @Ctx() ctx: ApiContext): Promise<Model | null> {
    return loadLatestVersion(ctx, registered.name);
  }

  @FieldResolver(() => Int, { description: 'how many versions it has now' })
  versionCount(@Root() registered: RegisteredModel, @Ctx() ctx: ApiContext): Promise<number> {
    return loadVersionCount(ctx, registered.name);
  }

  @FieldResolver(() => [ModelAlias], { description: 'its aliases, by alias' })
  aliases(@Root() registered: RegisteredModel, @Ctx() ctx: ApiContext): Promise<ModelAlias[]> {
    return loadAliasesOfName(ctx, registered.name);
  }
}
