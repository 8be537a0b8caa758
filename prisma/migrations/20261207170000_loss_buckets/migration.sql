-- The loss curve pre-aggregated (issue 19: lossCurve on a 300,000-step run). Level L (2–20) holds one
-- bucket per 2^L consecutive steps (bucket = step >> L) with the count, sum and last loss, and its
-- lowest and highest point (step, loss, epoch, batch, examples/s), so lossCurve reads about maxPoints
-- buckets and nothing else whatever the run's length, and keeps every spike
-- (src/resolvers/training/loss-curve.ts).

-- CreateTable
CREATE TABLE "LossBucket" (
    "runId" TEXT NOT NULL,
    "level" INTEGER NOT NULL,
    "bucket" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,
    "firstStep" INTEGER NOT NULL,
    "lastStep" INTEGER NOT NULL,
    "sumLoss" DOUBLE PRECISION NOT NULL,
    "lastLoss" DOUBLE PRECISION NOT NULL,
    "minLoss" DOUBLE PRECISION NOT NULL,
    "minStep" INTEGER NOT NULL,
    "minEpoch" INTEGER NOT NULL,
    "minBatch" INTEGER NOT NULL,
    "minExamplesPerSec" DOUBLE PRECISION NOT NULL,
    "maxLoss" DOUBLE PRECISION NOT NULL,
    "maxStep" INTEGER NOT NULL,
    "maxEpoch" INTEGER NOT NULL,
    "maxBatch" INTEGER NOT NULL,
    "maxExamplesPerSec" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "LossBucket_pkey" PRIMARY KEY ("runId","level","bucket")
);

