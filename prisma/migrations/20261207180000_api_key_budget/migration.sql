-- AlterTable: a key's own mutation budget per minute (null: GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY; 0: unlimited)
ALTER TABLE "ApiKey" ADD COLUMN     "mutationsPerMinute" INTEGER;
