// THE scope table: every Query, Mutation and Subscription field and the scope a key needs for it (`admin`
// implies every scope). src/server/guard.ts checks an operation's root fields against it before anything
// executes; a field missing here needs `admin` (closed by default), and test/api/key-scopes.test.ts fails
// until it is added. docs/security.md shows the same table.
import type { Scope } from '../../keys/scopes.ts';

export type RootType = 'query' | 'mutation' | 'subscription';

export const FIELD_SCOPES: Readonly<Record<RootType, Readonly<Record<string, Scope>>>> = {
  query: {
    captionRequest: 'read',
    dataset: 'read',
    evaluation: 'read',
    evaluationsConnection: 'read',
    datasets: 'read',
    datasetsConnection: 'read',
    model: 'read',
    models: 'read',
    modelsConnection: 'read',
    modelNamesConnection: 'read',
    modelByRef: 'read',
    modelAliasHistory: 'read',
    serverInfo: 'read',
    trainingRun: 'read',
    trainingRuns: 'read',
    apiKeys: 'admin',
    bulkCaptionJob: 'read',
    bulkCaptionJobsConnection: 'read',
    bulkCaptionResults: 'read',
    queues: 'read',
  },
  mutation: {
    requestCaption: 'caption',
    createDataset: 'train',
    deleteDataset: 'train',
    startTraining: 'train',
    cancelTraining: 'train',
    resumeTraining: 'train',
    deleteTrainingRun: 'train',
    renameModel: 'train',
    deleteModel: 'train',
    evaluateModel: 'train',
    cancelEvaluation: 'train',
    setModelAlias: 'train',
    deleteModelAlias: 'train',
    createApiKey: 'admin',
    revokeApiKey: 'admin',
    setApiKeyBudget: 'admin',
    captionDataset: 'caption',
    cancelBulkCaption: 'caption',
    pauseQueue: 'admin',
    resumeQueue: 'admin',
  },
  subscription: {
    captionStream: 'read',
    evaluationProgress: 'read',
    trainingProgress: 'read',
    bulkCaptionProgress: 'read',
  },
};

/** The scope `field` of the `type` root needs; `admin` for a field the table does not know. */
export function requiredScope(type: RootType, field: string): Scope {
  return Object.hasOwn(FIELD_SCOPES[type], field) ? FIELD_SCOPES[type][field]! : 'admin';
}
