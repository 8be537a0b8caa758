-- Evaluations: a model scored on a split of a dataset by an `evaluation` job (issue 22)
-- CreateEnum
CREATE TYPE "EvaluationSplit" AS ENUM ('VALIDATION', 'TRAIN', 'ALL');

-- CreateTable
CREATE TABLE "Evaluation" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "split" "EvaluationSplit" NOT NULL,
    "method" "DecodeMethod" NOT NULL DEFAULT 'GREEDY',
    "beamWidth" INTEGER NOT NULL DEFAULT 3,
    "maxImages" INTEGER,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "done" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER,
    "splitSeed" INTEGER,
    "splitValFraction" DOUBLE PRECISION,
    "splitDigest" TEXT,
    "bleu1" DOUBLE PRECISION,
    "bleu2" DOUBLE PRECISION,
    "bleu3" DOUBLE PRECISION,
    "bleu4" DOUBLE PRECISION,
    "ciderD" DOUBLE PRECISION,
    "objectF1" DOUBLE PRECISION,
    "exactRate" DOUBLE PRECISION,
    "examples" JSONB,
    "timings" JSONB,
    "error" TEXT,
    "workerId" TEXT,
    "heartbeatAt" TIMESTAMP(3),
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "createdByKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Evaluation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Evaluation_createdAt_id_idx" ON "Evaluation"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Evaluation_modelId_createdAt_idx" ON "Evaluation"("modelId", "createdAt");

-- CreateIndex
CREATE INDEX "Evaluation_datasetId_createdAt_idx" ON "Evaluation"("datasetId", "createdAt");

-- CreateIndex
CREATE INDEX "Evaluation_status_idx" ON "Evaluation"("status");

-- AddForeignKey
ALTER TABLE "Evaluation" ADD CONSTRAINT "Evaluation_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Evaluation" ADD CONSTRAINT "Evaluation_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;
