-- CreateIndex
CREATE INDEX "Dataset_createdAt_id_idx" ON "Dataset"("createdAt", "id");

-- CreateIndex
CREATE INDEX "TrainingRun_datasetId_idx" ON "TrainingRun"("datasetId");

-- CreateIndex
CREATE INDEX "Model_createdAt_id_idx" ON "Model"("createdAt", "id");
