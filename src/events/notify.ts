// Publishes a wake-up. Write the rows first, then notify in the same transaction: Postgres
// delivers the notification only when that transaction commits (and never if it rolls back).
import { channelOf, checkKey, type KeyedTopic, type UnkeyedTopic } from './topics.ts';

/** a Prisma client or interactive transaction (`tx`) */
export interface RawExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** a pg Client, PoolClient or Pool */
export interface PgQueryable {
  query(text: string, values: unknown[]): PromiseLike<unknown>;
}

export type Notifier = RawExecutor | PgQueryable;

export async function notify(db: Notifier, topic: KeyedTopic, key: string): Promise<void>;
export async function notify(db: Notifier, topic: UnkeyedTopic): Promise<void>;
export async function notify(db: Notifier, topic: KeyedTopic | UnkeyedTopic, key = ''): Promise<void> {
  const channel = channelOf(topic);
  const payload = checkKey(key);
  if ('$executeRaw' in db) {
    await db.$executeRaw`SELECT pg_notify(${channel}, ${payload})`;
  } else {
    await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }
}
