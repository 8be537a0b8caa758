// The executable schema, built from the resolver classes (code first), and its committed SDL form.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import { BulkCaptionResolver } from './bulk/bulk-caption.resolver.ts';
import { CaptionResolver } from './captions/caption.resolver.ts';
import { DatasetResolver } from './datasets/dataset.resolver.ts';
import { EvaluationResolver } from './evaluations/evaluation.resolver.ts';
import { ModelEvaluationsResolver } from './evaluations/model-evaluations.resolver.ts';
import { ApiKeyResolver } from './keys/api-key.resolver.ts';
import { ModelResolver } from './models/model.resolver.ts';
import { ModelRegistryResolver } from './models/model-registry.resolver.ts';
import { QueueResolver } from './queues/queue.resolver.ts';
import { ServerInfoResolver } from './server/server-info.resolver.ts';
import { TrainingProgressResolver } from './training/training-progress.resolver.ts';
import { TrainingRunResolver } from './training/training-run.resolver.ts';

export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      DatasetResolver,
      TrainingRunResolver,
      TrainingProgressResolver,
      ModelResolver,
      EvaluationResolver,
      ModelEvaluationsResolver,
      ModelRegistryResolver,
      CaptionResolver,
      ServerInfoResolver,
      ApiKeyResolver,
      BulkCaptionResolver,
      QueueResolver,
    ],
    validate: false,
    // type-graphql insists on a pubSub when subscriptions exist; ours bring their own `subscribe`
    // (database replay + LISTEN/NOTIFY wake-ups), so nothing is ever published to this one
    pubSub: createPubSub(),
  });
}

const HEADER = '# Generated from src/resolvers by `npm run schema:emit`; do not edit.\n\n';

/** The SDL committed as schema.graphql (sorted, so it changes only when the API does). */
export function schemaToSDL(schema: GraphQLSchema): string {
  return `${HEADER + printSchema(lexicographicSortSchema(schema))}\n`;
}
