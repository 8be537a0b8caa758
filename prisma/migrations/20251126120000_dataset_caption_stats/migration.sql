-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN "maxCaptionTokens" INTEGER,
ADD COLUMN "vocabularyWords" INTEGER;
