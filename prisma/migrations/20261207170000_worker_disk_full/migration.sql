-- AlterTable
ALTER TABLE "Worker" ADD COLUMN "diskFull" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "freeDiskBytes" BIGINT;
