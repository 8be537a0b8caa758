-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "DatasetKind" AS ENUM ('SYNTHETIC', 'COCO');

-- CreateEnum
CREATE TYPE "DatasetStatus" AS ENUM ('PENDING', 'READY', 'FAILED');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "CaptionStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateEnum
CREATE TYPE "DecodeMethod" AS ENUM ('GREEDY', 'BEAM', 'SAMPLE');

-- CreateTable
CREATE TABLE "Dataset" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "DatasetKind" NOT NULL,
    "status" "DatasetStatus" NOT NULL DEFAULT 'PENDING',
    "annotationsPath" TEXT,
    "imagesDir" TEXT,
    "maxCaptions" INTEGER,
    "syntheticImages" INTEGER,
    "syntheticSeed" INTEGER,
    "imageCount" INTEGER NOT NULL DEFAULT 0,
    "captionCount" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingRun" (
    "id" TEXT NOT NULL,
    "datasetId" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "config" JSONB NOT NULL,
    "step" INTEGER NOT NULL DEFAULT 0,
    "totalSteps" INTEGER,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "workerId" TEXT,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "heartbeatAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrainingRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LossPoint" (
    "runId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "batch" INTEGER NOT NULL,
    "loss" DOUBLE PRECISION NOT NULL,
    "examplesPerSec" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LossPoint_pkey" PRIMARY KEY ("runId","step")
);

-- CreateTable
CREATE TABLE "EpochSummary" (
    "runId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "trainLoss" DOUBLE PRECISION,
    "valLoss" DOUBLE PRECISION,
    "bleu4" DOUBLE PRECISION,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EpochSummary_pkey" PRIMARY KEY ("runId","epoch")
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "runId" TEXT,
    "path" TEXT NOT NULL,
    "vocabSize" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "metrics" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CaptionRequest" (
    "id" TEXT NOT NULL,
    "modelId" TEXT NOT NULL,
    "imageHash" TEXT NOT NULL,
    "imageBytes" BYTEA,
    "imagePath" TEXT,
    "mimeType" TEXT,
    "method" "DecodeMethod" NOT NULL DEFAULT 'GREEDY',
    "beamWidth" INTEGER NOT NULL DEFAULT 3,
    "maxLength" INTEGER,
    "temperature" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "status" "CaptionStatus" NOT NULL DEFAULT 'QUEUED',
    "caption" TEXT,
    "gridSize" INTEGER,
    "error" TEXT,
    "workerId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "timings" JSONB,

    CONSTRAINT "CaptionRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CaptionToken" (
    "requestId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "token" TEXT NOT NULL,
    "attention" DOUBLE PRECISION[],
    "logProb" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "CaptionToken_pkey" PRIMARY KEY ("requestId","index")
);

-- CreateTable
CREATE TABLE "Worker" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "backend" TEXT NOT NULL,
    "threads" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Worker_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_name_key" ON "Dataset"("name");

-- CreateIndex
CREATE INDEX "TrainingRun_status_idx" ON "TrainingRun"("status");

-- CreateIndex
CREATE INDEX "TrainingRun_createdAt_idx" ON "TrainingRun"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Checkpoint_runId_step_key" ON "Checkpoint"("runId", "step");

-- CreateIndex
CREATE UNIQUE INDEX "Model_runId_key" ON "Model"("runId");

-- CreateIndex
CREATE INDEX "CaptionRequest_modelId_status_idx" ON "CaptionRequest"("modelId", "status");

-- AddForeignKey
ALTER TABLE "TrainingRun" ADD CONSTRAINT "TrainingRun_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LossPoint" ADD CONSTRAINT "LossPoint_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EpochSummary" ADD CONSTRAINT "EpochSummary_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_runId_fkey" FOREIGN KEY ("runId") REFERENCES "TrainingRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaptionRequest" ADD CONSTRAINT "CaptionRequest_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CaptionToken" ADD CONSTRAINT "CaptionToken_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "CaptionRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;
