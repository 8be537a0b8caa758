// `glimpse keys create --name ci --scopes read,caption [--mutations-per-minute N]`, `glimpse keys list`,
// `glimpse keys revoke <name>`, `glimpse keys budget <name> <N|default>`: the service's managed API keys (DATABASE_URL; src/keys). The secret is printed once, alone on stdout (so
// `$(glimpse keys create …)` captures it), and never stored: only its sha256. Revoking reaches every API
// process within seconds (NOTIFY; GLIMPSE_API_KEY_CACHE_SECONDS at most), no restart needed; so does a budget.
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createPrisma, type PrismaClient } from '../../db/client.ts';
import { parseScopes, SCOPE_DOCS, SCOPES } from '../../keys/scopes.ts';
import {
  type ApiKeyInfo,
  checkKeyBudget,
  createKey,
  listKeys,
  MAX_KEY_MUTATIONS_PER_MINUTE,
  revokeKey,
  setKeyBudget,
} from '../../keys/store.ts';
import { CliError } from '../cli-errors.ts';
import { formatTable } from '../table.ts';

async function withDatabase<T>(fn: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const url = loadConfig().databaseUrl;
  if (url === undefined) {
    throw new CliError(
      'NO_DATABASE',
      'set DATABASE_URL to the service database (as `npm start` or `npm run api` use it) to manage its API keys',
    );
  }
  const prisma = createPrisma(url, { max: 1 });
  try {
    return await fn(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

const when = (date: Date | null) => (date ? date.toISOString().slice(0, 16).replace('T', ' ') : '-');

function who(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** `default` → null; a whole number 0..1,000,000 → itself; KeyError INVALID_BUDGET otherwise */
function parseBudget(text: string): number | null {
  const word = text.trim().toLowerCase();
  if (word === 'default') return null;
  return checkKeyBudget(/^\d{1,7}$/.test(word) ? Number(word) : Number.NaN);
}

const budgetText = (perMinute: number | null) => (perMinute === null ? 'default' : perMinute === 0 ? 'unlimited' : `${perMinute}/min`);

async function create(opts: { name: string; scopes: string; mutationsPerMinute?: string }): Promise<void> {
  const scopes = parseScopes(opts.scopes);
  const mutationsPerMinute = opts.mutationsPerMinute === undefined ? null : parseBudget(opts.mutationsPerMinute);
  await withDatabase(async (prisma) => {
    const { key, secret } = await createKey(prisma, { name: opts.name, scopes, createdBy: who(), mutationsPerMinute });
    process.stderr.write(
      `created API key "${key.name}" (${key.scopes.join(', ')}; mutations: ${budgetText(key.mutationsPerMinute)}), shown in lists as ${key.prefix}…\n` +
        'its secret follows, shown this once (only its sha256 is stored): send it as "Authorization: Bearer <secret>"\n',
    );
    console.log(secret);
  });
}

async function list(opts: { json?: boolean }): Promise<void> {
  const keys: ApiKeyInfo[] = await withDatabase(listKeys);
  if (opts.json) {
    console.log(JSON.stringify(keys, null, 2));
    return;
  }
  if (keys.length === 0) {
    console.log('no API keys: create one with `glimpse keys create --name NAME --scopes read,caption`');
    return;
  }
  console.log(
    formatTable(
      ['name', 'prefix', 'scopes', 'mutations', 'created', 'created by', 'last used', 'revoked'],
      keys.map((k) => [
        k.name,
        k.prefix,
        k.scopes.join(','),
        budgetText(k.mutationsPerMinute),
        when(k.createdAt),
        k.createdBy,
        when(k.lastUsedAt),
        when(k.revokedAt),
      ]),
    ),
  );
}

async function revoke(name: string): Promise<void> {
  const key = await withDatabase((prisma) => revokeKey(prisma, name));
  console.log(`revoked API key "${key.name}" (${key.prefix}…) at ${key.revokedAt?.toISOString()}: API processes refuse it within seconds`);
}

async function budget(name: string, perMinute: string): Promise<void> {
  const mutationsPerMinute = parseBudget(perMinute);
  const key = await withDatabase((prisma) => setKeyBudget(prisma, name, mutationsPerMinute));
  console.log(`API key "${key.name}": mutations ${budgetText(key.mutationsPerMinute)}; API processes apply it within seconds`);
}

export function keysCommand(): Command {
  const keys = new Command('keys').description("the service's API keys (needs DATABASE_URL): create, list, revoke, budget");
  keys
    .command('create')
    .description('create a key and print its secret, once')
    .requiredOption('--name <name>', 'unique: 1 to 64 letters, digits, ".", "_" or "-"')
    .requiredOption(
      '--scopes <list>',
      `comma-separated, of ${SCOPES.join(', ')}: ${SCOPES.map((s) => `${s} = ${SCOPE_DOCS[s]}`).join('; ')}`,
    )
    .option(
      '--mutations-per-minute <n>',
      `its own mutation budget, 0 (unlimited) to ${MAX_KEY_MUTATIONS_PER_MINUTE}, or "default" (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY)`,
    )
    .action(create);
  keys
    .command('list')
    .description('every key, newest first: name, prefix, scopes, mutation budget, last use; never a secret')
    .option('--json', 'print JSON')
    .action(list);
  keys.command('revoke').description('revoke a key by name (it stays listed, as revoked)').argument('<name>').action(revoke);
  keys
    .command('budget')
    .description(
      `set a key's own mutations per minute: 0 (unlimited) to ${MAX_KEY_MUTATIONS_PER_MINUTE}, or "default" (GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY)`,
    )
    .argument('<name>')
    .argument('<perMinute>')
    .action(budget);
  return keys;
}
