-- AlterTable: warm start (the model a run started from) and why a run stopped (every epoch, or early stopping)
ALTER TABLE "TrainingRun" ADD COLUMN     "parentModelId" TEXT,
ADD COLUMN     "stopReason" TEXT;

-- CreateIndex
CREATE INDEX "TrainingRun_parentModelId_idx" ON "TrainingRun"("parentModelId");

-- AddForeignKey
ALTER TABLE "TrainingRun" ADD CONSTRAINT "TrainingRun_parentModelId_fkey" FOREIGN KEY ("parentModelId") REFERENCES "Model"("id") ON DELETE SET NULL ON UPDATE CASCADE;
