-- AlterTable: a model's pretrained backbone files (model.json + shards) as a blob in the artifact store, shared
-- by the models on that backbone, so the API can serve them to browsers (src/storage/model-web.ts)
ALTER TABLE "Model" ADD COLUMN     "backboneBlobId" TEXT;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_backboneBlobId_fkey" FOREIGN KEY ("backboneBlobId") REFERENCES "Blob"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