-- AddForeignKey
ALTER TABLE "LossBucket" ADD CONSTRAINT "LossBucket_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Recomputes the buckets of run `run_id` that cover steps lo..hi, level 2 from its LossPoints, each
-- higher level from the two buckets below it: each step is read once, each bucket once per level above.
-- Runs of one run are serialized (advisory lock) so two writers never aggregate each other's half.
CREATE FUNCTION "loss_buckets_refresh"(run_id TEXT, lo INTEGER, hi INTEGER) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  lvl INTEGER;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('LossBucket:' || run_id));
  INSERT INTO "LossBucket" AS b ("runId", "level", "bucket", "count", "firstStep", "lastStep", "sumLoss", "lastLoss",
                                 "minLoss", "minStep", "minEpoch", "minBatch", "minExamplesPerSec",
                                 "maxLoss", "maxStep", "maxEpoch", "maxBatch", "maxExamplesPerSec")
  SELECT run_id, 2, p."step" >> 2, count(*)::int, min(p."step"), max(p."step"), sum(p."loss"),
         (array_agg(p."loss" ORDER BY p."step" DESC))[1],
         min(p."loss"), (array_agg(p."step" ORDER BY p."loss", p."step"))[1],
         (array_agg(p."epoch" ORDER BY p."loss", p."step"))[1], (array_agg(p."batch" ORDER BY p."loss", p."step"))[1],
         (array_agg(p."examplesPerSec" ORDER BY p."loss", p."step"))[1],
         max(p."loss"), (array_agg(p."step" ORDER BY p."loss" DESC, p."step"))[1],
         (array_agg(p."epoch" ORDER BY p."loss" DESC, p."step"))[1], (array_agg(p."batch" ORDER BY p."loss" DESC, p."step"))[1],
         (array_agg(p."examplesPerSec" ORDER BY p."loss" DESC, p."step"))[1]
  FROM "LossPoint" p
  WHERE p."runId" = run_id AND p."step" BETWEEN (lo >> 2) << 2 AND ((hi >> 2) << 2) + 3
  GROUP BY p."step" >> 2
  ON CONFLICT ("runId", "level", "bucket") DO UPDATE SET
    "count" = EXCLUDED."count", "firstStep" = EXCLUDED."firstStep", "lastStep" = EXCLUDED."lastStep",
    "sumLoss" = EXCLUDED."sumLoss", "lastLoss" = EXCLUDED."lastLoss", "minLoss" = EXCLUDED."minLoss",
    "minStep" = EXCLUDED."minStep", "minEpoch" = EXCLUDED."minEpoch", "minBatch" = EXCLUDED."minBatch",
    "minExamplesPerSec" = EXCLUDED."minExamplesPerSec", "maxLoss" = EXCLUDED."maxLoss", "maxStep" = EXCLUDED."maxStep",
    "maxEpoch" = EXCLUDED."maxEpoch", "maxBatch" = EXCLUDED."maxBatch", "maxExamplesPerSec" = EXCLUDED."maxExamplesPerSec";
  FOR lvl IN 3..20 LOOP
    INSERT INTO "LossBucket" AS b ("runId", "level", "bucket", "count", "firstStep", "lastStep", "sumLoss", "lastLoss",
                                   "minLoss", "minStep", "minEpoch", "minBatch", "minExamplesPerSec",
                                   "maxLoss", "maxStep", "maxEpoch", "maxBatch", "maxExamplesPerSec")
    SELECT run_id, lvl, c."bucket" >> 1, sum(c."count")::int, min(c."firstStep"), max(c."lastStep"), sum(c."sumLoss"),
           (array_agg(c."lastLoss" ORDER BY c."lastStep" DESC))[1],
           min(c."minLoss"), (array_agg(c."minStep" ORDER BY c."minLoss", c."minStep"))[1],
           (array_agg(c."minEpoch" ORDER BY c."minLoss", c."minStep"))[1], (array_agg(c."minBatch" ORDER BY c."minLoss", c."minStep"))[1],
           (array_agg(c."minExamplesPerSec" ORDER BY c."minLoss", c."minStep"))[1],
           max(c."maxLoss"), (array_agg(c."maxStep" ORDER BY c."maxLoss" DESC, c."maxStep"))[1],
           (array_agg(c."maxEpoch" ORDER BY c."maxLoss" DESC, c."maxStep"))[1], (array_agg(c."maxBatch" ORDER BY c."maxLoss" DESC, c."maxStep"))[1],
           (array_agg(c."maxExamplesPerSec" ORDER BY c."maxLoss" DESC, c."maxStep"))[1]
    FROM "LossBucket" c
    WHERE c."runId" = run_id AND c."level" = lvl - 1
      AND c."bucket" BETWEEN (lo >> lvl) << 1 AND ((hi >> lvl) << 1) + 1
    GROUP BY c."bucket" >> 1
    ON CONFLICT ("runId", "level", "bucket") DO UPDATE SET
      "count" = EXCLUDED."count", "firstStep" = EXCLUDED."firstStep", "lastStep" = EXCLUDED."lastStep",
      "sumLoss" = EXCLUDED."sumLoss", "lastLoss" = EXCLUDED."lastLoss", "minLoss" = EXCLUDED."minLoss",
      "minStep" = EXCLUDED."minStep", "minEpoch" = EXCLUDED."minEpoch", "minBatch" = EXCLUDED."minBatch",
      "minExamplesPerSec" = EXCLUDED."minExamplesPerSec", "maxLoss" = EXCLUDED."maxLoss", "maxStep" = EXCLUDED."maxStep",
      "maxEpoch" = EXCLUDED."maxEpoch", "maxBatch" = EXCLUDED."maxBatch", "maxExamplesPerSec" = EXCLUDED."maxExamplesPerSec";
  END LOOP;
END $$;

