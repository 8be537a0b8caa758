// The operations preloaded as tabs in the IDE (GraphiQL's TabDefinition shape: query, variables, headers).
// Ids in the variables are placeholders: the first tab lists the real ones.
import { bulkCaptionProgress, captionDataset, evaluateModel, evaluationProgress, queues } from './job-examples.ts';

export interface ExampleTab {
  query: string;
  /** JSON text for the variables editor */
  variables?: string;
  /** JSON text for the headers editor */
  headers?: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** Mutations need the key when GLIMPSE_API_KEYS is set; queries and subscriptions are open. */
const AUTH_HEADERS = json({ Authorization: 'Bearer YOUR_API_KEY' });

const overview = `# Glimpse GraphQL IDE (served by this API, works offline).
#
# Queries and mutations go over HTTP POST /graphql, subscriptions over graphql-ws
# on the same path (ws://…/graphql). Run an operation with Ctrl-Enter or ▶.
#
# API key: when the server sets GLIMPSE_API_KEYS, mutations need one. Open the
# "Headers" tab below and set
#   { "Authorization": "Bearer <your key>" }
# (the mutation tabs carry a placeholder to replace).
#
# The other tabs: startTraining (or fineTune from a model) → trainingProgress,
# setModelAlias (the registry), requestCaption → captionStream,
# evaluateModel → evaluationProgress, captionDataset → bulkCaptionProgress
# (results: bulkCaptionResults, or GET resultsUrl), queues and pauseQueue /
# resumeQueue (admin).
#
# Lists come a page at a time, newest first: pass a page's pageInfo.endCursor as
# \`after\` for the next one. Filters: nameContains (models, model names, datasets),
# name (a model name's versions), status (datasets, runs), datasetId (models, runs).
query Overview {
  serverInfo {
    version
    workers
    backend
    queueDepth
  }
  datasetsConnection(first: 5, status: READY) {
    totalCount
    edges {
      node {
        id
        name
        status
        imageCount
      }
    }
  }
  trainingRuns(first: 5) {
    edges {
      node {
        id
        status
        step
        totalSteps
      }
    }
  }
  modelsConnection(first: 5) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        name
        version
        aliases
        metrics
      }
    }
  }
  modelNamesConnection(first: 5) {
    edges {
      node {
        name
        versionCount
        aliases {
          alias
          version
        }
      }
    }
  }
}
`;

const startTraining = `# Queue a training run on a READY dataset (ids: see the Overview tab).
mutation StartTraining($input: StartTrainingInput!) {
  startTraining(input: $input) {
    id
    status
    totalSteps
    config {
      epochs
      batchSize
      units
      embeddingDim
    }
  }
}
`;

const fineTune = `# Warm start: a run on another dataset that starts from a model's weights
# (initFrom: a model id, see the Overview tab). Its architecture (units, embeddingDim,
# deepOutput, encoder) is the model's; the vocabulary keeps the model's words and
# appends the new set's. epochs left out: a step budget by the dataset's size;
# patience: stop once validation loss has not improved for that many epochs.
mutation FineTune($input: StartTrainingInput!) {
  startTraining(input: $input) {
    id
    status
    totalSteps
    parentModel {
      id
      name
    }
    config {
      epochs
      patience
      units
      initFrom
    }
  }
}
`;

const trainingProgress = `# Live training progress: stored history after sinceStep, then one event per
# batch (BATCH), per epoch (EPOCH, with validation loss and BLEU-4) and per
# status change (STATUS). Completes when the run ends.
subscription TrainingProgress($runId: ID!, $sinceStep: Int) {
  trainingProgress(runId: $runId, sinceStep: $sinceStep) {
    kind
    step
    epoch
    batch
    loss
    valLoss
    bleu4
    examplesPerSec
    status
    error
  }
}
`;

const setModelAlias = `# The model registry: models share a name (startTraining's modelName, or
# renameModel) with versions 1, 2, …; an alias such as "production" points at one
# version and is moved by setting it again. requestCaption(input: { model:
# "captioner@production" }) then uses whatever version it points at when the
# request is made, on every API process, with no restart. Every move is in
# modelAliasHistory(name) (who, when, from and to which version); the Overview tab
# lists the names with their aliases. A version an alias points at cannot be
# deleted (CONFLICT).
mutation SetModelAlias($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(name: $name, alias: $alias, version: $version) {
    name
    alias
    version
    modelId
  }
}
`;

const requestCaption = `# Caption an image: imageBase64 takes JPEG, PNG or WebP bytes in base64
# (a data: URL is fine). The model: \`model\` takes "name@alias", "name:version" or
# an id (or give \`modelId\`); model { name version } is the exact version that
# answers. Follow the request with the captionStream tab.
mutation RequestCaption($input: RequestCaptionInput!) {
  requestCaption(input: $input) {
    id
    status
    method
    modelId
    model {
      name
      version
    }
  }
}
`;

const captionStream = `# The caption word by word, each word with its attention weights over the
# gridSize × gridSize image grid; a final event carries done = true and the caption.
subscription CaptionStream($requestId: ID!) {
  captionStream(requestId: $requestId) {
    index
    token
    logProb
    gridSize
    attention
    done
    caption
  }
}
`;

export const EXAMPLE_TABS: readonly ExampleTab[] = [
  { query: overview },
  {
    query: startTraining,
    variables: json({ input: { datasetId: 'DATASET_ID', epochs: 2, batchSize: 16, units: 64, embeddingDim: 32 } }),
    headers: AUTH_HEADERS,
  },
  {
    query: fineTune,
    variables: json({ input: { datasetId: 'DATASET_ID', initFrom: 'MODEL_ID', patience: 2 } }),
    headers: AUTH_HEADERS,
  },
  { query: trainingProgress, variables: json({ runId: 'RUN_ID', sinceStep: 0 }) },
  {
    query: setModelAlias,
    variables: json({ name: 'captioner', alias: 'production', version: 1 }),
    headers: AUTH_HEADERS,
  },
  {
    query: requestCaption,
    variables: json({ input: { model: 'captioner@production', imageBase64: 'data:image/png;base64,…', method: 'BEAM', beamWidth: 3 } }),
    headers: AUTH_HEADERS,
  },
  { query: captionStream, variables: json({ requestId: 'CAPTION_REQUEST_ID' }) },
  {
    query: evaluateModel,
    variables: json({ input: { modelId: 'MODEL_ID', datasetId: 'DATASET_ID', split: 'VALIDATION', method: 'GREEDY' } }),
    headers: AUTH_HEADERS,
  },
  { query: evaluationProgress, variables: json({ id: 'EVALUATION_ID' }) },
  {
    query: captionDataset,
    variables: json({ input: { modelId: 'MODEL_ID', datasetId: 'DATASET_ID', method: 'GREEDY', priority: 'NORMAL' } }),
    headers: AUTH_HEADERS,
  },
  { query: bulkCaptionProgress, variables: json({ id: 'BULK_CAPTION_JOB_ID' }) },
  { query: queues },
];
