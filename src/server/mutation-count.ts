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
 * The top-level mutation fields `operation` executes with `variables`: 0 for a query or subscription, and
 * for variables that do not coerce (graphql-js then executes nothing). `__typename` is not a mutation.
 */
export function executedMutationFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): number {
  const mutationType = schema.getMutationType();
  if (operation.operation !== 'mutation' || !mutationType) return 0;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return 0;
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const fields = collectFields(schema, fragments, coerced.coerced, mutationType, operation.selectionSet);
  let count = 0;
  for (const nodes of fields.values()) if (!nodes[0]!.name.value.startsWith('__')) count++;
  return count;
}
