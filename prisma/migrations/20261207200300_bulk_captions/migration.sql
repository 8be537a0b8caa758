-- CreateEnum
CREATE TYPE "JobPriority" AS ENUM ('LOW', 'NORMAL', 'HIGH');

-- CreateEnum
CREATE TYPE "BulkCaptionStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- AlterTable
ALTER TABLE "TrainingRun" ADD COLUMN "priority" "JobPriority" NOT NULL DEFAULT 'NORMAL';

-- CreateTable
CREATE TABLE "BulkCaptionJob" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "status" "BulkCaptionStatus" NOT NULL DEFAULT 'QUEUED',
    "method" "DecodeMethod" NOT NULL DEFAULT 'GREEDY',
    "beamWidth" INTEGER NOT NULL DEFAULT 3,
    "maxLength" INTEGER,
    "priority" "JobPriority" NOT NULL DEFAULT 'NORMAL',
    "total" INTEGER NOT NULL DEFAULT 0,
    "done" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "workerId" TEXT,
    "createdByKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BulkCaptionJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BulkCaptionResult" (
    "jobId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "imageId" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "caption" TEXT,
    "logProb" DOUBLE PRECISION,
    "error" TEXT,

    CONSTRAINT "BulkCaptionResult_pkey" PRIMARY KEY ("jobId","index")
);

-- CreateTable
CREATE TABLE "QueueState" (
    "name" TEXT NOT NULL,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "changedBy" TEXT,
    "changedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "QueueState_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "BulkCaptionJob_createdAt_id_idx" ON "BulkCaptionJob"("createdAt", "id");

-- AddForeignKey
ALTER TABLE "BulkCaptionJob" ADD CONSTRAINT "BulkCaptionJob_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BulkCaptionJob" ADD CONSTRAINT "BulkCaptionJob_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BulkCaptionResult" ADD CONSTRAINT "BulkCaptionResult_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "BulkCaptionJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;
