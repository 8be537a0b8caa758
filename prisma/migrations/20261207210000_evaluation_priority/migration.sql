-- AlterTable: an evaluation's place in the evaluation queue (every job of it: first, handed back, reaped)
ALTER TABLE "Evaluation" ADD COLUMN     "priority" "JobPriority" NOT NULL DEFAULT 'NORMAL';
