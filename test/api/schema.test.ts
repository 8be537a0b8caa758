import { readFileSync } from 'node:fs';
import type { GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildApiSchema, schemaToSDL } from '../../src/resolvers/schema.ts';

describe('schema.graphql', () => {
  it('matches the schema built from the resolvers (run `npm run schema:emit` after API changes)', async () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(schemaToSDL(await buildApiSchema()));
  });

  it('holds the contract operations of issue 3', async () => {
    const schema = await buildApiSchema();
    const fields = (type: GraphQLObjectType | null | undefined) => Object.keys(type!.getFields());
    expect(fields(schema.getMutationType())).toEqual(
      expect.arrayContaining(['startTraining', 'cancelTraining', 'resumeTraining', 'createDataset', 'requestCaption']),
    );
    expect(fields(schema.getQueryType())).toEqual(
      expect.arrayContaining(['datasets', 'trainingRuns', 'trainingRun', 'models', 'model', 'captionRequest', 'serverInfo']),
    );
    expect(fields(schema.getSubscriptionType()).sort()).toEqual(
      ['bulkCaptionProgress', 'captionStream', 'evaluationProgress', 'trainingProgress'].sort(),
    );
  });
});
