// What counts as a waiting job per queue: jobs before `active` (created, retry) whose row still wants them
// (a QUEUED run, an unfinished caption request, a PENDING dataset, a QUEUED evaluation, a QUEUED or RUNNING bulk
// job between its slices). A resumed run's stale job and its new one count once. App tables are on the search_path.
export const QUEUE_SCHEMA = 'pgboss';

export const LIVE_DEPTH_SQL = `
  SELECT j.name, count(DISTINCT coalesce(j.data->>'runId', j.data->>'requestId', j.data->>'datasetId', j.data->>'evaluationId', j.data->>'jobId')) AS count,
    extract(epoch FROM now() - min(greatest(j.created_on, j.start_after))) AS oldest FROM ${QUEUE_SCHEMA}.job j
  WHERE j.state < 'active' AND (
    (j.name = 'training' AND EXISTS (SELECT 1 FROM "TrainingRun" r WHERE r.id = j.data->>'runId' AND r.status = 'QUEUED'))
    OR (j.name = 'caption' AND EXISTS (SELECT 1 FROM "CaptionRequest" c WHERE c.id = j.data->>'requestId' AND c.status IN ('QUEUED', 'RUNNING')))
    OR (j.name = 'dataset' AND EXISTS (SELECT 1 FROM "Dataset" d WHERE d.id = j.data->>'datasetId' AND d.status = 'PENDING'))
    OR (j.name = 'evaluation' AND EXISTS (SELECT 1 FROM "Evaluation" e WHERE e.id = j.data->>'evaluationId' AND e.status = 'QUEUED'))
    OR (j.name = 'bulk-caption' AND EXISTS (SELECT 1 FROM "BulkCaptionJob" b WHERE b.id = j.data->>'jobId' AND b.status IN ('QUEUED', 'RUNNING')))
  )
  GROUP BY j.name`;
