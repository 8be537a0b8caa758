// `glimpse models`: the service's models (DATABASE_URL), newest first, with their ids, names,
// folders (what `eval --model` and `caption --model` take) and quality numbers.

import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createPrisma } from '../../db/client.ts';
import { CliError } from '../cli-errors.ts';
import { formatTable } from '../table.ts';

interface ModelsCliOptions {
  json?: boolean;
}

const metric = (metrics: unknown, key: string): string => {
  const v = (metrics as Record<string, unknown> | null)?.[key];
  return typeof v === 'number' ? v.toFixed(4) : '-';
};

async function listModels(opts: ModelsCliOptions): Promise<void> {
  const url = loadConfig().databaseUrl;
  if (url === undefined) {
    throw new CliError(
      'NO_DATABASE',
      'set DATABASE_URL to the service database (as `npm start` or `npm run api` use it) to list its models',
    );
  }
  const prisma = createPrisma(url, { max: 1 });
  try {
    const rows = await prisma.model.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      include: { run: { select: { dataset: { select: { name: true } } } } },
    });
    if (opts.json) {
      const out = rows.map((m) => ({
        id: m.id,
        name: m.name,
        version: m.version,
        dataset: m.run?.dataset.name ?? null,
        path: m.path,
        vocabSize: m.vocabSize,
        metrics: m.metrics,
        createdAt: m.createdAt,
      }));
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    if (rows.length === 0) {
      console.log('no models yet: train one (startTraining, the dashboard, or `glimpse train`)');
      return;
    }
    console.log(
      formatTable(
        ['id', 'name', 'version', 'dataset', 'created', 'BLEU-4', 'val loss', 'folder'],
        rows.map((m) => [
          m.id,
          m.name,
          String(m.version),
          m.run?.dataset.name ?? '-',
          m.createdAt.toISOString().slice(0, 16).replace('T', ' '),
          metric(m.metrics, 'bleu4'),
          metric(m.metrics, 'valLoss'),
          m.path ?? '(artifact store only)',
        ]),
      ),
    );
  } finally {
    await prisma.$disconnect();
  }
}

export function modelsCommand(): Command {
  return new Command('models')
    .description("the service's models (needs DATABASE_URL): ids, names and folders for `eval --model DIR` / `caption --model DIR`")
    .option('--json', 'print JSON instead of a table')
    .action(listModels);
}
