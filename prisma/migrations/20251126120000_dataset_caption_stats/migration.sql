-- AlterTable
ALTER TABLE "Dataset" ADD COLUMN "imageSide" INTEGER,
ADD COLUMN "maxCaptionTokens" INTEGER,
ADD COLUMN "vocabularyWords" INTEGER;

-- AlterTable
ALTER TABLE "EpochSummary" ADD COLUMN "exactRate" DOUBLE PRECISION,
ADD COLUMN "objectF1" DOUBLE PRECISION;
