-- Artifact store (src/storage): content-addressed blobs in chunks; checkpoints, models and
-- synthetic datasets reference them. Rows from before keep their folder paths (now optional).

-- CreateTable
CREATE TABLE "Blob" (
    "id" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Blob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BlobChunk" (
    "blobId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,

    CONSTRAINT "BlobChunk_pkey" PRIMARY KEY ("blobId","index")
);

-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN "blobId" TEXT;

-- AlterTable
ALTER TABLE "Checkpoint" ADD COLUMN "blobId" TEXT,
ALTER COLUMN "path" DROP NOT NULL;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN "blobId" TEXT,
ALTER COLUMN "path" DROP NOT NULL;

-- AlterTable
ALTER TABLE "Worker" ADD COLUMN "roles" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "Checkpoint_blobId_idx" ON "Checkpoint"("blobId");

-- AddForeignKey
ALTER TABLE "Dataset" ADD CONSTRAINT "Dataset_blobId_fkey" FOREIGN KEY ("blobId") REFERENCES "Blob"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_blobId_fkey" FOREIGN KEY ("blobId") REFERENCES "Blob"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_blobId_fkey" FOREIGN KEY ("blobId") REFERENCES "Blob"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BlobChunk" ADD CONSTRAINT "BlobChunk_blobId_fkey" FOREIGN KEY ("blobId") REFERENCES "Blob"("id") ON DELETE CASCADE ON UPDATE CASCADE;
