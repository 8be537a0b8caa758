-- AlterTable
ALTER TABLE "TrainingRun" ADD COLUMN "leaseSeconds" INTEGER;