-- Once per INSERT statement, over the rows it inserted (a resumed run's ON CONFLICT DO NOTHING
-- rewrites insert none). A few rows (a worker's batch): merged into their bucket of every level in
-- one statement. Many (a bulk insert): each run's range recomputed level by level, which reads each
-- point once instead of once per level.
CREATE FUNCTION "loss_buckets_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM inserted) > 64 THEN
    PERFORM "loss_buckets_refresh"(i."runId", min(i."step"), max(i."step")) FROM inserted i GROUP BY i."runId";
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('LossBucket:' || r."runId")) FROM (SELECT DISTINCT "runId" FROM inserted ORDER BY 1) AS r;
  INSERT INTO "LossBucket" AS b ("runId", "level", "bucket", "count", "firstStep", "lastStep", "sumLoss", "lastLoss",
                                 "minLoss", "minStep", "minEpoch", "minBatch", "minExamplesPerSec",
                                 "maxLoss", "maxStep", "maxEpoch", "maxBatch", "maxExamplesPerSec")
  SELECT p."runId", l.level, p."step" >> l.level, count(*)::int, min(p."step"), max(p."step"), sum(p."loss"),
         (array_agg(p."loss" ORDER BY p."step" DESC))[1],
         min(p."loss"), (array_agg(p."step" ORDER BY p."loss", p."step"))[1],
         (array_agg(p."epoch" ORDER BY p."loss", p."step"))[1], (array_agg(p."batch" ORDER BY p."loss", p."step"))[1],
         (array_agg(p."examplesPerSec" ORDER BY p."loss", p."step"))[1],
         max(p."loss"), (array_agg(p."step" ORDER BY p."loss" DESC, p."step"))[1],
         (array_agg(p."epoch" ORDER BY p."loss" DESC, p."step"))[1], (array_agg(p."batch" ORDER BY p."loss" DESC, p."step"))[1],
         (array_agg(p."examplesPerSec" ORDER BY p."loss" DESC, p."step"))[1]
  FROM inserted p CROSS JOIN generate_series(2, 20) AS l(level)
  GROUP BY p."runId", l.level, p."step" >> l.level
  ON CONFLICT ("runId", "level", "bucket") DO UPDATE SET
    "count" = b."count" + EXCLUDED."count",
    "firstStep" = LEAST(b."firstStep", EXCLUDED."firstStep"),
    "lastStep" = GREATEST(b."lastStep", EXCLUDED."lastStep"),
    "sumLoss" = b."sumLoss" + EXCLUDED."sumLoss",
    "lastLoss" = CASE WHEN EXCLUDED."lastStep" > b."lastStep" THEN EXCLUDED."lastLoss" ELSE b."lastLoss" END,
    -- the new rows' lowest point wins when lower, or as low at an earlier step (as in the refresh)
    ("minLoss", "minStep", "minEpoch", "minBatch", "minExamplesPerSec") =
      (SELECT CASE WHEN w THEN EXCLUDED."minLoss" ELSE b."minLoss" END, CASE WHEN w THEN EXCLUDED."minStep" ELSE b."minStep" END,
              CASE WHEN w THEN EXCLUDED."minEpoch" ELSE b."minEpoch" END, CASE WHEN w THEN EXCLUDED."minBatch" ELSE b."minBatch" END,
              CASE WHEN w THEN EXCLUDED."minExamplesPerSec" ELSE b."minExamplesPerSec" END
       FROM (SELECT (EXCLUDED."minLoss", EXCLUDED."minStep") < (b."minLoss", b."minStep") AS w) AS lower),
    ("maxLoss", "maxStep", "maxEpoch", "maxBatch", "maxExamplesPerSec") =
      (SELECT CASE WHEN w THEN EXCLUDED."maxLoss" ELSE b."maxLoss" END, CASE WHEN w THEN EXCLUDED."maxStep" ELSE b."maxStep" END,
              CASE WHEN w THEN EXCLUDED."maxEpoch" ELSE b."maxEpoch" END, CASE WHEN w THEN EXCLUDED."maxBatch" ELSE b."maxBatch" END,
              CASE WHEN w THEN EXCLUDED."maxExamplesPerSec" ELSE b."maxExamplesPerSec" END
       FROM (SELECT EXCLUDED."maxLoss" > b."maxLoss" OR (EXCLUDED."maxLoss" = b."maxLoss" AND EXCLUDED."maxStep" < b."maxStep") AS w) AS higher);
  RETURN NULL;
END $$;

CREATE TRIGGER "LossPoint_buckets" AFTER INSERT ON "LossPoint"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "loss_buckets_after_insert"();

-- the runs stored before this migration
SELECT "loss_buckets_refresh"("runId", min("step"), max("step")) FROM "LossPoint" GROUP BY "runId";
