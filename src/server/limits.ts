// Per-request GraphQL limits, the same for HTTP (Apollo) and graphql-ws, cheapest first:
//   1. query text length, checked before anything is parsed (a 6 MB document is refused without lexing it);
//   2. lexical tokens: graphql-js's own `maxTokens` parse option aborts at the first token over the limit,
//      so no AST bigger than the limit is ever built;
//   3. validation rules from GraphQL Armor (depth, aliases, directives), run with graphql-js's own rules;
//   4. an estimated cost per operation (graphql-query-complexity), lists priced by their size arguments.
// Every rejection is a GraphQLError with a specific `extensions.code` (and the limit in `extensions.limit`).
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isLeafType,
  isListType,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../config/index.ts';
import type { DocumentCache } from './document-cache.ts';

export type LimitCode = 'QUERY_TOO_LARGE' | 'QUERY_TOO_DEEP' | 'TOO_MANY_ALIASES' | 'TOO_MANY_DIRECTIVES' | 'QUERY_TOO_COSTLY';

export function limitError(code: LimitCode, message: string, limit: number, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, limit, ...extra } });
}

/** Step 1: refuses an over-long query text (or a non-string one) before it is parsed. */
export function checkQueryText(query: unknown, limits: QueryLimits): GraphQLError | undefined {
  if (typeof query !== 'string') return undefined; // the GraphQL server reports a missing query itself
  if (query.length <= limits.maxLength) return undefined;
  return limitError(
    'QUERY_TOO_LARGE',
    `the query text is ${query.length} characters, over the limit of ${limits.maxLength} (GLIMPSE_MAX_QUERY_LENGTH); pass large values such as images as variables`,
    limits.maxLength,
  );
}

/**
 * Step 2: graphql-js stops lexing at the first token over `maxTokens` ("Syntax Error: Document contains more
 * than N tokens"); both servers report it as a parse failure (GRAPHQL_PARSE_FAILED).
 */
export function parseOptions(limits: QueryLimits): ParseOptions {
  return { maxTokens: limits.maxTokens };
}

/** An Armor rule's rejection reported as a coded validation error instead of thrown out of validate(). */
function reporting(code: LimitCode, limit: number) {
  return {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(limitError(code, error.message.replace(/^Syntax Error: /, ''), limit)),
    ],
  };
}

/** Step 3: validation rules added to graphql-js's specified rules (introspection's own depth is not counted). */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, ignoreIntrospection: true, ...reporting('QUERY_TOO_DEEP', limits.maxDepth) }),
    maxAliasesRule({ n: limits.maxAliases, ...reporting('TOO_MANY_ALIASES', limits.maxAliases) }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reporting('TOO_MANY_DIRECTIVES', limits.maxDirectives) }),
  ] as ValidationRule[];
}

/** Arguments that bound how many items a field returns (the largest given one counts). */
const SIZE_ARGUMENTS = ['first', 'last', 'limit', 'maxPoints'];
/** Items assumed for a list without a size argument (all datasets, a run's checkpoints, …). */
export const UNBOUNDED_LIST_SIZE = 100;
/** Lists whose size a parent field already priced: a connection's edges are `first` of them. */
const PRICED_BY_PARENT = new Set([
  'TrainingRunConnection.edges',
  'ModelConnection.edges',
  'DatasetConnection.edges',
  'RegisteredModelConnection.edges',
  'ModelAliasEventConnection.edges',
]);

/**
 * Cost ≈ rows the server reads and returns: 1 per object (scalars are part of their row), times the list's
 * size for lists of objects, taken from its size argument (`first`, `maxPoints`, …) or UNBOUNDED_LIST_SIZE.
 * A non-list field with a size argument (a connection) multiplies what is under it.
 */
const rowEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  // introspection (the IDE's schema query) reads the schema in memory, not rows
  if (field.name.startsWith('__') || type.name.startsWith('__')) return 0;
  const sizes = SIZE_ARGUMENTS.map((name) => args[name]).filter((v): v is number => typeof v === 'number' && v >= 0);
  const size = sizes.length > 0 ? Math.max(...sizes) : undefined;
  const leaf = isLeafType(getNamedType(field.type));
  if (leaf) return 0;
  if (!isListType(getNullableType(field.type))) return 1 + (size ?? 1) * childComplexity;
  const items = PRICED_BY_PARENT.has(`${type.name}.${field.name}`) ? 1 : (size ?? UNBOUNDED_LIST_SIZE);
  return items * (1 + childComplexity);
};

/** Step 4: the operation's estimated cost. */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName?: string | null,
): number {
  return getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    ...(operationName ? { operationName } : {}),
    estimators: [rowEstimator],
  });
}

/** Step 4 as a check: QUERY_TOO_COSTLY with the estimate and the budget. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
  limits: QueryLimits,
): GraphQLError | undefined {
  let cost: number;
  try {
    cost = operationCost(schema, document, variables, operationName);
  } catch {
    return undefined; // e.g. bad variables: execution reports those with their own typed error
  }
  if (cost <= limits.maxCost) return undefined;
  return limitError(
    'QUERY_TOO_COSTLY',
    `the query's estimated cost is ${cost}, over the budget of ${limits.maxCost} (GLIMPSE_MAX_QUERY_COST): ask for fewer items (first, maxPoints) or fewer fields`,
    limits.maxCost,
    { cost },
  );
}

const LIMIT_CODES = new Set<string>(['QUERY_TOO_LARGE', 'QUERY_TOO_DEEP', 'TOO_MANY_ALIASES', 'TOO_MANY_DIRECTIVES', 'QUERY_TOO_COSTLY']);

/**
 * Apollo reports every validation error as GRAPHQL_VALIDATION_FAILED; for the limit rules' errors (kept as
 * the original error) this puts their own code back, so HTTP and graphql-ws clients see the same codes.
 */
export function restoreLimitCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (!(original instanceof GraphQLError)) return formatted;
  const code = original.extensions.code;
  if (typeof code !== 'string' || !LIMIT_CODES.has(code)) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, ...original.extensions } };
}

/**
 * Steps 1–3 on their own, before the full validation: graphql-js's specified rules cost time in proportion to
 * the document (hundreds of ms for 1,000 aliases), so the cheap limit rules run first and alone. Returns the
 * parsed document, or the limit errors; a document that does not parse is left to the server's own parse
 * (same error either way). With `passed`, a text that passed before is answered from it (./document-cache.ts).
 */
export function precheck(
  schema: GraphQLSchema,
  query: unknown,
  limits: QueryLimits,
  rules: readonly ValidationRule[] = limitRules(limits),
  passed?: DocumentCache,
): { document?: DocumentNode; errors?: readonly GraphQLError[] } {
  const tooLarge = checkQueryText(query, limits);
  if (tooLarge) return { errors: [tooLarge] };
  if (typeof query !== 'string') return {};
  // a text that passed the limits before passes them again (the rules and schema are fixed)
  const known = passed?.get(query);
  if (known) return { document: known };
  let document: DocumentNode;
  try {
    document = parse(query, parseOptions(limits));
  } catch {
    return {};
  }
  const errors = validate(schema, document, rules);
  if (errors.length > 0) return { document, errors };
  passed?.add(query, document);
  return { document };
}
