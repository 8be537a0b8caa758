// `glimpse keys create --name ci --scopes read,caption`, `glimpse keys list`, `glimpse keys revoke <name>`:
// the service's managed API keys (DATABASE_URL; src/keys). The secret is printed once, alone on stdout (so
// `$(glimpse keys create …)` captures it), and never stored: only its sha256. Revoking reaches every API
// process within seconds (NOTIFY; GLIMPSE_API_KEY_CACHE_SECONDS at most), no restart needed.
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createPrisma, type PrismaClient } from '../../db/client.ts';
import { parseScopes, SCOPE_DOCS, SCOPES } from '../../keys/scopes.ts';
import { type ApiKeyInfo, createKey, listKeys, revokeKey } from '../../keys/store.ts';
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

async function create(opts: { name: string; scopes: string }): Promise<void> {
  const scopes = parseScopes(opts.scopes);
  await withDatabase(async (prisma) => {
    const { key, secret } = await createKey(prisma, { name: opts.name, scopes, createdBy: who() });
    process.stderr.write(
      `created API key "${key.name}" (${key.scopes.join(', ')}), shown in lists as ${key.prefix}…\n` +
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
      ['name', 'prefix', 'scopes', 'created', 'created by', 'last used', 'revoked'],
      keys.map((k) => [k.name, k.prefix, k.scopes.join(','), when(k.createdAt), k.createdBy, when(k.lastUsedAt), when(k.revokedAt)]),
    ),
  );
}

async function revoke(name: string): Promise<void> {
  const key = await withDatabase((prisma) => revokeKey(prisma, name));
  console.log(`revoked API key "${key.name}" (${key.prefix}…) at ${key.revokedAt?.toISOString()}: API processes refuse it within seconds`);
}

export function keysCommand(): Command {
  const keys = new Command('keys').description("the service's API keys (needs DATABASE_URL): create, list, revoke");
  keys
    .command('create')
    .description('create a key and print its secret, once')
    .requiredOption('--name <name>', 'unique: 1 to 64 letters, digits, ".", "_" or "-"')
    .requiredOption(
      '--scopes <list>',
      `comma-separated, of ${SCOPES.join(', ')}: ${SCOPES.map((s) => `${s} = ${SCOPE_DOCS[s]}`).join('; ')}`,
    )
    .action(create);
  keys
    .command('list')
    .description('every key, newest first: name, prefix, scopes, last use; never a secret')
    .option('--json', 'print JSON')
    .action(list);
  keys.command('revoke').description('revoke a key by name (it stays listed, as revoked)').argument('<name>').action(revoke);
  return keys;
}
