// How many mutation fields an operation will execute, counted the way graphql-js's executor counts
// them: its own collectFields over the Mutation type, so inline fragments (`... on Mutation { … }`),
// named fragments, aliases (each response key runs once) and @skip/@include are all taken into
// account. Counting `operation.selectionSet.selections` instead let one fragment carry any number of
// mutations for one point (issue 20, finding 1).
import {
  getVariableValues,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
// the executor's own field collection (internal to graphql-js 16, pinned); the `.js` path keeps one copy of
// graphql-js under Vite too (a bare subpath resolves to the ESM `.mjs` build, a second realm)
import { collectFields } from 'graphql/execution/collectFields.js';

/**
 * The root fields `operation` executes with `variables`, each once however many aliases name it (the scope
 * check, ./guard.ts), `__typename` & co. left out; none for variables that do not coerce (graphql-js then
 * executes nothing).
 */
export function executedRootFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): { fields: Set<string>; responseKeys: number } {
  const rootType = schema.getRootType(operation.operation);
  const none = { fields: new Set<string>(), responseKeys: 0 };
  if (!rootType) return none;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return none;
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const collected = collectFields(schema, fragments, coerced.coerced, rootType, operation.selectionSet);
  const fields = new Set<string>();
  let responseKeys = 0;
  for (const nodes of collected.values()) {
    const name = nodes[0]!.name.value;
    if (name.startsWith('__')) continue;
    fields.add(name);
    responseKeys++;
  }
  return { fields, responseKeys };
}

/**
 * The top-level mutation fields `operation` executes with `variables`: 0 for a query or subscription, and
 * for variables that do not coerce (graphql-js then executes nothing). `__typename` is not a mutation.
 */
export function executedMutationFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): number {
  if (operation.operation !== 'mutation') return 0;
  return executedRootFields(schema, document, operation, variables).responseKeys;
}
