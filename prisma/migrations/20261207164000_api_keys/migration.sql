-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN     "createdByKey" TEXT;

-- AlterTable
ALTER TABLE "TrainingRun" ADD COLUMN     "createdByKey" TEXT;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "createdByKey" TEXT;

-- AlterTable
ALTER TABLE "CaptionRequest" ADD COLUMN     "createdByKey" TEXT;

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "scopes" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT NOT NULL,
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_name_key" ON "ApiKey"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_createdAt_id_idx" ON "ApiKey"("createdAt", "id");
