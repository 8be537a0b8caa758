// Thousands of datasets, runs and models at once, for the list tests (issue 19: 5,000 of each).
import type { PrismaClient } from '../../src/db/client.ts';

/**
 * Inserts `rows` datasets "set-00001"…, runs and models "model-00001"… in three statements. Row i is
 * the i-th newest of its table: four rows share each createdAt and the ids (ordered opposite to i)
 * decide among them, so cursors must break ties and the order is still known. Model i comes from run i
 * (its step), trained on dataset i % trainedOn + 1 (vocabularyWords: that number); every tenth dataset
 * is PENDING, the others READY.
 */
export async function insertManyRows(prisma: PrismaClient, rows: number, trainedOn: number): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO "Dataset" (id, name, kind, status, "imageCount", "captionCount", "vocabularyWords", "createdAt", "updatedAt")
    SELECT '00000000-0000-4000-8000-' || lpad((100000 - i)::text, 12, '0'), 'set-' || lpad(i::text, 5, '0'), 'SYNTHETIC',
           (CASE WHEN i % 10 = 0 THEN 'PENDING' ELSE 'READY' END)::"DatasetStatus", 8, 40, i, now() - (i / 4) * interval '1 second', now()
    FROM generate_series(1, ${rows}::int) AS i`;
  await prisma.$executeRaw`
    INSERT INTO "TrainingRun" (id, "datasetId", status, config, step, "createdAt", "updatedAt")
    SELECT '00000000-0000-4000-9000-' || lpad((100000 - i)::text, 12, '0'), d.id, 'SUCCEEDED', '{}', i, now() - (i / 4) * interval '1 second', now()
    FROM generate_series(1, ${rows}::int) AS i JOIN "Dataset" d ON d.name = 'set-' || lpad((i % ${trainedOn}::int + 1)::text, 5, '0')`;
  await prisma.$executeRaw`
    INSERT INTO "Model" (id, name, "runId", "vocabSize", config, "createdAt")
    SELECT '00000000-0000-4000-a000-' || lpad((100000 - step)::text, 12, '0'), 'model-' || lpad(step::text, 5, '0'), id, 30, '{}', "createdAt"
    FROM "TrainingRun"`;
  await prisma.$executeRawUnsafe('ANALYZE');
}
